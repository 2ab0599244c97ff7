/// A base step rule for recipes that wrap one (L2-SP, PCGrad, FTP): any of the step-rule
/// recipes of `Recipes`, with PyTorch's (or, for Lion, optax's) defaults.
public enum StepRule: Sendable, Equatable {
    /// `torch.optim.SGD`.
    case sgd(momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false, weightDecay: Float = 0)
    /// `torch.optim.Adam` (coupled weight decay).
    case adam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0, amsgrad: Bool = false)
    /// `torch.optim.AdamW` (decoupled weight decay).
    case adamW(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01, amsgrad: Bool = false)
    /// `torch.optim.RMSprop` (coupled weight decay).
    case rmsprop(alpha: Float = 0.99, epsilon: Float = 1e-8, weightDecay: Float = 0, momentum: Float = 0, centered: Bool = false)
    /// `torch.optim.Adagrad` (coupled weight decay).
    case adagrad(learningRateDecay: Float = 0, weightDecay: Float = 0, initialAccumulator: Float = 0, epsilon: Float = 1e-10)
    /// `torch.optim.RAdam`.
    case radam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
               decoupledWeightDecay: Bool = false)
    /// `torch.optim.NAdam`.
    case nadam(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
               momentumDecay: Float = 4e-3, decoupledWeightDecay: Bool = false)
    /// optax's `lion` (decoupled weight decay).
    case lion(beta1: Float = 0.9, beta2: Float = 0.99, weightDecay: Float = 0)
    /// optax's `lamb` (decoupled weight decay, per-tensor trust ratio).
    case lamb(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-6, weightDecay: Float = 0)

    /// The rule's chain at learning rate `learningRate` (ending with `ScaleByLearningRate`).
    public func transform(learningRate: Schedule) throws -> AnyGradientTransform {
        try visit(learningRate: learningRate, Erase())
    }

    /// `before → rule`, fused into one kernel (how L2-SP wraps its base rule).
    public func preceded<B: FusableTransform>(by before: B, learningRate: Schedule) throws -> AnyGradientTransform {
        try visit(learningRate: learningRate, Precede(before: before))
    }

    /// `rule → after`, fused into one kernel (how FTP wraps its base rule).
    public func followed<A: FusableTransform>(by after: A, learningRate: Schedule) throws -> AnyGradientTransform {
        try visit(learningRate: learningRate, Follow(after: after))
    }

    /// Builds the rule's recipe and hands its static type to `visitor` (one switch for every use).
    func visit<V: StepRuleVisitor>(learningRate lr: Schedule, _ visitor: V) throws -> AnyGradientTransform {
        switch self {
        case let .sgd(momentum, dampening, nesterov, weightDecay):
            return visitor.visit(try Recipes.sgd(learningRate: lr, momentum: momentum, dampening: dampening, nesterov: nesterov,
                                                 weightDecay: weightDecay))
        case let .adam(beta1, beta2, epsilon, weightDecay, amsgrad):
            return visitor.visit(try Recipes.adam(learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                  weightDecay: weightDecay, amsgrad: amsgrad))
        case let .adamW(beta1, beta2, epsilon, weightDecay, amsgrad):
            return visitor.visit(try Recipes.adamW(learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                   weightDecay: weightDecay, amsgrad: amsgrad))
        case let .rmsprop(alpha, epsilon, weightDecay, momentum, centered):
            return visitor.visit(try Recipes.rmsprop(learningRate: lr, alpha: alpha, epsilon: epsilon, weightDecay: weightDecay,
                                                     momentum: momentum, centered: centered))
        case let .adagrad(learningRateDecay, weightDecay, initialAccumulator, epsilon):
            return visitor.visit(try Recipes.adagrad(learningRate: lr, learningRateDecay: learningRateDecay, weightDecay: weightDecay,
                                                     initialAccumulator: initialAccumulator, epsilon: epsilon))
        case let .radam(beta1, beta2, epsilon, weightDecay, decoupled):
            return visitor.visit(try Recipes.radam(learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                   weightDecay: weightDecay, decoupledWeightDecay: decoupled))
        case let .nadam(beta1, beta2, epsilon, weightDecay, momentumDecay, decoupled):
            return visitor.visit(try Recipes.nadam(learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                                   weightDecay: weightDecay, momentumDecay: momentumDecay,
                                                   decoupledWeightDecay: decoupled))
        case let .lion(beta1, beta2, weightDecay):
            return visitor.visit(try Recipes.lion(learningRate: lr, beta1: beta1, beta2: beta2, weightDecay: weightDecay))
        case let .lamb(beta1, beta2, epsilon, weightDecay):
            return visitor.visit(try Recipes.lamb(learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay))
        }
    }
}

/// What to do with a step rule's statically typed chain (erase it, or fuse it with a neighbour).
protocol StepRuleVisitor {
    func visit<R: FusableTransform>(_ rule: R) -> AnyGradientTransform
}

private struct Erase: StepRuleVisitor {
    func visit<R: FusableTransform>(_ rule: R) -> AnyGradientTransform { AnyGradientTransform(rule) }
}

private struct Precede<B: FusableTransform>: StepRuleVisitor {
    let before: B
    func visit<R: FusableTransform>(_ rule: R) -> AnyGradientTransform { AnyGradientTransform(Fused(before, rule)) }
}

private struct Follow<A: FusableTransform>: StepRuleVisitor {
    let after: A
    func visit<R: FusableTransform>(_ rule: R) -> AnyGradientTransform { AnyGradientTransform(Fused(rule, after)) }
}
