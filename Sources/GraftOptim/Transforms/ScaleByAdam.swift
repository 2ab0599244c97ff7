import GraftTensor

/// Adam's moment scaling (Kingma & Ba, 2015) with PyTorch's epsilon placement and bias
/// correction, and optional AMSGrad (Reddi et al., 2018):
/// `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, `v̂ = max(v̂, v)` (AMSGrad),
/// `u ← (m / bc1) / (sqrt(v) / sqrt(bc2) + ε)` with `bc_k = 1 − β_k^t`.
/// Follow it with `ScaleByLearningRate` for `θ ← θ − (α / bc1) · m / denom`.
public struct ScaleByAdam: TensorTransform {
    /// First and second moments (and the running maximum for AMSGrad).
    public struct TensorState: Codable, Sendable, Equatable {
        public var m: Tensor
        public var v: Tensor
        public var vMax: Tensor?
    }

    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
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

    public func update(_ slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        let (invBC1, invSqrtBC2) = biasCorrections(step: step.step)
        let b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2, eps = epsilon
        let u = slot.update.baseAddress!
        let m = state.m.unsafeMutableStorage().baseAddress!
        let v = state.v.unsafeMutableStorage().baseAddress!
        if amsgrad {
            let vm = state.vMax!.unsafeMutableStorage().baseAddress!
            slot.forChunks { r in
                for i in r {
                    let g = u[i]
                    let mi = b1 * m[i] + c1 * g
                    let vi = b2 * v[i] + c2 * g * g
                    let vmi = Swift.max(vm[i], vi)
                    m[i] = mi; v[i] = vi; vm[i] = vmi
                    u[i] = (mi * invBC1) / (vmi.squareRoot() * invSqrtBC2 + eps)
                }
            }
        } else {
            slot.forChunks { r in
                for i in r {
                    let g = u[i]
                    let mi = b1 * m[i] + c1 * g
                    let vi = b2 * v[i] + c2 * g * g
                    m[i] = mi; v[i] = vi
                    u[i] = (mi * invBC1) / (vi.squareRoot() * invSqrtBC2 + eps)
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
