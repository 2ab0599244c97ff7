import GraftTensor

/// A skip connection around a block of layers: `y = x + f(x)`, where `f` is the block
/// written in the builder (`Residual { LayerNorm(64); MultiHeadAttention(…) }`), so `f`
/// must return its input's shape.
///
/// Backward: `∂L/∂x = g + (∂f/∂x)ᵀ g`, the block's backward pass plus the identity path.
///
/// The block's children appear directly under the `Residual`'s own segment (its `name`, or
/// its index in the parent), exactly as if it were a `Sequential`: a `Residual("attention")
/// { … }` whose second child is named `"attention"` has paths `attention.attention.query.weight`.
public final class Residual: Layer {
    /// The path segment a parent `Sequential` uses for this block (`nil`: its index).
    public let name: String?
    /// `f`, the block the skip connection goes around.
    public let body: Sequential

    private var output = Tensor(zeros: [0])
    private var inputGradient = Tensor(zeros: [0])

    /// `x + f(x)` for the block `content` builds (see `SequentialBuilder`).
    /// - Throws: as `Sequential.init(_:_:)`.
    public init(_ name: String? = nil, @SequentialBuilder _ content: () throws -> [NamedLayer]) throws {
        self.name = name
        self.body = try Sequential(name, layers: content())
    }

    /// `x + f(x)`.
    public func forward(_ x: Tensor) throws -> Tensor {
        let fx = try body.forward(x)
        guard fx.shape == x.shape else {  // a skip connection needs equal shapes
            throw LayerError.shapeMismatch(layer: "Residual", argument: "block output", expected: x.shape, actual: fx.shape)
        }
        Workspace.prepare(&output, shape: x.shape)
        let n = x.count
        x.withUnsafeBufferPointer { xb in
            fx.withUnsafeBufferPointer { fb in
                output.withUnsafeMutableBufferPointer { yb in
                    for i in 0..<n { yb[i] = xb[i] + fb[i] }
                }
            }
        }
        return output
    }

    /// `g + (∂f/∂x)ᵀ g`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "Residual")
        let d = try body.backward(g)
        Workspace.prepare(&inputGradient, shape: g.shape)
        let n = g.count
        g.withUnsafeBufferPointer { gb in
            d.withUnsafeBufferPointer { db in
                inputGradient.withUnsafeMutableBufferPointer { out in
                    for i in 0..<n { out[i] = gb[i] + db[i] }
                }
            }
        }
        return inputGradient
    }

    /// The block's children with their segments (the block adds no segment of its own).
    public func forEachSublayer(_ body: (_ name: String, _ layer: any Layer) -> Void) {
        self.body.forEachSublayer(body)
    }

    /// Replaces a child of the block.
    public func replaceSublayer(named name: String, with layer: any Layer) -> Bool {
        body.replaceSublayer(named: name, with: layer)
    }
}
