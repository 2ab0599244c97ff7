import GraftTensor

/// Average pooling over `k × k` windows moved by `s` (PyTorch's `nn.AvgPool2d(k, s)`, no
/// padding) on channels-first images `[batch, C, H, W] → [batch, C, H′, W′]`,
/// `H′ = ⌊(H − k)/s⌋ + 1` (see `ImageLayout`):
/// `y[i, j] = (1/k²) Σ_{u, v} x[i·s + u, j·s + v]`. Backward spreads `g / k²` over each
/// window (overlapping windows add).
public final class AvgPool2d: Layer {
    /// `k`.
    public let kernelSize: Int
    /// `s` (PyTorch's default: `k`).
    public let stride: Int

    private var output = Tensor(zeros: [0])  // no forward yet (see Workspace.checkGradient)
    private var inputGradient = Tensor(zeros: [0, 0, 0, 0])
    private var inputShape: [Int] = []

    /// Average pooling with window `kernelSize` and stride `stride` (default: the window).
    /// - Throws: `LayerError.invalidSize` unless both are positive.
    public init(kernelSize: Int, stride: Int? = nil) throws {
        guard kernelSize > 0 else { throw LayerError.invalidSize(layer: "AvgPool2d", argument: "kernelSize", value: kernelSize, expected: "> 0") }
        let s = stride ?? kernelSize
        guard s > 0 else { throw LayerError.invalidSize(layer: "AvgPool2d", argument: "stride", value: s, expected: "> 0") }
        self.kernelSize = kernelSize
        self.stride = s
    }

    /// The mean of every window.
    public func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4 else {
            throw LayerError.inputShapeMismatch(layer: "AvgPool2d", expected: "images [batch, C, H, W]", actual: x.shape)
        }
        guard let ho = ImageLayout.outputSize(x.shape[2], kernel: kernelSize, stride: stride, padding: 0),
              let wo = ImageLayout.outputSize(x.shape[3], kernel: kernelSize, stride: stride, padding: 0) else {
            throw LayerError.inputShapeMismatch(layer: "AvgPool2d", expected: "images [batch, C, H ≥ \(kernelSize), W ≥ \(kernelSize)]",
                                                actual: x.shape)
        }
        inputShape = x.shape
        let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        Workspace.prepare(&output, shape: [x.shape[0], x.shape[1], ho, wo])
        let (k, s, scale) = (kernelSize, stride, 1 / Float(kernelSize * kernelSize))
        x.withUnsafeBufferPointer { xb in
            output.withUnsafeMutableBufferPointer { yb in
                for p in 0..<planes {
                    let plane = xb.baseAddress! + p * h * w
                    for i in 0..<ho {
                        for j in 0..<wo {
                            var sum: Float = 0
                            for u in 0..<k {
                                let line = plane + (i * s + u) * w + j * s
                                for v in 0..<k { sum += line[v] }
                            }
                            yb[(p * ho + i) * wo + j] = sum * scale
                        }
                    }
                }
            }
        }
        return output
    }

    /// `g / k²` spread over each window.
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "AvgPool2d")
        Workspace.prepare(&inputGradient, shape: inputShape)
        let (planes, h, w, ho, wo) = (inputShape[0] * inputShape[1], inputShape[2], inputShape[3], output.shape[2], output.shape[3])
        let (k, s, scale) = (kernelSize, stride, 1 / Float(kernelSize * kernelSize))
        g.withUnsafeBufferPointer { gb in
            inputGradient.withUnsafeMutableBufferPointer { dx in
                dx.update(repeating: 0)
                for p in 0..<planes {
                    let plane = dx.baseAddress! + p * h * w
                    for i in 0..<ho {
                        for j in 0..<wo {
                            let v0 = gb[(p * ho + i) * wo + j] * scale
                            for u in 0..<k {
                                let line = plane + (i * s + u) * w + j * s
                                for v in 0..<k { line[v] += v0 }
                            }
                        }
                    }
                }
            }
        }
        return inputGradient
    }
}
