#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftTensor

/// RAdam's rectified moment scaling (Liu et al., 2020) exactly as `torch.optim.RAdam`:
/// `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, `ρ∞ = 2 / (1 − β2) − 1`,
/// `ρ_t = ρ∞ − 2 t β2^t / (1 − β2^t)`; if `ρ_t > 5`:
/// `r_t = sqrt((ρ_t − 4)(ρ_t − 2) ρ∞ / ((ρ∞ − 4)(ρ∞ − 2) ρ_t))` and
/// `u ← (m / bc1) · r_t · sqrt(bc2) / (sqrt(v) + ε)`, else `u ← m / bc1` (SGD with momentum
/// while the variance estimate is unreliable), `bc_k = 1 − β_k^t`.
/// Follow it with `ScaleByLearningRate`.
///
/// β1 and β2 may follow a `Schedule` (the `Schedule` initialiser): step t then uses β_k(t) in
/// the moments, the bias corrections and ρ, as PyTorch's RAdam does with the `betas` a scheduler
/// set.
///
/// State per parameter: tensors `m`, `v` (8 bytes per element).
public struct ScaleByRAdam: ElementwiseTransform {
    /// A copy of one parameter's moments (for inspection).
    public struct TensorState: Sendable, Equatable {
        /// The first moment m.
        public var m: Tensor
        /// The second moment v.
        public var v: Tensor
    }

    /// β1, the first-moment decay (its value at t = 1 when scheduled).
    public let beta1: Float
    /// β2, the second-moment decay (its value at t = 1 when scheduled).
    public let beta2: Float
    /// β1 as a function of the step.
    public let beta1Schedule: Schedule
    /// β2 as a function of the step.
    public let beta2Schedule: Schedule
    /// ε, added to sqrt(v) (PyTorch's RAdam placement: before the bias correction).
    public let epsilon: Float

    /// - Throws: unless β1, β2 ∈ [0, 1) and ε > 0.
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) throws {
        try self.init(beta1: Schedule.constant(beta1), beta2: Schedule.constant(beta2), epsilon: epsilon)
    }

    /// RAdam with scheduled β1 and β2 (a float literal is a constant schedule).
    /// - Throws: unless β1(t), β2(t) ∈ [0, 1) at the sample steps and ε > 0.
    @_disfavoredOverload
    public init(beta1: Schedule, beta2: Schedule = 0.999, epsilon: Float = 1e-8) throws {
        try beta1.validate("betas[0]", Check.beta)
        try beta2.validate("betas[1]", Check.beta)
        try Check.positive("eps", epsilon)
        beta1Schedule = beta1
        beta2Schedule = beta2
        self.beta1 = beta1.value(at: 1)
        self.beta2 = beta2.value(at: 1)
        self.epsilon = epsilon
    }

    public var kind: String { "scale_by_radam" }
    public var configuration: [String: String] { [:].recordingSchedules([("beta1", beta1Schedule), ("beta2", beta2Schedule)]) }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["m", "v"], of: parameter) }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(m: state.copyTensor(0, shape: parameter.shape), v: state.copyTensor(1, shape: parameter.shape))
    }

    /// The numbers of step t: `1 / bc1`, whether the step is rectified, and `r_t sqrt(bc2)`
    /// (computed in Double as PyTorch does in Python floats).
    public struct Prepared: Sendable {
        /// 1 / (1 − β1^t).
        public let invBC1: Float
        /// Whether ρ_t > 5.
        public let rectified: Bool
        /// r_t · sqrt(1 − β2^t) (unused when not rectified).
        public let scale: Float
        /// β1(t) and β2(t).
        public let beta1: Float, beta2: Float

        @inlinable init(invBC1: Float, rectified: Bool, scale: Float, beta1: Float, beta2: Float) {
            self.invBC1 = invBC1
            self.rectified = rectified
            self.scale = scale
            self.beta1 = beta1
            self.beta2 = beta2
        }
    }

    /// The step's numbers (see `Prepared`).
    @inlinable public func prepare(_ step: StepInfo) -> Prepared {
        let beta1 = beta1Schedule.value(at: step.step), beta2 = beta2Schedule.value(at: step.step)
        let t = Double(step.step), b1 = Double(beta1), b2 = Double(beta2)
        let bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t)
        let rhoInf = 2 / (1 - b2) - 1
        let rho = rhoInf - 2 * t * pow(b2, t) / bc2
        guard rho > 5 else { return Prepared(invBC1: Float(1 / bc1), rectified: false, scale: 0, beta1: beta1, beta2: beta2) }
        let rect = ((rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho)).squareRoot()
        return Prepared(invBC1: Float(1 / bc1), rectified: true, scale: Float(rect * bc2.squareRoot()), beta1: beta1, beta2: beta2)
    }

    @inlinable public func lanes(_ p: Prepared, tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        Lanes(moments: AdamMoments(m: state.tensor(0), v: state.tensor(1), beta1: p.beta1, beta2: p.beta2, commit: commit),
              epsilon: epsilon, invBC1: p.invBC1, rectified: p.rectified, scale: p.scale)
    }

    /// The moments and the (rectified) scaling, eight lanes at a time.
    public struct Lanes: ElementLanes {
        @usableFromInline let moments: AdamMoments
        @usableFromInline let epsilon: Float, invBC1: Float, scale: Float
        @usableFromInline let rectified: Bool

        @inlinable init(moments: AdamMoments, epsilon: Float, invBC1: Float, rectified: Bool, scale: Float) {
            self.moments = moments
            self.epsilon = epsilon
            self.invBC1 = invBC1
            self.rectified = rectified
            self.scale = scale
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            typealias V = SIMD8<Float>
            let (mi, vi) = moments.update(u, at: i)
            let corrected = mi * V(repeating: invBC1)
            u = rectified ? corrected * (V(repeating: scale) / (SIMDMath.squareRoot(vi) + V(repeating: epsilon))) : corrected
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            let (mi, vi) = moments.update(u, at: i)
            let corrected = mi * invBC1
            u = rectified ? corrected * (scale / (vi.squareRoot() + epsilon)) : corrected
        }
    }
}
