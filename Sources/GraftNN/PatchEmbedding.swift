import GraftTensor

/// Cuts images into non-overlapping `p × p` patches and projects each to a token (ViT's
/// patch embedding, Dosovitskiy et al., 2021): a `Conv2d` with kernel and stride `p`
/// (sublayer `"projection"`, weight `[width, C, p, p]` as timm's `patch_embed.proj`), whose
/// feature map `[batch, width, H/p, W/p]` is read out as the token sequence
/// `[batch, (H/p)(W/p), width]`, patches in row-major order:
///
///     token[b, i·(W/p) + j, d] = bias[d] + Σ_{c,u,v} W[d, c, u, v] · x[b, c, i·p + u, j·p + v]
///
/// Input: channels-first images `[batch, C, H, W]`, or the same scalars flattened
/// `[batch, C·H·W]` (see `ImageLayout`). Backward transposes `g` back to a feature map and
/// runs the convolution's backward pass.
public final class PatchEmbedding: Layer {
    /// Image channels `C`.
    public let channels: Int
    /// Image height `H` and width `W`.
    public let imageSize: (height: Int, width: Int)
    /// The patch side `p`.
    public let patchSize: Int
    /// The token width.
    public let width: Int
    /// The convolution with kernel and stride `p`.
    public let projection: Conv2d
    /// `(H/p)(W/p)`.
    public var tokenCount: Int { (imageSize.height / patchSize) * (imageSize.width / patchSize) }

    private var output = Tensor(zeros: [0])  // no forward yet (see Workspace.checkGradient)
    private var mapGradient = Tensor(zeros: [0, 0, 0, 0])
    private var inputShape: [Int] = []

    /// Patches of `patchSize` from `channels × height × width` images, projected to `width`
    /// (initialised like PyTorch's `nn.Conv2d` from `seed`).
    /// - Throws: `LayerError.invalidSize` for non-positive sizes or a patch size that does
    ///   not divide the image's height and width.
    public init(channels: Int, imageHeight height: Int, imageWidth: Int, patchSize: Int, width: Int, seed: UInt64) throws {
        for (name, value) in [("imageHeight", height), ("imageWidth", imageWidth), ("patchSize", patchSize)] where value <= 0 {
            throw LayerError.invalidSize(layer: "PatchEmbedding", argument: name, value: value, expected: "> 0")
        }
        guard height % patchSize == 0, imageWidth % patchSize == 0 else {
            throw LayerError.invalidSize(layer: "PatchEmbedding", argument: "patchSize", value: patchSize,
                                         expected: "a divisor of the image's \(height)×\(imageWidth)")
        }
        self.projection = try Conv2d(channels, width, kernelSize: patchSize, stride: patchSize, seed: seed)
        self.channels = channels
        self.imageSize = (height, imageWidth)
        self.patchSize = patchSize
        self.width = width
    }

    /// The patch tokens `[batch, (H/p)(W/p), width]`.
    public func forward(_ x: Tensor) throws -> Tensor {
        let (h, w) = imageSize
        let per = channels * h * w
        guard (x.rank == 2 && x.shape[1] == per) || (x.rank == 4 && Array(x.shape.dropFirst()) == [channels, h, w]) else {
            throw LayerError.inputShapeMismatch(layer: "PatchEmbedding", expected: "images [batch, \(channels), \(h), \(w)] or [batch, \(per)]",
                                                actual: x.shape)
        }
        inputShape = x.shape
        let map = try projection.forward(Reshape.reshape(x, to: [x.shape[0], channels, h, w]))
        let (batch, d, t) = (x.shape[0], width, tokenCount)
        Workspace.prepare(&output, shape: [batch, t, d])
        map.withUnsafeBufferPointer { mb in
            output.withUnsafeMutableBufferPointer { yb in
                for b in 0..<batch {
                    Transpose.copy(mb.baseAddress! + b * d * t, rows: d, columns: t, into: yb.baseAddress! + b * d * t)
                }
            }
        }
        return output
    }

    /// The convolution's backward pass on `g` transposed to `[batch, width, H/p, W/p]`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try transposeGradient(g)
        return Reshape.reshape(try projection.backward(mapGradient), to: inputShape)
    }

    /// As `backward`, without the input gradient (the images are data).
    public func accumulateParameterGradients(_ g: Tensor) throws {
        try transposeGradient(g)
        try projection.accumulateParameterGradients(mapGradient)
    }

    private func transposeGradient(_ g: Tensor) throws {
        try Workspace.checkGradient(g, matches: output, layer: "PatchEmbedding")
        let (batch, d, t) = (output.shape[0], width, tokenCount)
        Workspace.prepare(&mapGradient, shape: [batch, d, imageSize.height / patchSize, imageSize.width / patchSize])
        g.withUnsafeBufferPointer { gb in
            mapGradient.withUnsafeMutableBufferPointer { mb in
                for b in 0..<batch {
                    Transpose.copy(gb.baseAddress! + b * d * t, rows: t, columns: d, into: mb.baseAddress! + b * d * t)
                }
            }
        }
    }

    /// `"projection"`.
    public func forEachSublayer(_ body: (_ name: String, _ layer: any Layer) -> Void) {
        body("projection", projection)
    }
}

/// Out-of-place transposes of row-major matrices.
enum Transpose {
    /// `destination[j, i] = source[i, j]` for a `rows × columns` source.
    static func copy(_ source: UnsafePointer<Float>, rows: Int, columns: Int, into destination: UnsafeMutablePointer<Float>) {
        for i in 0..<rows {
            let row = source + i * columns
            for j in 0..<columns { destination[j * rows + i] = row[j] }
        }
    }
}
