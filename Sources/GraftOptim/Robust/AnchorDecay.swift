/// L2-SP's regulariser gradient (Li, Grandvalet & Davoine, ICML 2018, "Explicit Inductive
/// Bias for Transfer Learning with Convolutional Networks"): anchored parameters are pulled
/// toward their anchor, `u ← u + α (θ − θ0)`; parameters without an anchor (a new head)
/// are decayed toward zero, `u ← u + β θ`. Place it before a step rule:
/// `AnchorDecay → (SGD | Adam) → ScaleByLearningRate` is L2-SP with that step rule.
public struct AnchorDecay: ElementwiseTransform {
    /// α: the pull toward θ0 on anchored parameters.
    public let alpha: Float
    /// β: the L2 decay on parameters without an anchor.
    public let beta: Float

    /// - Throws: unless α, β ≥ 0 and finite.
    public init(alpha: Float, beta: Float = 0) throws {
        try Check.nonNegative("alpha", alpha)
        try Check.nonNegative("beta", beta)
        self.alpha = alpha
        self.beta = beta
    }

    public var usesAnchors: Bool { true }
    public func makeTensorState(for parameter: ParameterInfo) -> EmptyState { EmptyState() }

    public func update(_ range: Range<Int>, _ u: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout EmptyState, step: StepInfo) {
        guard let values = slot.value.baseAddress else { return }
        let th = values + range.lowerBound, n = range.count
        if !slot.hasAnchor {
            let b = beta
            if b != 0 { for k in 0..<n { u[k] += b * th[k] } }
            return
        }
        let a = alpha
        guard a != 0 else { return }
        if let anchors = slot.anchorValues?.baseAddress {
            let anchor = anchors + range.lowerBound
            for k in 0..<n { u[k] += a * (th[k] - anchor[k]) }
        } else {
            for k in 0..<n { u[k] += a * th[k] }
        }
    }
}
