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

    /// RMSprop exactly as `torch.optim.RMSprop` (coupled weight decay, optional centering and
    /// momentum): `(+λθ) → RMS scaling → ×(−α)`, i.e. `θ ← θ − α g / (sqrt(s) + ε)` (see `ScaleByRMS`).
    public static func rmsprop(learningRate: Schedule, alpha: Float = 0.99, epsilon: Float = 1e-8, weightDecay: Float = 0,
                               momentum: Float = 0, centered: Bool = false) throws -> some FusableTransform {
        try chain {
            if weightDecay != 0 { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByRMS(alpha: alpha, epsilon: epsilon, momentum: momentum, centered: centered).named("rmsprop")
            try ScaleByLearningRate(learningRate)
        }
    }

    /// Adagrad exactly as `torch.optim.Adagrad` (coupled weight decay, `lr_decay`,
    /// `initial_accumulator_value`): `(+λθ) → Adagrad scaling → ×(−α)` (see `ScaleByAdagrad`).
    public static func adagrad(learningRate: Schedule, learningRateDecay: Float = 0, weightDecay: Float = 0,
                               initialAccumulator: Float = 0, epsilon: Float = 1e-10) throws -> some FusableTransform {
        try chain {
            if weightDecay != 0 { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByAdagrad(learningRateDecay: learningRateDecay, initialAccumulator: initialAccumulator, epsilon: epsilon)
                .named("adagrad")
            try ScaleByLearningRate(learningRate)
        }
    }

    /// RAdam exactly as `torch.optim.RAdam`: `(+λθ) → rectified Adam → ×(−α)`, or with
    /// `decoupledWeightDecay` `rectified Adam → (+λθ) → ×(−α)` (`θ ← θ (1 − αλ) − α u`).
    public static func radam(learningRate: Schedule, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                             weightDecay: Float = 0, decoupledWeightDecay: Bool = false) throws -> some FusableTransform {
        try chain {
            if weightDecay != 0 && !decoupledWeightDecay { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByRAdam(beta1: beta1, beta2: beta2, epsilon: epsilon).named("radam")
            if weightDecay != 0 && decoupledWeightDecay { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByLearningRate(learningRate)
        }
    }

    /// NAdam exactly as `torch.optim.NAdam` (momentum schedule with `momentum_decay` ψ):
    /// `(+λθ) → NAdam scaling → ×(−α)`, or decoupled as `radam`'s (see `ScaleByNAdam`).
    public static func nadam(learningRate: Schedule, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                             weightDecay: Float = 0, momentumDecay: Float = 4e-3,
                             decoupledWeightDecay: Bool = false) throws -> some FusableTransform {
        try chain {
            if weightDecay != 0 && !decoupledWeightDecay { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByNAdam(beta1: beta1, beta2: beta2, epsilon: epsilon, momentumDecay: momentumDecay).named("nadam")
            if weightDecay != 0 && decoupledWeightDecay { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByLearningRate(learningRate)
        }
    }

    /// Lion (Chen et al., 2023) as optax's `lion`: `sign → (+λθ) → ×(−α)`, i.e.
    /// `θ ← θ − α (sign(β1 m + (1 − β1) g) + λ θ)` (see `ScaleByLion`). Lion wants a learning rate
    /// 3–10× smaller than AdamW's and a λ as much larger.
    public static func lion(learningRate: Schedule, beta1: Float = 0.9, beta2: Float = 0.99,
                            weightDecay: Float = 0) throws -> some FusableTransform {
        try chain {
            try ScaleByLion(beta1: beta1, beta2: beta2).named("lion")
            if weightDecay != 0 { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByLearningRate(learningRate)
        }
    }

    /// LAMB (You et al., ICLR 2020) as optax's `lamb`: Adam's moments (ε = 1e-6 after the
    /// bias-corrected root), decoupled decay, then the per-tensor trust ratio `‖θ‖ / ‖u‖`:
    /// `scale_by_adam → (+λθ) → ScaleByTrustRatio → ×(−α)`, one fused kernel with one reduction.
    public static func lamb(learningRate: Schedule, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-6,
                            weightDecay: Float = 0) throws -> some FusableTransform {
        try chain {
            try ScaleByAdam(beta1: beta1, beta2: beta2, epsilon: epsilon).named("adam")
            if weightDecay != 0 { try AddDecayedWeights(.constant(weightDecay)).named("weight_decay") }
            try ScaleByTrustRatio().named("trust_ratio")
            try ScaleByLearningRate(learningRate)
        }
    }

    /// Muon for the matrices of a group with an AdamW fallback for its other tensors, as
    /// `torch.optim.Muon` (Nesterov momentum 0.95, 5 Newton–Schulz steps, `adjust_lr_fn`
    /// "original", decoupled decay λ) plus PyTorch's AdamW at α·s for the rest (s =
    /// `adamLearningRateScale`): `ScaleByMuon → ×(−α)` (see `ScaleByMuon`; orthogonalisation in
    /// float32 through OpenBLAS). Not a `StepRule`: it is a per-tensor (unfused) member.
    public static func muon(learningRate: Schedule, momentum: Float = 0.95, nesterov: Bool = true, steps: Int = 5,
                            weightDecay: Float = 0.1, adamLearningRateScale: Float = 1, adamBeta1: Float = 0.9,
                            adamBeta2: Float = 0.999, adamEpsilon: Float = 1e-8) throws -> some GradientTransform {
        try chain {
            try ScaleByMuon(momentum: momentum, nesterov: nesterov, steps: steps, weightDecay: weightDecay,
                            fallbackBetas: (adamBeta1, adamBeta2), fallbackEpsilon: adamEpsilon,
                            fallbackScale: adamLearningRateScale).named("muon")
            try ScaleByLearningRate(learningRate)
        }
    }

    /// Adafactor exactly as `torch.optim.Adafactor` (factored second moments, relative step
    /// `min(α, 1/√t) · max(ε2, RMS(θ))`, update clipping d, decoupled decay λ):
    /// `ScaleByAdafactor → ×(−α)` (see `ScaleByAdafactor`; per tensor, unfused).
    public static func adafactor(learningRate: Schedule, beta2Decay: Float = -0.8, epsilon1: Float = Float.ulpOfOne,
                                 epsilon2: Float = 1e-3, clipThreshold: Float = 1, weightDecay: Float = 0) throws -> some GradientTransform {
        try chain {
            try ScaleByAdafactor(learningRate: learningRate, beta2Decay: beta2Decay, epsilon1: epsilon1, epsilon2: epsilon2,
                                 clipThreshold: clipThreshold, weightDecay: weightDecay).named("adafactor")
            try ScaleByLearningRate(learningRate)
        }
    }
}
