import GraftTensor

/// Reshapes a batch `[batch, d₁, …, d_k]` to `[batch, d₁ ⋯ d_k]` (row-major order is kept,
/// so no scalar moves), as PyTorch's `nn.Flatten()`.
///
/// Both passes reuse the incoming storage (a `Tensor` with a new shape shares the array), so
/// neither copies scalars. Backward reshapes the gradient back to the input's shape.
public final class Flatten: Layer {
    private var inputShape: [Int] = []

    /// A flattening layer (no parameters).
    public init() {}

    /// The input viewed as `[batch, features]`.
    public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1, "Flatten: expected a batch [batch, …], got a scalar")
        inputShape = x.shape
        if x.rank == 2 { return x }
        let batch = x.shape[0]
        return Flatten.reshape(x, to: [batch, batch == 0 ? x.shape.dropFirst().reduce(1, *) : x.count / batch])
    }

    /// The gradient viewed with the last input's shape.
    public func backward(_ g: Tensor) -> Tensor {
        precondition(g.count == inputShape.reduce(1, *) && g.rank == 2 && g.shape[0] == (inputShape.first ?? -1),
                     "Flatten: output gradient \(g.shape) does not match the last input \(inputShape) (call forward first)")
        if g.shape == inputShape { return g }
        return Flatten.reshape(g, to: inputShape)
    }

    private static func reshape(_ t: Tensor, to shape: [Int]) -> Tensor {
        do { return try t.reshaped(to: shape) } catch { preconditionFailure("Flatten: \(error)") }
    }
}
