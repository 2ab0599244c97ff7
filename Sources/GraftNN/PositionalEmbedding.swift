import GraftTensor

/// Learned absolute positional embeddings (BERT, ViT): `y[b, t, :] = x[b, t, :] + P[t, :]`
/// for a sequence `[batch, tokens, width]` whose token count is exactly `tokens`.
///
/// `weight` is `P ∈ ℝ^{tokens × width}`, initialised `N(0, 0.02²)` (as ViT's `pos_embed`).
/// Backward: `∂L/∂P += Σ_b g[b]` and `∂L/∂x = g`.
public final class PositionalEmbedding: Layer {
    /// The sequence length the table covers.
    public let tokens: Int
    /// The token width.
    public let width: Int
    /// `P`, shape `[tokens, width]`, path segment `"weight"`.
    public let weight: Parameter

    private var output = Tensor(zeros: [0])  // no forward yet (see Workspace.checkGradient)

    /// A table for `tokens` positions of `width`, drawn `N(0, 0.02²)` from `SeededGenerator(seed: seed)`.
    /// - Throws: `LayerError.invalidSize` unless both sizes are positive.
    public init(tokens: Int, width: Int, seed: UInt64) throws {
        guard tokens > 0 else { throw LayerError.invalidSize(layer: "PositionalEmbedding", argument: "tokens", value: tokens, expected: "> 0") }
        guard width > 0 else { throw LayerError.invalidSize(layer: "PositionalEmbedding", argument: "width", value: width, expected: "> 0") }
        var generator = SeededGenerator(seed: seed)
        self.tokens = tokens
        self.width = width
        self.weight = Parameter(Tensor.randomNormal(shape: [tokens, width], standardDeviation: 0.02, generator: &generator))
    }

    /// `x + P`, broadcast over the batch.
    public func forward(_ x: Tensor) throws -> Tensor {
        let (batch, t) = try Workspace.sequenceShape(of: x, width: width, layer: "PositionalEmbedding")
        guard t == tokens else {  // the table has `tokens` positions
            throw LayerError.inputShapeMismatch(layer: "PositionalEmbedding", expected: "[batch, \(tokens), \(width)]", actual: x.shape)
        }
        Workspace.prepare(&output, shape: x.shape)
        let block = tokens * width
        x.withUnsafeBufferPointer { xb in
            weight.value.withUnsafeBufferPointer { pb in
                output.withUnsafeMutableBufferPointer { yb in
                    for b in 0..<batch {
                        let xr = xb.baseAddress! + b * block, yr = yb.baseAddress! + b * block
                        for i in 0..<block { yr[i] = xr[i] + pb[i] }
                    }
                }
            }
        }
        return output
    }

    /// Adds `Σ_b g[b]` to `∂L/∂P`; returns `g`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "PositionalEmbedding")
        if weight.isTrainable {
            let block = tokens * width, batch = g.shape[0]
            g.withUnsafeBufferPointer { gb in
                weight.gradient.withUnsafeMutableBufferPointer { dp in
                    for b in 0..<batch {
                        let gr = gb.baseAddress! + b * block
                        for i in 0..<block { dp[i] += gr[i] }
                    }
                }
            }
        }
        return g
    }

    /// `"weight"`.
    public func forEachParameter(_ body: (_ name: String, _ parameter: Parameter) -> Void) {
        body("weight", weight)
    }
}
