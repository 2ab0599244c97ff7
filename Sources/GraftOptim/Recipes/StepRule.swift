/// A base step rule for recipes that wrap one (L2-SP, PCGrad, FTP): SGD, Adam or AdamW with
/// PyTorch's defaults.
public enum StepRule: Sendable, Equatable {
    /// `torch.optim.SGD`.
    case sgd(momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false, weightDecay: Float = 0)
    /// `torch.optim.Adam` (coupled weight decay).
    case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0, amsgrad: Bool = false)
    /// `torch.optim.AdamW` (decoupled weight decay).
    case adamW(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01, amsgrad: Bool = false)

    /// The rule's chain at learning rate `learningRate` (ending with `ScaleByLearningRate`).
    public func transform(learningRate: Schedule) throws -> AnyGradientTransform {
        switch self {
        case let .sgd(momentum, dampening, nesterov, weightDecay):
            return AnyGradientTransform(try Recipes.sgd(learningRate: learningRate, momentum: momentum, dampening: dampening,
                                                        nesterov: nesterov, weightDecay: weightDecay))
        case let .adam(beta1, beta2, epsilon, weightDecay, amsgrad):
            return AnyGradientTransform(try Recipes.adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                         weightDecay: weightDecay, amsgrad: amsgrad))
        case let .adamW(beta1, beta2, epsilon, weightDecay, amsgrad):
            return AnyGradientTransform(try Recipes.adamW(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                          weightDecay: weightDecay, amsgrad: amsgrad))
        }
    }

    /// `before → rule`, fused into one kernel (how L2-SP wraps its base rule).
    public func preceded<B: FusableTransform>(by before: B, learningRate: Schedule) throws -> AnyGradientTransform {
        switch self {
        case let .sgd(momentum, dampening, nesterov, weightDecay):
            return AnyGradientTransform(Fused(before, try Recipes.sgd(learningRate: learningRate, momentum: momentum, dampening: dampening,
                                                                      nesterov: nesterov, weightDecay: weightDecay)))
        case let .adam(beta1, beta2, epsilon, weightDecay, amsgrad):
            return AnyGradientTransform(Fused(before, try Recipes.adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                                       weightDecay: weightDecay, amsgrad: amsgrad)))
        case let .adamW(beta1, beta2, epsilon, weightDecay, amsgrad):
            return AnyGradientTransform(Fused(before, try Recipes.adamW(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                                        weightDecay: weightDecay, amsgrad: amsgrad)))
        }
    }

    /// `rule → after`, fused into one kernel (how FTP wraps its base rule).
    public func followed<A: FusableTransform>(by after: A, learningRate: Schedule) throws -> AnyGradientTransform {
        switch self {
        case let .sgd(momentum, dampening, nesterov, weightDecay):
            let rule = try Recipes.sgd(learningRate: learningRate, momentum: momentum, dampening: dampening, nesterov: nesterov,
                                       weightDecay: weightDecay)
            return AnyGradientTransform(Fused(rule, after))
        case let .adam(beta1, beta2, epsilon, weightDecay, amsgrad):
            let rule = try Recipes.adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                        weightDecay: weightDecay, amsgrad: amsgrad)
            return AnyGradientTransform(Fused(rule, after))
        case let .adamW(beta1, beta2, epsilon, weightDecay, amsgrad):
            let rule = try Recipes.adamW(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                         weightDecay: weightDecay, amsgrad: amsgrad)
            return AnyGradientTransform(Fused(rule, after))
        }
    }
}
