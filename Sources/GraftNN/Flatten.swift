import GraftTensor

/// Reshapes a batch `[batch, d₁, …, d_k]` to `[batch, d₁ ⋯ d_k]` (row-major order is kept,
/// so no scalar moves), as PyTorch's `nn.Flatten()`.
///
/// Both passes reuse the incoming storage (a `Tensor` with a new shape shares the array), so
/// neither copies scalars. Backward reshapes the gradient back to the input's shape.
public final class Flatten: Layer {
    private var inputShape: [Int]? = nil

    /// A flattening layer (no parameters).
    public init() {}

    /// The input viewed as `[batch, features]`.
    public func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 1 else { throw LayerError.inputShapeMismatch(layer: "Flatten", expected: "[batch, …]", actual: x.shape) }
        inputShape = x.shape
        if x.rank == 2 { return x }
        let batch = x.shape[0]
        return Flatten.reshape(x, to: [batch, batch == 0 ? x.shape.dropFirst().reduce(1, *) : x.count / batch])
    }

    /// The gradient viewed with the last input's shape.
    public func backward(_ g: Tensor) throws -> Tensor {
        guard let inputShape else { throw LayerError.backwardBeforeForward(layer: "Flatten") }
        let outputShape = inputShape.count == 2 ? inputShape
            : [inputShape[0], inputShape[0] == 0 ? inputShape.dropFirst().reduce(1, *) : inputShape.reduce(1, *) / inputShape[0]]
        guard g.shape == outputShape else {
            throw LayerError.gradientShapeMismatch(layer: "Flatten", expected: outputShape, actual: g.shape)
        }
        if g.shape == inputShape { return g }
        return Flatten.reshape(g, to: inputShape)
    }

    private static func reshape(_ t: Tensor, to shape: [Int]) -> Tensor {
        do { return try t.reshaped(to: shape) } catch { preconditionFailureWithMessage("Flatten: \(error)") }
    }
}
