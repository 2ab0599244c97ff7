/// L2-SP's regulariser gradient (Li, Grandvalet & Davoine, ICML 2018, "Explicit Inductive
/// Bias for Transfer Learning with Convolutional Networks"): anchored parameters are pulled
/// toward their anchor, `u ← u + α (θ − θ0)`; parameters without an anchor (a new head)
/// are decayed toward zero, `u ← u + β θ`. Place it before a step rule:
/// `AnchorDecay → (SGD | Adam) → ScaleByLearningRate` is L2-SP with that step rule.
/// α and β may follow a `Schedule` (the `Schedule` initialiser), evaluated once per step.
public struct AnchorDecay: ElementwiseTransform {
    /// α: the pull toward θ0 on anchored parameters (its value at t = 1 when scheduled).
    public let alpha: Float
    /// β: the L2 decay on parameters without an anchor (its value at t = 1 when scheduled).
    public let beta: Float
    /// α as a function of the step.
    public let alphaSchedule: Schedule
    /// β as a function of the step.
    public let betaSchedule: Schedule

    /// - Throws: unless α, β ≥ 0 and finite.
    public init(alpha: Float, beta: Float = 0) throws {
        try self.init(alpha: Schedule.constant(alpha), beta: Schedule.constant(beta))
    }

    /// L2-SP with scheduled strengths (a float literal is a constant schedule).
    /// - Throws: unless α(t), β(t) ≥ 0 at the sample steps.
    @_disfavoredOverload
    public init(alpha: Schedule, beta: Schedule = 0) throws {
        try alpha.validate("alpha", Check.nonNegative)
        try beta.validate("beta", Check.nonNegative)
        alphaSchedule = alpha
        betaSchedule = beta
        self.alpha = alpha.value(at: 1)
        self.beta = beta.value(at: 1)
    }

    public var kind: String { "anchor_decay" }
    public var configuration: [String: String] { [:].recordingSchedules([("alpha", alphaSchedule), ("beta", betaSchedule)]) }
    public var usesAnchors: Bool { true }

    /// α(t) and β(t).
    @inlinable public func prepare(_ step: StepInfo) -> (Float, Float) {
        (alphaSchedule.value(at: step.step), betaSchedule.value(at: step.step))
    }

    @inlinable public func lanes(_ prepared: (Float, Float), tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        if !tensor.hasAnchor { return Lanes(factor: prepared.1, anchor: nil) }
        return Lanes(factor: prepared.0, anchor: tensor.anchor)
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
        @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool {
            if let anchor { return chain.addAnchorDecay(factor, anchor: anchor) }
            return chain.addDecay(factor)
        }
    }
}
