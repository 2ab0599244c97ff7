import GraftTensor

/// A pre-LN transformer encoder block (as in ViT and GPT-2; Xiong et al., 2020) on
/// sequences `[batch, tokens, width]`:
///
///     h = x + Attention(LayerNorm₁(x))
///     y = h + W₂ GELU(W₁ LayerNorm₂(h) + b₁) + b₂
///
/// Built from two `Residual` branches, so its backward pass is theirs (each adds the
/// identity path to its branch's gradient). Paths: `norm1.weight`, `attention.query.weight`
/// … `attention.output.bias`, `norm2.weight`, `mlp.fc1.weight`, `mlp.fc2.bias` (the MLP is
/// a `Sequential` `fc1`, GELU, `fc2` of hidden width `mlpRatio · width`).
public final class TransformerBlock: Layer {
    /// The token width.
    public let width: Int
    /// LayerNorm before attention.
    public let norm1: LayerNorm
    /// Self-attention.
    public let attention: MultiHeadAttention
    /// LayerNorm before the MLP.
    public let norm2: LayerNorm
    /// `fc1` → GELU → `fc2`.
    public let mlp: Sequential

    private let attentionBranch: Residual
    private let mlpBranch: Residual
    /// The shape of the last output (`nil` before the first successful `forward`).
    private var lastOutputShape: [Int]?

    /// A block of `width` with `heads` heads and an MLP of hidden width `mlpRatio · width`,
    /// initialised from one generator seeded with `seed` (attention, then `fc1`, `fc2`).
    /// - Throws: `LayerError.invalidSize` for a non-positive width or ratio, or `heads` not
    ///   dividing `width`.
    public init(width: Int, heads: Int, mlpRatio: Int = 4, causal: Bool = false, seed: UInt64) throws {
        guard mlpRatio > 0 else { throw LayerError.invalidSize(layer: "TransformerBlock", argument: "mlpRatio", value: mlpRatio, expected: "> 0") }
        var generator = SeededGenerator(seed: seed)
        let norm1 = try LayerNorm(width), norm2 = try LayerNorm(width)
        let attention = try MultiHeadAttention(width: width, heads: heads, causal: causal, seed: generator.next())
        let mlp = try Sequential("mlp") {
            try Dense(width, mlpRatio * width, generator: &generator).named("fc1")
            GELU()
            try Dense(mlpRatio * width, width, generator: &generator).named("fc2")
        }
        self.width = width
        self.norm1 = norm1
        self.attention = attention
        self.norm2 = norm2
        self.mlp = mlp
        self.attentionBranch = try Residual {
            norm1.named("norm1")
            attention.named("attention")
        }
        self.mlpBranch = try Residual {
            norm2.named("norm2")
            mlp
        }
    }

    /// `h = x + Attention(LN₁ x)`, then `h + MLP(LN₂ h)`.
    /// Throws `LayerError.inputShapeMismatch` (naming `TransformerBlock`) unless `x` is
    /// `[batch, tokens, width]`.
    public func forward(_ x: Tensor) throws -> Tensor {
        lastOutputShape = nil  // set again once this pass has succeeded
        _ = try Workspace.sequenceShape(of: x, width: width, layer: "TransformerBlock")
        let y = try mlpBranch.forward(try attentionBranch.forward(x))
        lastOutputShape = y.shape
        return y
    }

    /// The two residual branches' backward passes, last first. Throws
    /// `LayerError.backwardBeforeForward` / `.gradientShapeMismatch` naming `TransformerBlock`.
    public func backward(_ g: Tensor) throws -> Tensor {
        guard let lastOutputShape else { throw LayerError.backwardBeforeForward(layer: "TransformerBlock") }
        guard g.shape == lastOutputShape else {
            throw LayerError.gradientShapeMismatch(layer: "TransformerBlock", expected: lastOutputShape, actual: g.shape)
        }
        return try attentionBranch.backward(try mlpBranch.backward(g))
    }

    /// `"norm1"`, `"attention"`, `"norm2"`, `"mlp"`.
    public func forEachSublayer(_ body: (_ name: String, _ layer: any Layer) -> Void) {
        attentionBranch.forEachSublayer(body)
        mlpBranch.forEachSublayer(body)
    }
}
