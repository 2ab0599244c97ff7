/// Where DiGraP projects.
public enum ProjectionPlacement: String, Sendable, Equatable {
    /// On the raw gradient, before Adam's moments (the paper).
    case gradient
    /// On Adam's step direction, after the moments (a Graft extension).
    case update
}

extension Recipes {
    /// L2-SP (Li et al., 2018): `AnchorDecay(α, β) → base step rule`.
    public static func l2sp(learningRate: Schedule, alpha: Float, beta: Float = 0, base: StepRule = .sgd()) throws -> AnyGradientTransform {
        try base.preceded(by: try AnchorDecay(alpha: alpha, beta: beta).named("l2sp"), learningRate: learningRate)
    }

    /// L2-SP with scheduled strengths α(t) and β(t) (e.g. a pull toward θ0 that fades out).
    @_disfavoredOverload
    public static func l2sp(learningRate: Schedule, alpha: Schedule, beta: Schedule = 0, base: StepRule = .sgd()) throws -> AnyGradientTransform {
        try base.preceded(by: try AnchorDecay(alpha: alpha, beta: beta).named("l2sp"), learningRate: learningRate)
    }

    /// DiGraP (Huang et al., ICLR 2025): `DirectionalProjection → Adam → ×(−α)` (gradient
    /// placement, the paper) or `Adam → DirectionalProjection → ×(−α)` (update placement).
    /// The projection member is named `"digrap"`, Adam `"adam"`.
    public static func digrap(learningRate: Schedule, omega: DirectionalProjection.Omega,
                              hypergradient: DirectionalProjection.Hypergradient = .rows,
                              placement: ProjectionPlacement = .gradient,
                              source: DirectionalProjection.HypergradientSource = .training,
                              beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) throws -> AnyGradientTransform {
        let projection = try DirectionalProjection(omega: omega, hypergradient: hypergradient, source: source).named("digrap")
        let adam = try ScaleByAdam(beta1: beta1, beta2: beta2, epsilon: epsilon).named("adam")
        let scale = try ScaleByLearningRate(learningRate)
        // Either way one kernel: a reduction pass, then one elementwise pass.
        switch placement {
        case .gradient: return AnyGradientTransform(chain { projection; adam; scale })
        case .update: return AnyGradientTransform(chain { adam; projection; scale })
        }
    }

    /// PCGrad (Yu et al., 2020): the aggregator and the base step rule to put in one group:
    /// `ParameterGroup(name, selecting: …, aggregator: r.aggregator, transform: r.transform)`.
    public static func pcgrad(learningRate: Schedule, granularity: PCGrad.Granularity = .global,
                              reduction: PCGrad.Reduction = .sum, order: PCGrad.Order = .fixed,
                              base: StepRule = .sgd()) throws -> (aggregator: PCGrad, transform: AnyGradientTransform) {
        (PCGrad(granularity: granularity, reduction: reduction, order: order), try base.transform(learningRate: learningRate))
    }

    /// FTP (Tian et al., 2023): `base step rule → TrainableProjection(k, μ)` (member `"ftp"`).
    public static func ftp(learningRate: Schedule, k: Float = 1, mu: Float = 1e-2, base: StepRule = .adam()) throws -> AnyGradientTransform {
        try base.followed(by: try TrainableProjection(k: k, mu: mu).named("ftp"), learningRate: learningRate)
    }

    /// SPD / AdamSPD (Tian et al., 2024): `Adam → ×(−α) → SelectiveProjectionDecay(λ)` (member `"spd"`).
    public static func spd(learningRate: Schedule, lambda: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                           epsilon: Float = 1e-8) throws -> some FusableTransform {
        let adam = try ScaleByAdam(beta1: beta1, beta2: beta2, epsilon: epsilon).named("adam")
        let scale = try ScaleByLearningRate(learningRate)
        return try chain {
            adam
            scale
            try SelectiveProjectionDecay(lambda: lambda).named("spd")
        }
    }
}
