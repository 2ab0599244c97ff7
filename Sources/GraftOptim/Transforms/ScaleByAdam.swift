import GraftTensor

/// Adam's moment scaling (Kingma & Ba, 2015) with PyTorch's epsilon placement and bias
/// correction, and optional AMSGrad (Reddi et al., 2018):
/// `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, `v̂ = max(v̂, v)` (AMSGrad),
/// `u ← (m / bc1) / (sqrt(v) / sqrt(bc2) + ε)` with `bc_k = 1 − β_k^t`.
/// Follow it with `ScaleByLearningRate` for `θ ← θ − (α / bc1) · m / denom`.
public struct ScaleByAdam: ElementwiseTransform {
    /// First and second moments (and the running maximum for AMSGrad).
    public struct TensorState: Codable, Sendable, Equatable {
        /// The first moment m.
        public var m: Tensor
        /// The second moment v.
        public var v: Tensor
        /// The running maximum of v (AMSGrad only).
        public var vMax: Tensor?
    }

    /// β1, the first-moment decay.
    public let beta1: Float
    /// β2, the second-moment decay.
    public let beta2: Float
    /// ε, added to the bias-corrected square root (PyTorch's placement).
    public let epsilon: Float
    /// Whether AMSGrad's running maximum of v is used.
    public let amsgrad: Bool

    /// - Throws: unless β1, β2 ∈ [0, 1) and ε > 0.
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, amsgrad: Bool = false) throws {
        try Check.beta("betas[0]", beta1)
        try Check.beta("betas[1]", beta2)
        try Check.positive("eps", epsilon)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
    }

    public func makeTensorState(for parameter: ParameterInfo) -> TensorState {
        TensorState(m: Tensor(zeros: parameter.shape), v: Tensor(zeros: parameter.shape),
                    vMax: amsgrad ? Tensor(zeros: parameter.shape) : nil)
    }

    /// `(1 / bc1, 1 / sqrt(bc2))` at step t, computed in Double as PyTorch does.
    @inlinable public func biasCorrections(step t: Int) -> (Float, Float) {
        let bc1 = 1 - pow(Double(beta1), Double(t))
        let bc2 = 1 - pow(Double(beta2), Double(t))
        return (Float(1 / bc1), Float(1 / bc2.squareRoot()))
    }

    public func update(_ range: Range<Int>, _ u: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        let (invBC1, invSqrtBC2) = biasCorrections(step: step.step)
        guard !range.isEmpty else { return }
        let lo = range.lowerBound
        let m = state.m.unsafeMutableStorage().baseAddress! + lo
        let v = state.v.unsafeMutableStorage().baseAddress! + lo
        let vm = amsgrad ? state.vMax!.unsafeMutableStorage().baseAddress! + lo : nil
        ScaleByAdam.kernel(u: u, m: m, v: v, vMax: vm, range: 0..<range.count, beta1: beta1, beta2: beta2, epsilon: epsilon,
                           invBC1: invBC1, invSqrtBC2: invSqrtBC2)
    }

    /// The moment update and scaling over `range`, eight lanes at a time (`sqrtps`).
    @inline(__always)
    static func kernel(u: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                       vMax: UnsafeMutablePointer<Float>?, range: Range<Int>, beta1: Float, beta2: Float, epsilon: Float,
                       invBC1: Float, invSqrtBC2: Float) {
        typealias V = SIMD8<Float>
        let b1 = V(repeating: beta1), b2 = V(repeating: beta2), c1 = V(repeating: 1 - beta1), c2 = V(repeating: 1 - beta2)
        let e = V(repeating: epsilon), i1 = V(repeating: invBC1), i2 = V(repeating: invSqrtBC2)
        var i = range.lowerBound
        let end = range.upperBound
        @inline(__always) func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> V { UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ x: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) { UnsafeMutableRawPointer(p + i).storeBytes(of: x, as: V.self) }
        if let vMax {
            while i + 8 <= end {
                let g = load(u, i)
                let mi = b1 * load(m, i) + c1 * g
                let vi = b2 * load(v, i) + c2 * g * g
                let vmi = pointwiseMax(load(vMax, i), vi)
                store(mi, m, i); store(vi, v, i); store(vmi, vMax, i)
                store((mi * i1) / (SIMDMath.squareRoot(vmi) * i2 + e), u, i)
                i += 8
            }
            while i < end {
                let g = u[i]
                let mi = beta1 * m[i] + (1 - beta1) * g
                let vi = beta2 * v[i] + (1 - beta2) * g * g
                let vmi = Swift.max(vMax[i], vi)
                m[i] = mi; v[i] = vi; vMax[i] = vmi
                u[i] = (mi * invBC1) / (vmi.squareRoot() * invSqrtBC2 + epsilon)
                i += 1
            }
        } else {
            while i + 8 <= end {
                let g = load(u, i)
                let mi = b1 * load(m, i) + c1 * g
                let vi = b2 * load(v, i) + c2 * g * g
                store(mi, m, i); store(vi, v, i)
                store((mi * i1) / (SIMDMath.squareRoot(vi) * i2 + e), u, i)
                i += 8
            }
            while i < end {
                let g = u[i]
                let mi = beta1 * m[i] + (1 - beta1) * g
                let vi = beta2 * v[i] + (1 - beta2) * g * g
                m[i] = mi; v[i] = vi
                u[i] = (mi * invBC1) / (vi.squareRoot() * invSqrtBC2 + epsilon)
                i += 1
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
