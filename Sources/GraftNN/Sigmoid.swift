import GraftTensor

/// The logistic function `y = σ(x) = 1 / (1 + e^{−x})`, elementwise.
///
/// Evaluated without overflow: `1 / (1 + e^{−x})` for `x ≥ 0` and `e^{x} / (1 + e^{x})` for
/// `x < 0`, so `e` is only raised to non-positive powers. Backward: `∂L/∂x = g · y (1 − y)`,
/// from the cached output.
public final class Sigmoid: Layer {
    private var output = Tensor(zeros: [0])
    private var inputGradient = Tensor(zeros: [0])

    /// A logistic activation (no parameters).
    public init() {}

    /// `σ(x)` for every element.
    public func forward(_ x: Tensor) throws -> Tensor {
        ElementwiseKernels.map(x, into: &output, Logistic())
        return output
    }

    /// `g · y (1 − y)`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try ElementwiseKernels.chain(g, output, into: &inputGradient, layer: "Sigmoid", LogisticDerivative())
        return inputGradient
    }
}

/// `σ(x)`, raising `e` only to non-positive powers.
struct Logistic: ScalarFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        if x >= 0 {
            return 1 / (1 + expFloat(-x))
        } else {
            let e = expFloat(x)
            return e / (1 + e)
        }
    }
}

/// The logistic derivative from its output: `y (1 − y)`.
struct LogisticDerivative: ScalarFunction {
    @inline(__always) func callAsFunction(_ y: Float) -> Float { y * (1 - y) }
}
