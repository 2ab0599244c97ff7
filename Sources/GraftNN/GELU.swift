import GraftTensor

/// The Gaussian error linear unit in its tanh form (Hendrycks & Gimpel, 2016; PyTorch's
/// `GELU(approximate: "tanh")`), elementwise:
///
///     y = ½ x (1 + tanh u),   u = √(2/π) (x + 0.044715 x³)
///
/// Backward: with `t = tanh u`,
/// `∂y/∂x = ½ (1 + t) + ½ x (1 − t²) √(2/π) (1 + 3 · 0.044715 x²)`. The derivative is
/// computed in the forward pass, which already evaluates `tanh u`.
public final class GELU: Layer {
    private var output = Tensor(zeros: [0])
    private var derivative = Tensor(zeros: [0])
    private var inputGradient = Tensor(zeros: [0])

    /// `√(2/π)`.
    static let c: Float = 0.797_884_560_802_865_4
    /// The cubic coefficient of the tanh approximation.
    static let k: Float = 0.044_715

    /// A tanh-form GELU (no parameters).
    public init() {}

    /// `½ x (1 + tanh(√(2/π)(x + 0.044715 x³)))` for every element.
    public func forward(_ x: Tensor) -> Tensor {
        ElementwiseKernels.map(x, into: &output, derivative: &derivative) { v in
            let v2 = v * v
            let t = tanhFloat(GELU.c * (v + GELU.k * v2 * v))
            let value = 0.5 * v * (1 + t)
            let slope = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU.c * (1 + 3 * GELU.k * v2)
            return (value, slope)
        }
        return output
    }

    /// `g · ∂y/∂x`.
    public func backward(_ g: Tensor) -> Tensor {
        ElementwiseKernels.chain(g, derivative, into: &inputGradient) { $0 }
        return inputGradient
    }
}
