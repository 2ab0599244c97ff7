/// Named optimizers as chains (optax's `alias`): each is a few lines composing transforms,
/// with the learning-rate scaling last; each runs as one fused kernel. Hyperparameters are validated by the transforms.
public enum Recipes {
    /// SGD with optional momentum, dampening, Nesterov and coupled weight decay, exactly as
    /// `torch.optim.SGD`: `(+λθ) → momentum → ×(−α)`.
    public static func sgd(learningRate: Schedule, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false,
                           weightDecay: Float = 0) throws -> some FusableTransform {
        if nesterov && momentum <= 0 {
            throw OptimizerError.incompatibleHyperparameters(key: "nesterov", reason: "Nesterov momentum requires momentum > 0 (momentum \(momentum))")
        }
        try Check.unitInterval("dampening", dampening)
        return try chain {
            if weightDecay != 0 { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            if momentum != 0 { try Momentum(momentum: momentum, dampening: dampening, nesterov: nesterov).named("momentum") }
            try ScaleByLearningRate(learningRate)
        }
    }

    /// Adam with PyTorch's semantics and coupled weight decay (`g ← g + λθ`), optional AMSGrad:
    /// `(+λθ) → Adam moments → ×(−α)`.
    public static func adam(learningRate: Schedule, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                            weightDecay: Float = 0, amsgrad: Bool = false) throws -> some FusableTransform {
        try chain {
            if weightDecay != 0 { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByAdam(beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad).named("adam")
            try ScaleByLearningRate(learningRate)
        }
    }

    /// AdamW (Loshchilov & Hutter, 2019): Adam moments, then decoupled decay, then ×(−α),
    /// i.e. `θ ← θ (1 − αλ) − α m̂ / (sqrt(v̂) + ε)` as `torch.optim.AdamW`.
    public static func adamW(learningRate: Schedule, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                             weightDecay: Float = 0.01, amsgrad: Bool = false) throws -> some FusableTransform {
        try chain {
            try ScaleByAdam(beta1: beta1, beta2: beta2, epsilon: epsilon, amsgrad: amsgrad).named("adam")
            try AddDecayedWeights(.constant(weightDecay)).named("weight_decay")
            try ScaleByLearningRate(learningRate)
        }
    }
}
