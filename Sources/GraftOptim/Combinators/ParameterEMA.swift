#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftTensor

/// An exponential moving average of the parameters, kept as optimizer state (so checkpoints
/// carry it) beside the transform that moves them: a shadow copy for evaluation (Polyak
/// averaging as in timm's `ModelEmaV2` or `torch.optim.swa_utils` EMA; Morales-Brotons et
/// al., TMLR 2024, on why it helps).
///
/// After the wrapped transform has made the step's update u, with θ' = θ + u the new
/// parameters (the same float the optimizer stores), at every step:
///
///     e ← β e + (1 − β) θ'
///
/// - `debias: true` (optax's `ema(decay, debias=True)` applied to the parameters): e starts
///   at 0 and the average is `e / (1 − βⁿ)`, n the step count of the shadow's last update (the
///   group's step count; a tensor skipped under `missingGradients: .skip` keeps its shadow, and
///   its n is that of its last update);
/// - `debias: false`: e starts at θ before the first step (a copy of the model, as timm's
///   EMA) and the average is e.
///
/// `optimizer.averagedParameters()` returns the averages by path;
/// `loadAveragedParameters()` swaps them into the model for evaluation and
/// `restoreParameters()` swaps the trained values back.
/// ```swift
/// import GraftOptim
///
/// let withEMA = try ParameterEMA(decay: 0.999, chain {
///     try ScaleByAdam()
///     try ScaleByLearningRate(1e-3)
/// })
/// ```
/// Wrap the whole chain (members after it would change θ' after it was averaged). State: the
/// shadow `ema` (4 B per parameter) and n (a scalar per tensor). Fusable when `inner` is.
public struct ParameterEMA<Inner: GradientTransform>: GradientTransform {
    /// β, the decay of the average.
    public let decay: Float
    /// Whether the average is debiased (optax's `debias`).
    public let debias: Bool
    /// The transform whose new parameters are averaged.
    public let inner: Inner
    @usableFromInline var fusedRunner: (@Sendable (ParameterEMA<Inner>) -> KernelRunner)?

    /// An EMA of the parameters `inner` produces.
    /// - Throws: `invalidHyperparameter` unless β ∈ [0, 1).
    public init(decay: Float, debias: Bool = true, _ inner: Inner) throws {
        try Check.beta("decay", decay)
        self.decay = decay
        self.debias = debias
        self.inner = inner
        fusedRunner = nil
    }

    /// An EMA of the parameters a fusable `inner` produces, in the same fused kernel.
    @inlinable public init(decay: Float, debias: Bool = true, _ inner: Inner) throws where Inner: FusableTransform {
        guard decay.isFinite, decay >= 0, decay < 1 else {
            throw OptimizerError.invalidHyperparameter(key: "decay", value: "\(decay)", allowed: "[0, 1)")
        }
        self.decay = decay
        self.debias = debias
        self.inner = inner
        fusedRunner = { $0.fusedKernelRunner() }
    }

    public var kind: String { "parameter_ema" }
    public var configuration: [String: String] { ["decay": "\(decay)", "debias": "\(debias)"] }
    public var members: [TransformMember] { [TransformMember(leaf: self)] + inner.members }
    @inlinable public var memberCount: Int { 1 + inner.memberCount }
    public var usesAnchors: Bool { inner.usesAnchors }
    public var usesProvidedGradient: Bool { inner.usesProvidedGradient }

    /// The shadow `ema` and the step count of its last update (`updates`).
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["ema"], of: parameter, scalars: ["updates"]) }

    /// Without debiasing, NaN marks "not yet started" (the first update starts from θ).
    public func initializeState(_ state: StateView, for parameter: ParameterInfo) {
        if !debias { state.tensorBuffer(0).update(repeating: .nan) }
    }

    /// The inspection value: `optimizer.state(of:for:as: ParameterAverage.self)`.
    public typealias TensorState = ParameterAverage

    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        let shadow = state.copyTensor(0, shape: parameter.shape)
        let n = Int(state[scalar: 0])
        guard n > 0 else { return ParameterAverage(shadow: shadow, average: nil, updates: 0) }
        guard debias else { return ParameterAverage(shadow: shadow, average: shadow, updates: n) }
        let correction = Float(1 - pow(Double(decay), Double(n)))
        let average = (try? Tensor(shape: parameter.shape, scalars: shadow.scalars.map { $0 / correction })) ?? shadow
        return ParameterAverage(shadow: shadow, average: average, updates: n)
    }

    public func update(_ group: GroupStep, state: GroupState) {
        inner.update(group, state: state.advanced(by: 1))
        let beta = decay, rest = 1 - decay, t = Double(group.info.step)
        group.forEachTensor { idx in
            let slot = group.slots[idx]
            let view = state.view(idx)
            guard let u = slot.update.baseAddress, let theta = slot.value.baseAddress else { return }
            let ema = view.tensor(0)
            slot.forChunks { r in
                for j in r {
                    let e = ema[j].isNaN ? theta[j] : ema[j]
                    ema[j] = beta * e + rest * (theta[j] + u[j])
                }
            }
            view[scalar: 0] = t
        }
    }

    public func makeKernelRunner() -> KernelRunner? { fusedRunner?(self) }
}

/// One parameter's average under `ParameterEMA`.
public struct ParameterAverage: Sendable, Equatable {
    /// The raw shadow e (zeros, or NaN without debiasing, before the first update).
    public var shadow: Tensor
    /// The average to evaluate with (`nil` before the first update).
    public var average: Tensor?
    /// The step count n of the shadow's last update (0: none yet); debiasing divides by 1 − βⁿ.
    public var updates: Int
}

extension ParameterEMA: FusableTransform where Inner: FusableTransform {
    @inlinable public var reductionPasses: Int { inner.reductionPasses }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { inner.reductionApplies(pass, to: parameter) }
    @inlinable public func scratchSize(segments: Int) -> Int { inner.scratchSize(segments: segments) }
    @inlinable public func prepareKernel(_ step: StepInfo) -> (Int, Inner.KernelPrepared) { (step.step, inner.prepareKernel(step)) }

    @inlinable public func bindKernel(_ prepared: (Int, Inner.KernelPrepared), _ tensor: KernelTensor, _ state: GroupState, pass: Int,
                                      commit: Bool) -> ParameterEMALanes<Inner.KernelLanes> {
        let view = state.view(tensor.index)
        return ParameterEMALanes(inner: inner.bindKernel(prepared.1, tensor, state.advanced(by: 1), pass: pass, commit: commit),
                                 ema: view.tensor(0), updates: commit ? view.scalars : nil, step: Double(prepared.0),
                                 decay: decay, commit: commit)
    }

    @inlinable public func finishReduction(_ pass: Int, _ prepared: (Int, Inner.KernelPrepared), _ tensor: KernelTensor, _ state: GroupState) {
        inner.finishReduction(pass, prepared.1, tensor, state.advanced(by: 1))
    }
}

/// The lanes of a fused `ParameterEMA`: the inner member's, then the average of θ + u. The
/// update count is written with element 0 (one writer per tensor whatever the split).
public struct ParameterEMALanes<L: LaneFunction>: LaneFunction {
    @usableFromInline var inner: L
    @usableFromInline let ema: UnsafeMutablePointer<Float>
    @usableFromInline let updates: UnsafeMutablePointer<Double>?
    @usableFromInline let step: Double
    @usableFromInline let decay: Float
    @usableFromInline let commit: Bool

    @inlinable init(inner: L, ema: UnsafeMutablePointer<Float>, updates: UnsafeMutablePointer<Double>?, step: Double, decay: Float,
                    commit: Bool) {
        self.inner = inner
        self.ema = ema
        self.updates = updates
        self.step = step
        self.decay = decay
        self.commit = commit
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        guard inner.apply(&u, theta: theta, at: i) else { return false }
        if commit {
            let stored = Lane.load(ema, i)
            let e = stored.replacing(with: theta, where: stored .!= stored)
            Lane.store(SIMD8(repeating: decay) * e + SIMD8(repeating: 1 - decay) * (theta + u), ema, i)
            if i == 0, let updates { updates.pointee = step }
        }
        return true
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        guard inner.apply(&u, theta: theta, at: i) else { return false }
        if commit {
            let e = ema[i].isNaN ? theta : ema[i]
            ema[i] = decay * e + (1 - decay) * (theta + u)
            if i == 0, let updates { updates.pointee = step }
        }
        return true
    }

    @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
        inner.beginSegment(segment, row: row, precise: precise)
    }
    @inlinable public mutating func endSegment(_ segment: Int) -> Bool { inner.endSegment(segment) }
}
