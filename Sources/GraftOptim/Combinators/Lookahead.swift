import GraftTensor

/// Lookahead (Zhang, Lucas, Hinton & Ba, NeurIPS 2019, "Lookahead Optimizer: k steps forward,
/// 1 step back") around a fast transform, with optax's `lookahead` update rules: the
/// parameters θ are the fast weights, the slow weights s live in the optimizer state.
///
/// At group step t the fast transform gives u; on every k-th step (t mod k = 0) the fast and
/// slow weights are synchronised:
///
///     d = θ + u − s
///     s ← s + α d                 (slow ← slow + α (fast − slow))
///     u ← u − (1 − α) d           (so θ + u = s + α d: fast ← slow)
///
/// and u is left alone on the other steps. s starts as θ at the group's first step (optax's
/// `LookaheadParams.init_synced`).
/// ```swift
/// import GraftOptim
///
/// let lookahead = try Lookahead(syncPeriod: 5, slowStepSize: 0.5, chain {
///     try ScaleByAdam()
///     try ScaleByLearningRate(1e-3)
/// })
/// ```
/// Where it differs from optax: optax keeps the slow weights in the parameters
/// (`LookaheadParams`) and returns updates for both; here θ is the fast copy, s is state
/// (checkpointed with the optimizer, 4 B per parameter) and the new fast weights are
/// `θ + u` rounded once, where optax also rounds once (the same formula). optax's
/// `reset_state` (re-initialising the fast optimizer at every synchronisation) is not offered.
/// Evaluate with the slow weights through `state(of:for:as:)` (`TensorState.slow`) or after a
/// synchronisation step, when θ = s up to rounding. The fast transform sees every step
/// (its step count is the group's). Put Lookahead last: members after it would change u after
/// the synchronisation. Fusable when `fast` is.
public struct Lookahead<Fast: GradientTransform>: GradientTransform {
    /// k, the fast steps between synchronisations.
    public let syncPeriod: Int
    /// α, the slow step size.
    public let slowStepSize: Float
    /// The fast transform.
    public let fast: Fast
    @usableFromInline var fusedRunner: (@Sendable (Lookahead<Fast>) -> KernelRunner)?

    /// Lookahead around `fast`.
    /// - Throws: `invalidHyperparameter` unless k ≥ 1 and α ∈ (0, 1].
    public init(syncPeriod: Int, slowStepSize: Float, _ fast: Fast) throws {
        try Lookahead.check(syncPeriod, slowStepSize)
        self.syncPeriod = syncPeriod
        self.slowStepSize = slowStepSize
        self.fast = fast
        fusedRunner = nil
    }

    /// Lookahead around a fusable `fast`, in one fused kernel.
    @inlinable public init(syncPeriod: Int, slowStepSize: Float, _ fast: Fast) throws where Fast: FusableTransform {
        try Lookahead.check(syncPeriod, slowStepSize)
        self.syncPeriod = syncPeriod
        self.slowStepSize = slowStepSize
        self.fast = fast
        fusedRunner = { $0.fusedKernelRunner() }
    }

    @usableFromInline static func check(_ k: Int, _ alpha: Float) throws {
        try Check.positiveInt("sync_period", k)
        guard alpha.isFinite, alpha > 0, alpha <= 1 else {
            throw OptimizerError.invalidHyperparameter(key: "slow_step_size", value: "\(alpha)", allowed: "(0, 1]")
        }
    }

    public var kind: String { "lookahead" }
    public var configuration: [String: String] { ["sync_period": "\(syncPeriod)", "slow_step_size": "\(slowStepSize)"] }
    public var members: [TransformMember] { [TransformMember(leaf: self)] + fast.members }
    @inlinable public var memberCount: Int { 1 + fast.memberCount }
    public var usesAnchors: Bool { fast.usesAnchors }
    public var usesProvidedGradient: Bool { fast.usesProvidedGradient }

    /// The slow weights `slow`, NaN until the parameter's first step (which sets them to θ).
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["slow"], of: parameter) }

    public func initializeState(_ state: StateView, for parameter: ParameterInfo) {
        state.tensorBuffer(0).update(repeating: .nan)
    }

    /// The inspection value: `optimizer.state(of:for:as: LookaheadSlowWeights.self)`.
    public typealias TensorState = LookaheadSlowWeights

    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        let b = state.tensorBuffer(0)
        return LookaheadSlowWeights(slow: b.contains { $0.isNaN } && !b.isEmpty ? nil : state.copyTensor(0, shape: parameter.shape))
    }

    /// Whether step t synchronises.
    @inlinable public func synchronises(at t: Int) -> Bool { t % syncPeriod == 0 }

    public func update(_ group: GroupStep, state: GroupState) {
        fast.update(group, state: state.advanced(by: 1))
        let sync = synchronises(at: group.info.step)
        let alpha = slowStepSize, keep = 1 - slowStepSize
        group.forEachTensor { idx in
            let slot = group.slots[idx]
            guard let u = slot.update.baseAddress, let theta = slot.value.baseAddress else { return }
            let slow = state.view(idx).tensor(0)
            slot.forChunks { r in
                for j in r {
                    var s = slow[j]
                    if s.isNaN { s = theta[j]; if !sync { slow[j] = s } }
                    if sync {
                        let d = theta[j] + u[j] - s
                        slow[j] = s + alpha * d
                        u[j] = u[j] - keep * d
                    }
                }
            }
        }
    }

    public func makeKernelRunner() -> KernelRunner? { fusedRunner?(self) }
}

/// The slow weights of one parameter under `Lookahead` (`nil` before its first step).
public struct LookaheadSlowWeights: Sendable, Equatable {
    /// The slow weights s.
    public var slow: Tensor?
}

extension Lookahead: FusableTransform where Fast: FusableTransform {
    @inlinable public var reductionPasses: Int { fast.reductionPasses }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { fast.reductionApplies(pass, to: parameter) }
    @inlinable public func scratchSize(segments: Int) -> Int { fast.scratchSize(segments: segments) }

    @inlinable public func prepareKernel(_ step: StepInfo) -> (Bool, Fast.KernelPrepared) {
        (synchronises(at: step.step), fast.prepareKernel(step))
    }

    @inlinable public func bindKernel(_ prepared: (Bool, Fast.KernelPrepared), _ tensor: KernelTensor, _ state: GroupState, pass: Int,
                                      commit: Bool) -> LookaheadLanes<Fast.KernelLanes> {
        LookaheadLanes(fast: fast.bindKernel(prepared.1, tensor, state.advanced(by: 1), pass: pass, commit: commit),
                       slow: state.view(tensor.index).tensor(0), sync: prepared.0, alpha: slowStepSize, commit: commit)
    }

    @inlinable public func finishReduction(_ pass: Int, _ prepared: (Bool, Fast.KernelPrepared), _ tensor: KernelTensor, _ state: GroupState) {
        fast.finishReduction(pass, prepared.1, tensor, state.advanced(by: 1))
    }
}

/// The lanes of a fused `Lookahead`: the fast member's, then the synchronisation.
public struct LookaheadLanes<L: LaneFunction>: LaneFunction {
    @usableFromInline var fast: L
    @usableFromInline let slow: UnsafeMutablePointer<Float>
    @usableFromInline let sync: Bool
    @usableFromInline let alpha: Float
    @usableFromInline let commit: Bool

    @inlinable init(fast: L, slow: UnsafeMutablePointer<Float>, sync: Bool, alpha: Float, commit: Bool) {
        self.fast = fast
        self.slow = slow
        self.sync = sync
        self.alpha = alpha
        self.commit = commit
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        guard fast.apply(&u, theta: theta, at: i) else { return false }
        let stored = Lane.load(slow, i)
        let unset = stored .!= stored
        let s = stored.replacing(with: theta, where: unset)
        if sync {
            let d = theta + u - s
            if commit { Lane.store(s + SIMD8(repeating: alpha) * d, slow, i) }
            u = u - SIMD8(repeating: 1 - alpha) * d
        } else if commit && any(unset) {
            Lane.store(s, slow, i)
        }
        return true
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        guard fast.apply(&u, theta: theta, at: i) else { return false }
        let stored = slow[i]
        let s = stored.isNaN ? theta : stored
        if sync {
            let d = theta + u - s
            if commit { slow[i] = s + alpha * d }
            u = u - (1 - alpha) * d
        } else if commit && stored.isNaN {
            slow[i] = s
        }
        return true
    }

    @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
        fast.beginSegment(segment, row: row, precise: precise)
    }
    @inlinable public mutating func endSegment(_ segment: Int) -> Bool { fast.endSegment(segment) }
}
