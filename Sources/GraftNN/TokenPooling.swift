import GraftTensor

/// Reduces a sequence `[batch, tokens, width]` to one vector per sequence, `[batch, width]`:
/// the class token (`y[b] = x[b, 0, :]`, after `ClassToken`) or the mean over tokens
/// (`y[b] = (1/T) Σ_t x[b, t, :]`, global average pooling).
///
/// Backward: the class token's gradient goes to token 0 (zeros elsewhere); the mean spreads
/// `g[b] / T` to every token.
public final class TokenPooling: Layer {
    /// How the tokens are reduced.
    public enum Mode: Sendable, Equatable {
        /// The first token (the class token).
        case classToken
        /// The mean over all tokens.
        case mean
    }

    /// The reduction.
    public let mode: Mode
    /// The token width.
    public let width: Int

    private var output = Tensor(zeros: [0, 0])
    private var inputGradient = Tensor(zeros: [0, 0, 0])
    private var tokens = 0

    /// A pooling of `width`-wide tokens by `mode`.
    /// - Throws: `LayerError.invalidSize` unless `width > 0`.
    public init(_ mode: Mode, width: Int) throws {
        guard width > 0 else { throw LayerError.invalidSize(layer: "TokenPooling", argument: "width", value: width, expected: "> 0") }
        self.mode = mode
        self.width = width
    }

    /// The class token or the token mean of each sequence.
    public func forward(_ x: Tensor) throws -> Tensor {
        let (batch, t) = try Workspace.sequenceShape(of: x, width: width, layer: "TokenPooling")
        guard t > 0 else {  // a sequence needs at least one token
            throw LayerError.inputShapeMismatch(layer: "TokenPooling", expected: "[batch, tokens ≥ 1, \(width)]", actual: x.shape)
        }
        tokens = t
        Workspace.prepare(&output, rows: batch, columns: width)
        let d = width, block = t * width
        let mean = mode == .mean
        x.withUnsafeBufferPointer { xb in
            output.withUnsafeMutableBufferPointer { yb in
                for b in 0..<batch {
                    let xr = xb.baseAddress! + b * block, y = yb.baseAddress! + b * d
                    y.update(from: xr, count: d)
                    guard mean else { continue }
                    for s in 1..<t {
                        let row = xr + s * d
                        for j in 0..<d { y[j] += row[j] }
                    }
                    let scale = 1 / Float(t)
                    for j in 0..<d { y[j] *= scale }
                }
            }
        }
        return output
    }

    /// Scatters `g` back to the pooled tokens.
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "TokenPooling")
        let batch = output.shape[0], t = tokens, d = width, block = t * width
        Workspace.prepare(&inputGradient, shape: [batch, t, d])
        let mean = mode == .mean
        g.withUnsafeBufferPointer { gb in
            inputGradient.withUnsafeMutableBufferPointer { dx in
                for b in 0..<batch {
                    let gr = gb.baseAddress! + b * d, dr = dx.baseAddress! + b * block
                    if mean {
                        let scale = 1 / Float(t)
                        for s in 0..<t {
                            for j in 0..<d { dr[s * d + j] = gr[j] * scale }
                        }
                    } else {
                        dr.update(from: gr, count: d)
                        (dr + d).update(repeating: 0, count: block - d)
                    }
                }
            }
        }
        return inputGradient
    }
}
