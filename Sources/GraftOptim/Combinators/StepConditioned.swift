/// One member for the first k steps of a group, another after: LP-FT (Kumar et al., ICLR 2022,
/// "Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution") as one
/// optimizer, or any transform active only for a window of steps.
///
/// At group step t:
///
///     t ≤ k:  u ← first(u)    with first's step count t
///     t > k:  u ← then(u)     with then's step count t − k
///
/// Each member keeps its own state; the inactive one's is not touched, and `then` starts
/// counting at its first active step, so Adam's bias correction and any schedule inside it
/// begin afresh at the switch (optax's `conditionally_transform` likewise advances an inner
/// state only when it runs). `Identity()` as either member gives "only for the first k steps"
/// or "only after step k".
/// ```swift
/// import GraftOptim
///
/// // LP-FT in one group: the head alone for 100 steps (the rest holds still), then everything.
/// let head = ParameterSelector.prefix("head.")
/// let lpft = try StepConditioned(switchingAfter: 100, first: chain {
///     try Masked(head, chain { try ScaleByAdam(); try ScaleByLearningRate(1e-3) })
///     try Masked(!head, Scale(0))
/// }, then: chain {
///     try ScaleByAdam()
///     try ScaleByLearningRate(1e-5)
/// })
/// ```
/// State: a member of kind `step_conditioned` (no tensors; k in its configuration), then
/// `first`'s members, then `then`'s (named members prefixed `first.` and `then.`). Fusable when both members are (the branch is chosen once
/// per step; a reduction pass of the inactive member ends at once).
public struct StepConditioned<First: GradientTransform, Then: GradientTransform>: GradientTransform {
    /// k: `first` runs for steps 1 … k, `then` afterwards.
    public let switchStep: Int
    /// The member of the first k steps.
    public let first: First
    /// The member of the steps after k.
    public let then: Then
    @usableFromInline var fusedRunner: (@Sendable (StepConditioned<First, Then>) -> KernelRunner)?

    /// `first` for steps 1 … `k`, `then` afterwards.
    /// - Throws: `invalidHyperparameter` unless k ≥ 1.
    public init(switchingAfter k: Int, first: First, then: Then) throws {
        try Check.positiveInt("switch_after", k)
        switchStep = k
        self.first = first
        self.then = then
        fusedRunner = nil
    }

    /// `first` for steps 1 … `k`, `then` afterwards, fused into one kernel.
    @inlinable public init(switchingAfter k: Int, first: First, then: Then) throws
    where First: FusableTransform, Then: FusableTransform {
        guard k >= 1 else { throw OptimizerError.invalidHyperparameter(key: "switch_after", value: "\(k)", allowed: "an integer ≥ 1") }
        switchStep = k
        self.first = first
        self.then = then
        fusedRunner = { $0.fusedKernelRunner() }
    }

    public var kind: String { "step_conditioned" }
    public var configuration: [String: String] { ["switch_after": "\(switchStep)"] }
    /// The switch itself, then `first`'s members, then `then`'s; named members get the prefix
    /// `first.` or `then.` (`state(of: "then.adam", for:)`), so two recipes with the same member
    /// names (two Adams) can be the two phases.
    public var members: [TransformMember] {
        func prefixed(_ list: [TransformMember], _ prefix: String) -> [TransformMember] {
            list.map { m in
                var m = m
                if let name = m.name { m.name = "\(prefix).\(name)" }
                return m
            }
        }
        return [TransformMember(leaf: self)] + prefixed(first.members, "first") + prefixed(then.members, "then")
    }
    @inlinable public var memberCount: Int { 1 + first.memberCount + then.memberCount }
    public var usesAnchors: Bool { first.usesAnchors || then.usesAnchors }
    public var usesProvidedGradient: Bool { first.usesProvidedGradient || then.usesProvidedGradient }

    /// Whether `first` is the active member at step t.
    @inlinable public func firstIsActive(at t: Int) -> Bool { t <= switchStep }

    public func update(_ group: GroupStep, state: GroupState) {
        let t = group.info.step
        if firstIsActive(at: t) {
            first.update(group, state: state.advanced(by: 1))
        } else {
            then.update(group.with(group.info.counting(t - switchStep)), state: state.advanced(by: 1 + first.memberCount))
        }
    }

    public func makeKernelRunner() -> KernelRunner? { fusedRunner?(self) }
}

extension StepConditioned: FusableTransform where First: FusableTransform, Then: FusableTransform {
    @inlinable public var reductionPasses: Int { first.reductionPasses + then.reductionPasses }

    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool {
        let a = first.reductionPasses
        return pass < a ? first.reductionApplies(pass, to: parameter) : then.reductionApplies(pass - a, to: parameter)
    }

    @inlinable public func scratchSize(segments: Int) -> Int {
        first.scratchSize(segments: segments) + then.scratchSize(segments: segments)
    }

    @inlinable public func prepareKernel(_ step: StepInfo) -> EitherPrepared<First.KernelPrepared, Then.KernelPrepared> {
        firstIsActive(at: step.step) ? .first(first.prepareKernel(step))
                                     : .second(then.prepareKernel(step.counting(step.step - switchStep)))
    }

    @inlinable public func bindKernel(_ prepared: EitherPrepared<First.KernelPrepared, Then.KernelPrepared>, _ tensor: KernelTensor,
                                      _ state: GroupState, pass: Int, commit: Bool) -> SwitchLanes<First.KernelLanes, Then.KernelLanes> {
        let a = first.reductionPasses, b = then.reductionPasses
        guard pass >= 0 else { return SwitchLanes(first: nil, then: nil, idle: false) }
        switch prepared {
        case let .first(p):
            if pass >= a && pass < a + b { return SwitchLanes(first: nil, then: nil, idle: true) }
            return SwitchLanes(first: first.bindKernel(p, tensor, state.advanced(by: 1), pass: Swift.min(pass, a), commit: commit),
                               then: nil, idle: false)
        case let .second(p):
            if pass < a { return SwitchLanes(first: nil, then: nil, idle: true) }
            let later = tensor.scratchAdvanced(by: first.scratchSize(segments: tensor.segments))
            return SwitchLanes(first: nil, then: then.bindKernel(p, later, state.advanced(by: 1 + first.memberCount), pass: pass - a,
                                                                 commit: commit), idle: false)
        }
    }

    @inlinable public func finishReduction(_ pass: Int, _ prepared: EitherPrepared<First.KernelPrepared, Then.KernelPrepared>,
                                           _ tensor: KernelTensor, _ state: GroupState) {
        let a = first.reductionPasses
        switch prepared {
        case let .first(p):
            if pass < a { first.finishReduction(pass, p, tensor, state.advanced(by: 1)) }
        case let .second(p):
            if pass >= a {
                let later = tensor.scratchAdvanced(by: first.scratchSize(segments: tensor.segments))
                then.finishReduction(pass - a, p, later, state.advanced(by: 1 + first.memberCount))
            }
        }
    }
}

/// The lanes of a fused `StepConditioned`: the active member's, or nothing in a reduction pass
/// of the inactive one (`idle` ends that pass at once).
public struct SwitchLanes<A: LaneFunction, B: LaneFunction>: LaneFunction {
    @usableFromInline var first: A?
    @usableFromInline var then: B?
    @usableFromInline let idle: Bool

    @inlinable init(first: A?, then: B?, idle: Bool) {
        self.first = first
        self.then = then
        self.idle = idle
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        if idle { return false }
        if first != nil { return first!.apply(&u, theta: theta, at: i) }
        if then != nil { return then!.apply(&u, theta: theta, at: i) }
        return true
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        if idle { return false }
        if first != nil { return first!.apply(&u, theta: theta, at: i) }
        if then != nil { return then!.apply(&u, theta: theta, at: i) }
        return true
    }

    @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
        if first != nil { first!.beginSegment(segment, row: row, precise: precise) }
        if then != nil { then!.beginSegment(segment, row: row, precise: precise) }
    }

    @inlinable public mutating func endSegment(_ segment: Int) -> Bool {
        if first != nil { return first!.endSegment(segment) }
        if then != nil { return then!.endSegment(segment) }
        return true
    }
}
