import GraftTensor

/// Adagrad's scaling (Duchi et al., 2011) exactly as `torch.optim.Adagrad`:
/// `S ← S + g²` (with `S = S0` before the first step), `u ← g / (sqrt(S) + ε) / (1 + (t − 1) δ)`
/// with δ PyTorch's `lr_decay`. Follow it with `ScaleByLearningRate` for
/// `θ ← θ − α / (1 + (t − 1) δ) · g / (sqrt(S) + ε)`.
///
/// State per parameter: tensor `sum` (4 bytes per element). `S0`
/// (`initial_accumulator_value`) is added at the first step, so a fresh state is zeros like
/// every other state.
public struct ScaleByAdagrad: ElementwiseTransform {
    /// A copy of one parameter's accumulator (for inspection).
    public struct TensorState: Sendable, Equatable {
        /// The sum of squared gradients S (including S0 after the first step).
        public var sum: Tensor
    }

    /// δ, the decay of the step size with t (`lr_decay`).
    public let learningRateDecay: Float
    /// S0, the accumulator's starting value (`initial_accumulator_value`).
    public let initialAccumulator: Float
    /// ε, added to the root.
    public let epsilon: Float

    /// - Throws: unless δ ≥ 0, S0 ≥ 0 and ε > 0 (PyTorch's checks).
    public init(learningRateDecay: Float = 0, initialAccumulator: Float = 0, epsilon: Float = 1e-10) throws {
        try Check.nonNegative("lr_decay", learningRateDecay)
        try Check.nonNegative("initial_accumulator_value", initialAccumulator)
        try Check.positive("eps", epsilon)
        self.learningRateDecay = learningRateDecay
        self.initialAccumulator = initialAccumulator
        self.epsilon = epsilon
    }

    public var kind: String { "scale_by_adagrad" }
    public var configuration: [String: String] { ["initial_accumulator_value": "\(initialAccumulator)"] }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["sum"], of: parameter) }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(sum: state.copyTensor(0, shape: parameter.shape))
    }

    /// `(S0 to add, 1 / (1 + (t − 1) δ))` at step t (S0 only at t = 1).
    @inlinable public func prepare(_ step: StepInfo) -> (Float, Float) {
        (step.step == 1 ? initialAccumulator : 0, Float(1 / (1 + Double(step.step - 1) * Double(learningRateDecay))))
    }

    @inlinable public func lanes(_ prepared: (Float, Float), tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        Lanes(sum: state.tensor(0), start: prepared.0, decay: prepared.1, epsilon: epsilon, commit: commit)
    }

    /// The accumulation and scaling, eight lanes at a time.
    public struct Lanes: ElementLanes {
        @usableFromInline let sum: UnsafeMutablePointer<Float>
        @usableFromInline let start: Float, decay: Float, epsilon: Float
        @usableFromInline let commit: Bool

        @inlinable init(sum: UnsafeMutablePointer<Float>, start: Float, decay: Float, epsilon: Float, commit: Bool) {
            self.sum = sum
            self.start = start
            self.decay = decay
            self.epsilon = epsilon
            self.commit = commit
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            typealias V = SIMD8<Float>
            let g = u
            let s = (Lane.load(sum, i) + V(repeating: start)) + g * g
            if commit { Lane.store(s, sum, i) }
            u = g / (SIMDMath.squareRoot(s) + V(repeating: epsilon)) * V(repeating: decay)
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            let g = u
            let s = (sum[i] + start) + g * g
            if commit { sum[i] = s }
            u = g / (s.squareRoot() + epsilon) * decay
        }
    }
}
