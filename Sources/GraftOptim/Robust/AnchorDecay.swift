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

    public var kind: String { "anchor_decay" }
    public var usesAnchors: Bool { true }

    @inlinable public func lanes(_ prepared: Void, tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        if !tensor.hasAnchor { return Lanes(factor: beta, anchor: nil) }
        return Lanes(factor: alpha, anchor: tensor.anchor)
    }

    /// `u + f (θ − θ0)` (θ0 = 0 for a zero anchor or no anchor).
    public struct Lanes: ElementLanes {
        @usableFromInline let factor: Float
        @usableFromInline let anchor: UnsafePointer<Float>?
        @inlinable init(factor: Float, anchor: UnsafePointer<Float>?) {
            self.factor = factor
            self.anchor = anchor
        }
        @inlinable @inline(__always) public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            if let anchor { u += factor * (theta - Lane.load(anchor, i)) } else { u += factor * theta }
        }
        @inlinable @inline(__always) public func apply(_ u: inout Float, theta: Float, at i: Int) {
            if let anchor { u += factor * (theta - anchor[i]) } else { u += factor * theta }
        }
    }
}
