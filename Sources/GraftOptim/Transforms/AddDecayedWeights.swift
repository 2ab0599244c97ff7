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

    public var kind: String { "add_decayed_weights" }
    public var configuration: [String: String] { [:].recordingSchedules([("weight_decay", weightDecay)]) }
    @inlinable public func prepare(_ step: StepInfo) -> Float { weightDecay.value(at: step.step) }
    @inlinable public func lanes(_ lambda: Float, tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes { Lanes(lambda: lambda) }

    /// `u + λ θ`.
    public struct Lanes: ElementLanes {
        @usableFromInline let lambda: Float
        @inlinable init(lambda: Float) { self.lambda = lambda }
        @inlinable @inline(__always) public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) { u += lambda * theta }
        @inlinable @inline(__always) public func apply(_ u: inout Float, theta: Float, at i: Int) { u += lambda * theta }
        @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool { chain.addDecay(lambda) }
    }
}
