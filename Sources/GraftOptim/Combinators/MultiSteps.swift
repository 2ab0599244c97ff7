import GraftTensor

/// Gradient accumulation as optax's `MultiSteps`: the wrapped transform runs once every k
/// calls, on the mean of the k mini-step updates it was given; the other calls emit a zero
/// update (θ does not move).
///
/// At group step t (1-based) with mini step n = (t − 1) mod k, the running mean is updated as
/// optax does (Welford's form):
///
///     a ← a + (u − a) / (n + 1)
///     n < k − 1:  u ← 0                       (accumulate only)
///     n = k − 1:  u ← inner(a), a ← 0         (apply, then start again)
///
/// The inner transform's state changes only on the k-th calls, and it sees the step count
/// t / k: schedules inside (the learning rate, β1, …) count **optimizer steps**, not mini
/// steps, as in optax (whose inner state only advances when MultiSteps emits). State: the
/// running mean `acc`, 4 B per parameter, plus the inner member's.
/// ```swift
/// import GraftOptim
///
/// // Adam on the mean of 4 mini-batches; the warm-up counts the 4-batch steps.
/// let accumulated = try MultiSteps(every: 4, chain {
///     try ScaleByAdam()
///     try ScaleByLearningRate(Schedule(.linearWarmup(peak: 1e-3, warmupSteps: 100)))
/// })
/// ```
/// Wrap the whole chain (as optax's `MultiSteps` wraps the whole optimizer): members after
/// `MultiSteps` in a chain would act on the zero updates of the accumulating calls. Members
/// that read the raw gradient `g` of the step (DiGraP's training hypergradient, FTP, SPD) see
/// the last mini-batch's gradient, not the mean. optax's `every_k_schedule` as a function of
/// the step is not offered (k is fixed), nor its `should_skip_update_fn`; a step skipped by
/// the optimizer (a non-finite gradient under `.skipStep`) does not count as a mini step. Under
/// `missingGradients: .skip` a tensor without a gradient keeps its running mean at that mini
/// step, and the later mini steps weigh that mean as if it held one more update: use the
/// default `.zero` with MultiSteps when some mini-batches miss parameters.
/// Fusable when `inner` is.
public struct MultiSteps<Inner: GradientTransform>: GradientTransform {
    /// k, the mini steps per applied update.
    public let k: Int
    /// The transform applied every k-th call, to the mean.
    public let inner: Inner
    @usableFromInline var fusedRunner: (@Sendable (MultiSteps<Inner>) -> KernelRunner)?

    /// Accumulates `k` mini steps and applies `inner` to their mean.
    /// - Throws: `invalidHyperparameter` unless k ≥ 1.
    public init(every k: Int, _ inner: Inner) throws {
        try Check.positiveInt("every_k", k)
        self.k = k
        self.inner = inner
        fusedRunner = nil
    }

    /// Accumulates `k` mini steps and applies `inner` to their mean, in one fused kernel.
    @inlinable public init(every k: Int, _ inner: Inner) throws where Inner: FusableTransform {
        guard k >= 1 else { throw OptimizerError.invalidHyperparameter(key: "every_k", value: "\(k)", allowed: "an integer ≥ 1") }
        self.k = k
        self.inner = inner
        fusedRunner = { $0.fusedKernelRunner() }
    }

    public var kind: String { "multi_steps" }
    public var configuration: [String: String] { ["every_k": "\(k)"] }
    public var members: [TransformMember] { [TransformMember(leaf: self)] + inner.members }
    @inlinable public var memberCount: Int { 1 + inner.memberCount }
    public var usesAnchors: Bool { inner.usesAnchors }
    public var usesProvidedGradient: Bool { inner.usesProvidedGradient }

    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["acc"], of: parameter) }

    /// The inspection value: `optimizer.state(of:for:as: AccumulatedUpdate.self)`.
    public typealias TensorState = AccumulatedUpdate

    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        AccumulatedUpdate(mean: state.copyTensor(0, shape: parameter.shape))
    }

    /// The mini step n of group step t, and whether the call applies the inner member.
    @inlinable public func miniStep(at t: Int) -> (n: Int, emits: Bool) {
        let n = (t - 1) % k
        return (n, n == k - 1)
    }

    public func update(_ group: GroupStep, state: GroupState) {
        let (n, emits) = miniStep(at: group.info.step)
        let count = Float(n + 1)
        group.forEachTensor { idx in
            let slot = group.slots[idx]
            guard let u = slot.update.baseAddress else { return }
            let acc = state.view(idx).tensor(0)
            slot.forChunks { r in
                for j in r {
                    let mean = acc[j] + (u[j] - acc[j]) / count
                    if emits { u[j] = mean; acc[j] = 0 } else { acc[j] = mean; u[j] = 0 }
                }
            }
        }
        if emits { inner.update(group.with(group.info.counting(group.info.step / k)), state: state.advanced(by: 1)) }
    }

    public func makeKernelRunner() -> KernelRunner? { fusedRunner?(self) }
}

/// The running mean of one parameter's mini-step updates under `MultiSteps` since the last
/// applied update.
public struct AccumulatedUpdate: Sendable, Equatable {
    /// The running mean a.
    public var mean: Tensor
}

/// The step-wide values of a fused `MultiSteps`: the mini step and, on an applying call, the
/// inner member's values.
public struct MultiStepsPrepared<P: Sendable>: Sendable {
    @usableFromInline let divisor: Float
    @usableFromInline let inner: P?
    @inlinable init(divisor: Float, inner: P?) {
        self.divisor = divisor
        self.inner = inner
    }
}

extension MultiSteps: FusableTransform where Inner: FusableTransform {
    @inlinable public var reductionPasses: Int { inner.reductionPasses }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { inner.reductionApplies(pass, to: parameter) }
    @inlinable public func scratchSize(segments: Int) -> Int { inner.scratchSize(segments: segments) }

    @inlinable public func prepareKernel(_ step: StepInfo) -> MultiStepsPrepared<Inner.KernelPrepared> {
        let (n, emits) = miniStep(at: step.step)
        return MultiStepsPrepared(divisor: Float(n + 1), inner: emits ? inner.prepareKernel(step.counting(step.step / k)) : nil)
    }

    @inlinable public func bindKernel(_ prepared: MultiStepsPrepared<Inner.KernelPrepared>, _ tensor: KernelTensor, _ state: GroupState,
                                      pass: Int, commit: Bool) -> MultiStepsLanes<Inner.KernelLanes> {
        let acc = state.view(tensor.index).tensor(0)
        guard let p = prepared.inner else {
            return MultiStepsLanes(acc: acc, divisor: prepared.divisor, inner: nil, idle: pass >= 0 && pass < reductionPasses, commit: commit)
        }
        return MultiStepsLanes(acc: acc, divisor: prepared.divisor,
                               inner: inner.bindKernel(p, tensor, state.advanced(by: 1), pass: pass, commit: commit), idle: false, commit: commit)
    }

    @inlinable public func finishReduction(_ pass: Int, _ prepared: MultiStepsPrepared<Inner.KernelPrepared>, _ tensor: KernelTensor,
                                           _ state: GroupState) {
        if let p = prepared.inner { inner.finishReduction(pass, p, tensor, state.advanced(by: 1)) }
    }
}

/// The lanes of a fused `MultiSteps`: the running mean, then (on an applying call) the inner
/// member's lanes on it.
public struct MultiStepsLanes<L: LaneFunction>: LaneFunction {
    @usableFromInline let acc: UnsafeMutablePointer<Float>
    @usableFromInline let divisor: Float
    @usableFromInline var inner: L?
    @usableFromInline let idle: Bool
    @usableFromInline let commit: Bool

    @inlinable init(acc: UnsafeMutablePointer<Float>, divisor: Float, inner: L?, idle: Bool, commit: Bool) {
        self.acc = acc
        self.divisor = divisor
        self.inner = inner
        self.idle = idle
        self.commit = commit
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        if idle { return false }
        let a = Lane.load(acc, i)
        let mean = a + (u - a) / SIMD8(repeating: divisor)
        if inner == nil {
            if commit { Lane.store(mean, acc, i) }
            u = SIMD8()
            return true
        }
        if commit { Lane.store(SIMD8(), acc, i) }
        u = mean
        return inner!.apply(&u, theta: theta, at: i)
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        if idle { return false }
        let a = acc[i]
        let mean = a + (u - a) / divisor
        if inner == nil {
            if commit { acc[i] = mean }
            u = 0
            return true
        }
        if commit { acc[i] = 0 }
        u = mean
        return inner!.apply(&u, theta: theta, at: i)
    }

    @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
        if inner != nil { inner!.beginSegment(segment, row: row, precise: precise) }
    }
    @inlinable public mutating func endSegment(_ segment: Int) -> Bool {
        if inner != nil { return inner!.endSegment(segment) }
        return true
    }
}
