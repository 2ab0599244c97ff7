import GraftTensor

/// Prepends one learned token to every sequence (BERT's `[CLS]`, ViT's class token):
/// `[batch, tokens, width] → [batch, tokens + 1, width]` with `y[b, 0, :] = c` and
/// `y[b, t + 1, :] = x[b, t, :]`.
///
/// `token` is `c ∈ ℝ^{width}`, initialised `N(0, 0.02²)`. Backward: `∂L/∂c += Σ_b g[b, 0, :]`
/// and `∂L/∂x = g[:, 1…, :]`. Pool it back out with `TokenPooling(.classToken)`.
public final class ClassToken: Layer {
    /// The token width.
    public let width: Int
    /// `c`, shape `[width]`, path segment `"token"`.
    public let token: Parameter

    private var output = Tensor(zeros: [0])  // no forward yet (see Workspace.checkGradient)
    private var inputGradient = Tensor(zeros: [0, 0, 0])

    /// A class token of `width`, drawn `N(0, 0.02²)` from `SeededGenerator(seed: seed)`.
    /// - Throws: `LayerError.invalidSize` unless `width > 0`.
    public init(width: Int, seed: UInt64) throws {
        guard width > 0 else { throw LayerError.invalidSize(layer: "ClassToken", argument: "width", value: width, expected: "> 0") }
        var generator = SeededGenerator(seed: seed)
        self.width = width
        self.token = Parameter(Tensor.randomNormal(shape: [width], standardDeviation: 0.02, generator: &generator))
    }

    /// `[c; x]` per sequence.
    public func forward(_ x: Tensor) throws -> Tensor {
        let (batch, tokens) = try Workspace.sequenceShape(of: x, width: width, layer: "ClassToken")
        Workspace.prepare(&output, shape: [batch, tokens + 1, width])
        let (d, inBlock, outBlock) = (width, tokens * width, (tokens + 1) * width)
        x.withUnsafeBufferPointer { xb in
            token.value.withUnsafeBufferPointer { cb in
                output.withUnsafeMutableBufferPointer { yb in
                    for b in 0..<batch {
                        let y = yb.baseAddress! + b * outBlock
                        y.update(from: cb.baseAddress!, count: d)
                        if inBlock > 0 { (y + d).update(from: xb.baseAddress! + b * inBlock, count: inBlock) }
                    }
                }
            }
        }
        return output
    }

    /// Adds `Σ_b g[b, 0, :]` to `∂L/∂c`; returns `g` without its first token.
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "ClassToken")
        let (batch, tokens) = (output.shape[0], output.shape[1] - 1)
        Workspace.prepare(&inputGradient, shape: [batch, tokens, width])
        let (d, inBlock, outBlock) = (width, tokens * width, (tokens + 1) * width)
        let trains = token.isTrainable
        g.withUnsafeBufferPointer { gb in
            inputGradient.withUnsafeMutableBufferPointer { dx in
                for b in 0..<batch where inBlock > 0 {
                    (dx.baseAddress! + b * inBlock).update(from: gb.baseAddress! + b * outBlock + d, count: inBlock)
                }
            }
            if trains {
                token.gradient.withUnsafeMutableBufferPointer { dc in
                    for b in 0..<batch {
                        let gr = gb.baseAddress! + b * outBlock
                        for j in 0..<d { dc[j] += gr[j] }
                    }
                }
            }
        }
        return inputGradient
    }

    /// `"token"`.
    public func forEachParameter(_ body: (_ name: String, _ parameter: Parameter) -> Void) {
        body("token", token)
    }
}
