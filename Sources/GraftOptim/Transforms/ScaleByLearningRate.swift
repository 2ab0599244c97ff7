/// `u ← −α_t · s · u`, with `α_t` the (scheduled) learning rate and `s` the step's
/// learning-rate scale. The last member of every step-rule chain, and the only place where
/// the sign flips from "gradient-like" to "update" (θ ← θ + u).
public struct ScaleByLearningRate: ElementwiseTransform {
    /// The learning rate schedule α_t.
    public let learningRate: Schedule

    /// - Throws: `invalidHyperparameter` for a negative or non-finite learning rate.
    public init(_ learningRate: Schedule) throws {
        if case let .constant(v) = learningRate.kind { try Check.nonNegative("lr", v) }
        for t in [1, 2, 1_000] { try Check.nonNegative("lr(t=\(t))", learningRate.value(at: t)) }
        if learningRate.canBeNegative {
            throw OptimizerError.invalidHyperparameter(key: "lr", value: "\(learningRate)", allowed: "a schedule that stays ≥ 0")
        }
        self.learningRate = learningRate
    }

    public func makeTensorState(for parameter: ParameterInfo) -> EmptyState { EmptyState() }

    public func update(_ range: Range<Int>, _ u: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout EmptyState, step: StepInfo) {
        let factor = -learningRate.value(at: step.step) * step.learningRateScale
        for k in 0..<range.count { u[k] *= factor }
    }
}

/// `u ← factor · u` with a fixed factor (no sign flip: use `ScaleByLearningRate` for that).
public struct Scale: ElementwiseTransform {
    /// The factor.
    public let factor: Float

    /// - Throws: `invalidHyperparameter` for a non-finite factor.
    public init(_ factor: Float) throws {
        try Check.finite("scale", factor)
        self.factor = factor
    }

    public func makeTensorState(for parameter: ParameterInfo) -> EmptyState { EmptyState() }

    public func update(_ range: Range<Int>, _ u: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout EmptyState, step: StepInfo) {
        let f = factor
        for k in 0..<range.count { u[k] *= f }
    }
}
