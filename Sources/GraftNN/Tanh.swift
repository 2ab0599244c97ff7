import GraftTensor

/// The hyperbolic tangent `y = tanh x`, elementwise.
///
/// Backward: `∂L/∂x = g · (1 − y²)`, from the cached output.
public final class Tanh: Layer {
    private var output = Tensor(zeros: [0])
    private var inputGradient = Tensor(zeros: [0])

    /// A tanh activation (no parameters).
    public init() {}

    /// `tanh x` for every element.
    public func forward(_ x: Tensor) -> Tensor {
        ElementwiseKernels.map(x, into: &output) { tanhFloat($0) }
        return output
    }

    /// `g · (1 − y²)`.
    public func backward(_ g: Tensor) -> Tensor {
        ElementwiseKernels.chain(g, output, into: &inputGradient) { 1 - $0 * $0 }
        return inputGradient
    }
}
