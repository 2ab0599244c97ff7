import GraftTensor

/// SGD's heavy-ball momentum with dampening and Nesterov, exactly as `torch.optim.SGD`:
/// `b ← g` at the first step, else `b ← μ b + (1 − τ) g`; then `u ← u + μ b` (Nesterov)
/// or `u ← b` (Polyak, 1964; Sutskever et al., 2013).
public struct Momentum: TensorTransform {
    /// Per-parameter buffer `b` (empty until the first step).
    public struct TensorState: Codable, Sendable, Equatable {
        public var buffer: Tensor
        public var initialized: Bool
    }

    public let momentum: Float
    public let dampening: Float
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
        TensorState(buffer: Tensor(zeros: parameter.shape), initialized: false)
    }

    public func update(_ slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        let u = slot.update.baseAddress!
        let b = state.buffer.unsafeMutableStorage().baseAddress!
        let mu = momentum, keep = 1 - dampening
        if !state.initialized {
            state.initialized = true
            if nesterov {
                slot.forChunks { r in for i in r { b[i] = u[i]; u[i] += mu * u[i] } }
            } else {
                slot.forChunks { r in for i in r { b[i] = u[i] } }
            }
            return
        }
        if nesterov {
            slot.forChunks { r in for i in r { let nb = mu * b[i] + keep * u[i]; b[i] = nb; u[i] += mu * nb } }
        } else {
            slot.forChunks { r in for i in r { let nb = mu * b[i] + keep * u[i]; b[i] = nb; u[i] = nb } }
        }
    }
}
