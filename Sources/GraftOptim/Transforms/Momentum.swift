import GraftTensor

/// SGD's heavy-ball momentum with dampening and Nesterov, exactly as `torch.optim.SGD`:
/// `b ← g` at the first step, else `b ← μ b + (1 − τ) g`; then `u ← u + μ b` (Nesterov)
/// or `u ← b` (Polyak, 1964; Sutskever et al., 2013). State: tensor `buffer`.
/// μ may follow a `Schedule` (the `Schedule` initialiser): step t uses μ(t), as PyTorch's SGD
/// does when a scheduler changes `momentum` (OneCycleLR's `cycle_momentum`).
public struct Momentum: ElementwiseTransform {
    /// A copy of one parameter's buffer (for inspection).
    public struct TensorState: Sendable, Equatable {
        /// The momentum buffer b.
        public var buffer: Tensor
    }

    /// μ, the momentum factor (≥ 0; its value at t = 1 when scheduled).
    public let momentum: Float
    /// μ as a function of the step (constant unless built with a schedule).
    public let momentumSchedule: Schedule
    /// τ, the dampening of new gradients (in [0, 1]).
    public let dampening: Float
    /// Whether the Nesterov form `u + μ b` is used.
    public let nesterov: Bool

    /// - Throws: for momentum < 0, dampening outside [0, 1], or Nesterov without momentum or
    ///   with dampening (PyTorch's rules).
    public init(momentum: Float, dampening: Float = 0, nesterov: Bool = false) throws {
        try self.init(momentum: Schedule.constant(momentum), dampening: dampening, nesterov: nesterov)
    }

    /// Momentum with a scheduled μ (a float literal is a constant schedule).
    /// - Throws: as the `Float` initialiser, with μ(t) checked at the sample steps (Nesterov needs μ(1) > 0).
    @_disfavoredOverload
    public init(momentum: Schedule, dampening: Float = 0, nesterov: Bool = false) throws {
        try momentum.validate("momentum", Check.nonNegative)
        try Check.unitInterval("dampening", dampening)
        let first = momentum.value(at: 1)
        if nesterov && (first <= 0 || dampening != 0) {
            throw OptimizerError.incompatibleHyperparameters(key: "nesterov", reason: "Nesterov momentum requires momentum > 0 and dampening = 0 (momentum \(first), dampening \(dampening))")
        }
        self.momentumSchedule = momentum
        self.momentum = first
        self.dampening = dampening
        self.nesterov = nesterov
    }

    public var kind: String { "momentum" }
    public var configuration: [String: String] { ["nesterov": "\(nesterov)"].recordingSchedules([("momentum", momentumSchedule)]) }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["buffer"], of: parameter) }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(buffer: state.copyTensor(0, shape: parameter.shape))
    }

    /// Whether this is the first step, and μ(t).
    @inlinable public func prepare(_ step: StepInfo) -> (Bool, Float) { (step.step == 1, momentumSchedule.value(at: step.step)) }

    @inlinable public func lanes(_ prepared: (Bool, Float), tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        Lanes(buffer: state.tensor(0), momentum: prepared.1, keep: 1 - dampening, nesterov: nesterov, first: prepared.0, commit: commit)
    }

    /// The buffer update, eight lanes at a time.
    public struct Lanes: ElementLanes {
        @usableFromInline let buffer: UnsafeMutablePointer<Float>
        @usableFromInline let momentum: Float, keep: Float
        @usableFromInline let nesterov: Bool, first: Bool, commit: Bool

        @inlinable init(buffer: UnsafeMutablePointer<Float>, momentum: Float, keep: Float, nesterov: Bool, first: Bool, commit: Bool) {
            self.buffer = buffer
            self.momentum = momentum
            self.keep = keep
            self.nesterov = nesterov
            self.first = first
            self.commit = commit
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            // b ← g at the first step (PyTorch's `buf = clone(d_p)`).
            let b = first ? u : momentum * Lane.load(buffer, i) + keep * u
            if commit { Lane.store(b, buffer, i) }
            u = nesterov ? u + momentum * b : b
        }

        @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool {
            chain.momentum(buffer: buffer, momentum: momentum, keep: keep, nesterov: nesterov, firstStep: first, commit: commit)
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            let b = first ? u : momentum * buffer[i] + keep * u
            if commit { buffer[i] = b }
            u = nesterov ? u + momentum * b : b
        }
    }
}
