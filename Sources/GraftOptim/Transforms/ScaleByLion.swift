import GraftTensor

/// Lion's sign update (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"), as
/// optax's `scale_by_lion`: `c = β1 m + (1 − β1) g`, `u ← sign(c)` (sign(0) = 0),
/// `m ← β2 m + (1 − β2) g`. Follow it with `AddDecayedWeights` (decoupled decay) and
/// `ScaleByLearningRate` for `θ ← θ − α (sign(c) + λ θ)`.
///
/// β1 and β2 may follow a `Schedule` (the `Schedule` initialiser), evaluated once per step.
///
/// State per parameter: tensor `m` (4 bytes per element: half of Adam's).
public struct ScaleByLion: ElementwiseTransform {
    /// A copy of one parameter's momentum (for inspection).
    public struct TensorState: Sendable, Equatable {
        /// The momentum m.
        public var m: Tensor
    }

    /// β1, the interpolation of the update direction (its value at t = 1 when scheduled).
    public let beta1: Float
    /// β2, the decay of the momentum (its value at t = 1 when scheduled).
    public let beta2: Float
    /// β1 as a function of the step.
    public let beta1Schedule: Schedule
    /// β2 as a function of the step.
    public let beta2Schedule: Schedule

    /// - Throws: unless β1, β2 ∈ [0, 1).
    public init(beta1: Float = 0.9, beta2: Float = 0.99) throws {
        try self.init(beta1: Schedule.constant(beta1), beta2: Schedule.constant(beta2))
    }

    /// Lion with scheduled β1 and β2 (a float literal is a constant schedule).
    /// - Throws: unless β1(t), β2(t) ∈ [0, 1) at the sample steps.
    @_disfavoredOverload
    public init(beta1: Schedule, beta2: Schedule = 0.99) throws {
        try beta1.validate("betas[0]", Check.beta)
        try beta2.validate("betas[1]", Check.beta)
        beta1Schedule = beta1
        beta2Schedule = beta2
        self.beta1 = beta1.value(at: 1)
        self.beta2 = beta2.value(at: 1)
    }

    public var kind: String { "scale_by_lion" }
    public var configuration: [String: String] { [:].recordingSchedules([("beta1", beta1Schedule), ("beta2", beta2Schedule)]) }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["m"], of: parameter) }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(m: state.copyTensor(0, shape: parameter.shape))
    }

    /// β1(t) and β2(t).
    @inlinable public func prepare(_ step: StepInfo) -> (Float, Float) {
        (beta1Schedule.value(at: step.step), beta2Schedule.value(at: step.step))
    }

    @inlinable public func lanes(_ prepared: (Float, Float), tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        Lanes(m: state.tensor(0), beta1: prepared.0, beta2: prepared.1, commit: commit)
    }

    /// The interpolation, sign and momentum update, eight lanes at a time.
    public struct Lanes: ElementLanes {
        @usableFromInline let m: UnsafeMutablePointer<Float>
        @usableFromInline let beta1: Float, beta2: Float
        @usableFromInline let commit: Bool

        @inlinable init(m: UnsafeMutablePointer<Float>, beta1: Float, beta2: Float, commit: Bool) {
            self.m = m
            self.beta1 = beta1
            self.beta2 = beta2
            self.commit = commit
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            typealias V = SIMD8<Float>
            let g = u, m0 = Lane.load(m, i)
            let c = V(repeating: beta1) * m0 + V(repeating: 1 - beta1) * g
            if commit { Lane.store(V(repeating: beta2) * m0 + V(repeating: 1 - beta2) * g, m, i) }
            u = V().replacing(with: 1, where: c .> 0).replacing(with: -1, where: c .< 0)
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            let g = u, m0 = m[i]
            let c = beta1 * m0 + (1 - beta1) * g
            if commit { m[i] = beta2 * m0 + (1 - beta2) * g }
            u = c > 0 ? 1 : (c < 0 ? -1 : 0)
        }
    }
}
