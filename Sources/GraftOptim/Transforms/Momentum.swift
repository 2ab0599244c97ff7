import GraftTensor

/// SGD's heavy-ball momentum with dampening and Nesterov, exactly as `torch.optim.SGD`:
/// `b ← g` at the first step, else `b ← μ b + (1 − τ) g`; then `u ← u + μ b` (Nesterov)
/// or `u ← b` (Polyak, 1964; Sutskever et al., 2013).
public struct Momentum: ElementwiseTransform {
    /// Per-parameter buffer `b` (set to the gradient at the group's first step, t = 1).
    public struct TensorState: Codable, Sendable, Equatable {
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

    public func makeTensorState(for parameter: ParameterInfo) -> TensorState {
        TensorState(buffer: Tensor(zeros: parameter.shape))
    }

    public func update(_ range: Range<Int>, _ u: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        guard let buffer = state.buffer.unsafeMutableStorage().baseAddress else { return }
        let b = buffer + range.lowerBound, n = range.count
        let mu = momentum, keep = 1 - dampening
        if step.step == 1 {
            // b ← g at the first step (PyTorch's `buf = clone(d_p)`).
            if nesterov { for k in 0..<n { b[k] = u[k]; u[k] += mu * u[k] } } else { for k in 0..<n { b[k] = u[k] } }
        } else if nesterov {
            for k in 0..<n { let nb = mu * b[k] + keep * u[k]; b[k] = nb; u[k] += mu * nb }
        } else {
            for k in 0..<n { let nb = mu * b[k] + keep * u[k]; b[k] = nb; u[k] = nb }
        }
    }
}
