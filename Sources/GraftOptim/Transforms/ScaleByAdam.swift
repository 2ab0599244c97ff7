#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftTensor

/// Adam's moment scaling (Kingma & Ba, 2015) with PyTorch's epsilon placement and bias
/// correction, and optional AMSGrad (Reddi et al., 2018):
/// `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, `v̂ = max(v̂, v)` (AMSGrad),
/// `u ← (m / bc1) / (sqrt(v) / sqrt(bc2) + ε)` with `bc_k = 1 − β_k^t`.
/// Follow it with `ScaleByLearningRate` for `θ ← θ − (α / bc1) · m / denom`.
///
/// β1 and β2 may follow a `Schedule` (the `Schedule` initialiser): each step uses β_k(t) in the
/// moments and `bc_k = 1 − β_k(t)^t` in the bias corrections, as PyTorch's Adam does when a
/// scheduler changes `betas` (OneCycleLR's `cycle_momentum`) and optax's `inject_hyperparams`.
///
/// State per parameter: tensors `m`, `v` (and `v_max` with AMSGrad), 8 (12) bytes per element.
public struct ScaleByAdam: ElementwiseTransform {
    /// A copy of one parameter's moments (for inspection: `optimizer.state(of:for:as:)`).
    public struct TensorState: Sendable, Equatable {
        /// The first moment m.
        public var m: Tensor
        /// The second moment v.
        public var v: Tensor
        /// The running maximum of v (AMSGrad only).
        public var vMax: Tensor?
    }

    /// β1, the first-moment decay (its value at t = 1 when scheduled).
    public let beta1: Float
    /// β2, the second-moment decay (its value at t = 1 when scheduled).
    public let beta2: Float
    /// β1 as a function of the step (constant unless built with a schedule).
    public let beta1Schedule: Schedule
    /// β2 as a function of the step.
    public let beta2Schedule: Schedule
    /// ε, added to the bias-corrected square root (PyTorch's placement).
    public let epsilon: Float
    /// Whether AMSGrad's running maximum of v is used.
    public let amsgrad: Bool

    /// - Throws: unless β1, β2 ∈ [0, 1) and ε > 0.
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, amsgrad: Bool = false) throws {
        try self.init(beta1: Schedule.constant(beta1), beta2: Schedule.constant(beta2), epsilon: epsilon, amsgrad: amsgrad)
    }

    /// Adam with scheduled β1 and β2 (a float literal is a constant schedule).
    /// - Throws: unless β1(t), β2(t) ∈ [0, 1) at the sample steps (see `Schedule.custom`) and ε > 0.
    @_disfavoredOverload
    public init(beta1: Schedule, beta2: Schedule = 0.999, epsilon: Float = 1e-8, amsgrad: Bool = false) throws {
        try beta1.validate("betas[0]", Check.beta)
        try beta2.validate("betas[1]", Check.beta)
        try Check.positive("eps", epsilon)
        self.beta1Schedule = beta1
        self.beta2Schedule = beta2
        self.beta1 = beta1.value(at: 1)
        self.beta2 = beta2.value(at: 1)
        self.epsilon = epsilon
        self.amsgrad = amsgrad
    }

    public var kind: String { "scale_by_adam" }
    public var configuration: [String: String] {
        ["amsgrad": "\(amsgrad)"].recordingSchedules([("beta1", beta1Schedule), ("beta2", beta2Schedule)])
    }

    public func stateLayout(for parameter: ParameterInfo) -> StateLayout {
        .perElement(amsgrad ? ["m", "v", "v_max"] : ["m", "v"], of: parameter)
    }

    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(m: state.copyTensor(0, shape: parameter.shape), v: state.copyTensor(1, shape: parameter.shape),
                    vMax: amsgrad ? state.copyTensor(2, shape: parameter.shape) : nil)
    }

    /// `(1 / bc1, 1 / sqrt(bc2))` at step t, computed in Double as PyTorch does (with β_k(t)).
    @inlinable public func biasCorrections(step t: Int) -> (Float, Float) {
        let bc1 = 1 - pow(Double(beta1Schedule.value(at: t)), Double(t))
        let bc2 = 1 - pow(Double(beta2Schedule.value(at: t)), Double(t))
        return (Float(1 / bc1), Float(1 / bc2.squareRoot()))
    }

    /// The step's numbers: `1 / bc1`, `1 / sqrt(bc2)`, β1(t), β2(t) (schedules evaluated once per step).
    @inlinable public func prepare(_ step: StepInfo) -> (Float, Float, Float, Float) {
        let (c1, c2) = biasCorrections(step: step.step)
        return (c1, c2, beta1Schedule.value(at: step.step), beta2Schedule.value(at: step.step))
    }

    @inlinable public func lanes(_ prepared: (Float, Float, Float, Float), tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        Lanes(moments: AdamMoments(m: state.tensor(0), v: state.tensor(1), beta1: prepared.2, beta2: prepared.3, commit: commit),
              vMax: amsgrad ? state.tensor(2) : nil, epsilon: epsilon, invBC1: prepared.0, invSqrtBC2: prepared.1, commit: commit)
    }

    /// The moment update and scaling, eight lanes at a time (`sqrtps`).
    public struct Lanes: ElementLanes {
        @usableFromInline let moments: AdamMoments
        @usableFromInline let vMax: UnsafeMutablePointer<Float>?
        @usableFromInline let epsilon: Float, invBC1: Float, invSqrtBC2: Float
        @usableFromInline let commit: Bool

        @inlinable init(moments: AdamMoments, vMax: UnsafeMutablePointer<Float>?, epsilon: Float, invBC1: Float, invSqrtBC2: Float,
                        commit: Bool) {
            self.moments = moments
            self.vMax = vMax
            self.epsilon = epsilon
            self.invBC1 = invBC1
            self.invSqrtBC2 = invSqrtBC2
            self.commit = commit
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            typealias V = SIMD8<Float>
            let (mi, vi) = moments.update(u, at: i)
            var denominator = vi
            if let vMax {
                denominator = pointwiseMax(Lane.load(vMax, i), vi)
                if commit { Lane.store(denominator, vMax, i) }
            }
            u = (mi * V(repeating: invBC1)) / (SIMDMath.squareRoot(denominator) * V(repeating: invSqrtBC2) + V(repeating: epsilon))
        }

        @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool {
            guard vMax == nil else { return false }
            return chain.adam(m: moments.m, v: moments.v, beta1: moments.beta1, beta2: moments.beta2, epsilon: epsilon,
                              invBC1: invBC1, invSqrtBC2: invSqrtBC2, commit: commit)
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            let (mi, vi) = moments.update(u, at: i)
            var denominator = vi
            if let vMax {
                denominator = Swift.max(vMax[i], vi)
                if commit { vMax[i] = denominator }
            }
            u = (mi * invBC1) / (denominator.squareRoot() * invSqrtBC2 + epsilon)
        }
    }
}
