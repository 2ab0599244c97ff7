import GraftTensor

/// The rectifier `y = max(0, x)`, elementwise.
///
/// Backward: `∂L/∂x = g · 1[y > 0]` (the subgradient 0 at `x = 0`, as PyTorch). The mask is
/// read from the cached output, so no copy of the input is kept.
public final class ReLU: Layer {
    private var output = Tensor(zeros: [0])
    private var inputGradient = Tensor(zeros: [0])

    /// A rectifier (no parameters).
    public init() {}

    /// `max(0, x)` for every element.
    public func forward(_ x: Tensor) throws -> Tensor {
        ElementwiseKernels.map(x, into: &output, Rectifier())
        return output
    }

    /// `g · 1[y > 0]`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try ElementwiseKernels.chain(g, output, into: &inputGradient, layer: "ReLU", RectifierDerivative())
        return inputGradient
    }
}

/// `max(0, x)`.
struct Rectifier: ScalarFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 }
}

/// The rectifier's derivative from its output: `1[y > 0]`.
struct RectifierDerivative: ScalarFunction {
    @inline(__always) func callAsFunction(_ y: Float) -> Float { y > 0 ? 1 : 0 }
}
