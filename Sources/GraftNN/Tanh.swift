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
    public func forward(_ x: Tensor) throws -> Tensor {
        ElementwiseKernels.map(x, into: &output, HyperbolicTangent())
        return output
    }

    /// `g · (1 − y²)`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try ElementwiseKernels.chain(g, output, into: &inputGradient, layer: "Tanh", HyperbolicTangentDerivative())
        return inputGradient
    }
}

/// `tanh x` (the C library's `tanhf`, accurate to about an ulp).
struct HyperbolicTangent: ScalarFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { tanhFloat(x) }
}

/// The derivative of tanh from its output: `1 − y²`.
struct HyperbolicTangentDerivative: ScalarFunction {
    @inline(__always) func callAsFunction(_ y: Float) -> Float { 1 - y * y }
}
