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

    public var kind: String { "scale_by_learning_rate" }
    public var configuration: [String: String] { [:].recordingSchedules([("lr", learningRate)]) }

    @inlinable public func prepare(_ step: StepInfo) -> Float { -learningRate.value(at: step.step) * step.learningRateScale }
    @inlinable public func lanes(_ prepared: Float, tensor: KernelTensor, state: StateView, commit: Bool) -> ScaleLanes {
        ScaleLanes(factor: prepared)
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

    public var kind: String { "scale" }
    @inlinable public func lanes(_ prepared: Void, tensor: KernelTensor, state: StateView, commit: Bool) -> ScaleLanes {
        ScaleLanes(factor: factor)
    }
}

/// Lanes that multiply the update by a factor.
public struct ScaleLanes: ElementLanes {
    @usableFromInline let factor: Float
    @inlinable init(factor: Float) { self.factor = factor }
    @inlinable @inline(__always) public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) { u *= factor }
    @inlinable @inline(__always) public func apply(_ u: inout Float, theta: Float, at i: Int) { u *= factor }
    @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool { chain.scale(factor) }
    @inlinable public var nativeFactor: Float? { factor }
}
