import GraftTensor

/// Views each row of a batch with a new shape: `[batch, …] → [batch] + shape`, keeping the
/// row-major order of the scalars (PyTorch's `nn.Unflatten(1, shape)`); `Reshape([1, 16, 16])`
/// turns flattened 16×16 grey images `[batch, 256]` into the channels-first images
/// `[batch, 1, 16, 16]` that `Conv2d` takes (see `ImageLayout`). Neither pass copies scalars.
public final class Reshape: Layer {
    /// The shape of one example.
    public let shape: [Int]
    private var inputShape: [Int]?

    /// A reshape of each example to `shape`.
    /// - Throws: `LayerError.invalidSize` unless every dimension is positive.
    public init(_ shape: [Int]) throws {
        for (i, d) in shape.enumerated() where d <= 0 {
            throw LayerError.invalidSize(layer: "Reshape", argument: "shape[\(i)]", value: d, expected: "> 0")
        }
        self.shape = shape
    }

    /// The batch with each example viewed as `shape`.
    public func forward(_ x: Tensor) throws -> Tensor {
        let per = shape.reduce(1, *)
        guard x.rank >= 1 && (x.shape[0] == 0 || x.count / x.shape[0] == per) && x.count == x.shape[0] * per else {
            throw LayerError.inputShapeMismatch(layer: "Reshape", expected: "[batch, …] with \(per) scalars per item (viewed as [batch] + \(shape))",
                                                actual: x.shape)
        }
        inputShape = x.shape
        return Reshape.reshape(x, to: [x.shape[0]] + shape)
    }

    /// The gradient viewed with the last input's shape.
    public func backward(_ g: Tensor) throws -> Tensor {
        guard let inputShape else { throw LayerError.backwardBeforeForward(layer: "Reshape") }
        let outputShape = [inputShape[0]] + shape
        guard g.shape == outputShape else {
            throw LayerError.gradientShapeMismatch(layer: "Reshape", expected: outputShape, actual: g.shape)
        }
        return Reshape.reshape(g, to: inputShape)
    }

    static func reshape(_ t: Tensor, to shape: [Int]) -> Tensor {
        if t.shape == shape { return t }
        do { return try t.reshaped(to: shape) } catch { preconditionFailureWithMessage("Reshape: \(error)") }
    }
}
