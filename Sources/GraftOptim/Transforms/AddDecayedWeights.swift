/// `u ← u + λ θ`: L2 weight decay.
///
/// Before a step rule it is PyTorch's coupled `weight_decay` (SGD, Adam: `g ← g + λθ`);
/// after Adam's scaling and before `ScaleByLearningRate` it is AdamW's decoupled decay
/// (`θ ← θ (1 − α λ)`, Loshchilov & Hutter, 2019).
public struct AddDecayedWeights: ElementwiseTransform {
    /// λ (scheduled).
    public let weightDecay: Schedule

    /// - Throws: `invalidHyperparameter` unless λ ≥ 0 and finite.
    public init(_ weightDecay: Schedule) throws {
        for t in [1, 2, 1_000] { try Check.nonNegative("weight_decay", weightDecay.value(at: t)) }
        if weightDecay.canBeNegative {
            throw OptimizerError.invalidHyperparameter(key: "weight_decay", value: "\(weightDecay)", allowed: "a schedule that stays ≥ 0")
        }
        self.weightDecay = weightDecay
    }

    public func makeTensorState(for parameter: ParameterInfo) -> EmptyState { EmptyState() }

    public func update(_ range: Range<Int>, _ u: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout EmptyState, step: StepInfo) {
        let lambda = weightDecay.value(at: step.step)
        guard lambda != 0, let values = slot.value.baseAddress else { return }
        let th = values + range.lowerBound
        for k in 0..<range.count { u[k] += lambda * th[k] }
    }
}
