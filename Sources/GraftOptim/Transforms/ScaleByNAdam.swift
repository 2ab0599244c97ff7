#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftTensor

/// NAdam's Nesterov-accelerated moment scaling (Dozat, 2016) exactly as `torch.optim.NAdam`,
/// with its momentum schedule `μ_t = β1 (1 − ½ · 0.96^(t ψ))` (ψ = `momentum_decay`):
/// `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, `d = sqrt(v / (1 − β2^t)) + ε`,
/// `u ← (1 − μ_t) / (1 − Π_{s≤t} μ_s) · g / d + μ_{t+1} / (1 − Π_{s≤t+1} μ_s) · m / d`.
/// Follow it with `ScaleByLearningRate`.
///
/// State per parameter: tensors `m`, `v` (8 bytes per element). PyTorch's `mu_product` is
/// a function of t and is recomputed from the step count in `prepare` (the product stops
/// once it is below 1e-30, where `1 − Π` is 1 in any precision), so it needs no state.
public struct ScaleByNAdam: ElementwiseTransform {
    /// A copy of one parameter's moments (for inspection).
    public struct TensorState: Sendable, Equatable {
        /// The first moment m.
        public var m: Tensor
        /// The second moment v.
        public var v: Tensor
    }

    /// β1, the first-moment decay.
    public let beta1: Float
    /// β2, the second-moment decay.
    public let beta2: Float
    /// ε, added to the bias-corrected root.
    public let epsilon: Float
    /// ψ, PyTorch's `momentum_decay` (0.004).
    public let momentumDecay: Float

    /// - Throws: unless β1, β2 ∈ [0, 1), ε > 0 and ψ ≥ 0.
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, momentumDecay: Float = 4e-3) throws {
        try Check.beta("betas[0]", beta1)
        try Check.beta("betas[1]", beta2)
        try Check.positive("eps", epsilon)
        try Check.nonNegative("momentum_decay", momentumDecay)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.momentumDecay = momentumDecay
    }

    public var kind: String { "scale_by_nadam" }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(["m", "v"], of: parameter) }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(m: state.copyTensor(0, shape: parameter.shape), v: state.copyTensor(1, shape: parameter.shape))
    }

    /// μ_t = β1 (1 − ½ · 0.96^(t ψ)).
    @inlinable public func mu(_ t: Int) -> Double {
        Double(beta1) * (1 - 0.5 * pow(0.96, Double(t) * Double(momentumDecay)))
    }

    /// Π_{s ≤ t} μ_s (0 once below 1e-30).
    @inlinable public func muProduct(_ t: Int) -> Double {
        var p = 1.0
        var s = 1
        while s <= t {
            p *= mu(s)
            if p < 1e-30 { return 0 }
            s += 1
        }
        return p
    }

    /// `(c_g, c_m, 1 / (1 − β2^t))` at step t: the coefficients of g / d and m / d.
    @inlinable public func prepare(_ step: StepInfo) -> (Float, Float, Float) {
        let t = step.step
        let muT = mu(t), muNext = mu(t + 1)
        let product = muProduct(t)
        let bc2 = 1 - pow(Double(beta2), Double(t))
        return (Float((1 - muT) / (1 - product)), Float(muNext / (1 - product * muNext)), Float(1 / bc2))
    }

    @inlinable public func lanes(_ p: (Float, Float, Float), tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        Lanes(moments: AdamMoments(m: state.tensor(0), v: state.tensor(1), beta1: beta1, beta2: beta2, commit: commit),
              epsilon: epsilon, cg: p.0, cm: p.1, invBC2: p.2)
    }

    /// The moments and the Nesterov combination, eight lanes at a time.
    public struct Lanes: ElementLanes {
        @usableFromInline let moments: AdamMoments
        @usableFromInline let epsilon: Float, cg: Float, cm: Float, invBC2: Float

        @inlinable init(moments: AdamMoments, epsilon: Float, cg: Float, cm: Float, invBC2: Float) {
            self.moments = moments
            self.epsilon = epsilon
            self.cg = cg
            self.cm = cm
            self.invBC2 = invBC2
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            typealias V = SIMD8<Float>
            let g = u
            let (mi, vi) = moments.update(g, at: i)
            let d = SIMDMath.squareRoot(vi * V(repeating: invBC2)) + V(repeating: epsilon)
            u = (V(repeating: cg) * g + V(repeating: cm) * mi) / d
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            let g = u
            let (mi, vi) = moments.update(g, at: i)
            let d = (vi * invBC2).squareRoot() + epsilon
            u = (cg * g + cm * mi) / d
        }
    }
}
