import GraftTensor

/// The leaky rectifier `y = x` for `x > 0` and `y = s · x` otherwise, elementwise.
///
/// Backward: `∂L/∂x = g · (x > 0 ? 1 : s)` (slope `s` at `x = 0`, as PyTorch). The derivative
/// is stored in the forward pass, so any finite slope works, including negative ones.
public final class LeakyReLU: Layer {
    /// The slope `s` for non-positive inputs.
    public let slope: Float
    private var output = Tensor(zeros: [0])
    private var derivative = Tensor(zeros: [0])
    private var inputGradient = Tensor(zeros: [0])

    /// A leaky rectifier with negative-side slope `slope` (PyTorch's default 0.01).
    /// - Throws: `LayerError.invalidHyperparameter` for a non-finite slope.
    public init(slope: Float = 0.01) throws {
        guard slope.isFinite else {
            throw LayerError.invalidHyperparameter(layer: "LeakyReLU", argument: "slope", value: slope, expected: "a finite number")
        }
        self.slope = slope
    }

    /// `x > 0 ? x : s · x` for every element.
    public func forward(_ x: Tensor) throws -> Tensor {
        ElementwiseKernels.map(x, into: &output, derivative: &derivative, LeakyRectifier(slope: slope))
        return output
    }

    /// `g · (x > 0 ? 1 : s)`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try ElementwiseKernels.chain(g, derivative, into: &inputGradient, layer: "LeakyReLU", IdentityFunction())
        return inputGradient
    }
}

/// `x > 0 ? (x, 1) : (s x, s)`.
struct LeakyRectifier: ScalarFunctionWithDerivative {
    let slope: Float
    @inline(__always) func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float) {
        x > 0 ? (x, 1) : (slope * x, slope)
    }
}
