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
    public func forward(_ x: Tensor) -> Tensor {
        ElementwiseKernels.map(x, into: &output) { v in
            if v >= 0 {
                return 1 / (1 + expFloat(-v))
            } else {
                let e = expFloat(v)
                return e / (1 + e)
            }
        }
        return output
    }

    /// `g · y (1 − y)`.
    public func backward(_ g: Tensor) -> Tensor {
        ElementwiseKernels.chain(g, output, into: &inputGradient) { $0 * (1 - $0) }
        return inputGradient
    }
}
