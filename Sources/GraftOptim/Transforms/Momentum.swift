import GraftTensor

/// SGD's heavy-ball momentum with dampening and Nesterov, exactly as `torch.optim.SGD`:
/// `b ← g` at the first step, else `b ← μ b + (1 − τ) g`; then `u ← u + μ b` (Nesterov)
/// or `u ← b` (Polyak, 1964; Sutskever et al., 2013). State: tensor `buffer`.
public struct Momentum: ElementwiseTransform {
    /// A copy of one parameter's buffer (for inspection).
    public struct TensorState: Sendable, Equatable {
        /// The momentum buffer b.
        public var buffer: Tensor
    }

    /// μ, the momentum factor (≥ 0).
    public let momentum: Float
    /// τ, the dampening of new gradients (in [0, 1]).
    public let dampening: Float
    /// Whether the Nesterov form `u + μ b` is used.
    public let nesterov: Bool

    /// - Throws: for momentum < 0, dampening outside [0, 1], or Nesterov without momentum or
    ///   with dampening (PyTorch's rules).
    public init(momentum: Float, dampening: Float = 0, nesterov: Bool = false) throws {
        try Check.nonNegative("momentum", momentum)
        try Check.unitInterval("dampening", dampening)
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw OptimizerError.incompatibleHyperparameters(key: "nesterov", reason: "Nesterov momentum requires momentum > 0 and dampening = 0 (momentum \(momentum), dampening \(dampening))")
        }
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
    }

    public var kind: String { "momentum" }
    public var configuration: [String: String] { ["nesterov": "\(nesterov)"] }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["buffer"], of: parameter) }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(buffer: state.copyTensor(0, shape: parameter.shape))
    }

    @inlinable public func prepare(_ step: StepInfo) -> Bool { step.step == 1 }

    @inlinable public func lanes(_ first: Bool, tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        Lanes(buffer: state.tensor(0), momentum: momentum, keep: 1 - dampening, nesterov: nesterov, first: first, commit: commit)
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

        @inlinable @inline(__always)
        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            let b = first ? u : momentum * buffer[i] + keep * u
            if commit { buffer[i] = b }
            u = nesterov ? u + momentum * b : b
        }
    }
}
