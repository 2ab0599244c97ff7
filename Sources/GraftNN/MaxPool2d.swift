import GraftTensor

/// Max pooling over `k × k` windows moved by `s` (PyTorch's `nn.MaxPool2d(k, s)`, no
/// padding) on channels-first images `[batch, C, H, W] → [batch, C, H′, W′]`,
/// `H′ = ⌊(H − k)/s⌋ + 1` (see `ImageLayout`).
///
/// Forward records the position of each window's maximum (the first one on ties, like
/// PyTorch); backward routes `g` there: `∂L/∂x[argmax] += g`, zero elsewhere.
public final class MaxPool2d: Layer {
    /// `k`.
    public let kernelSize: Int
    /// `s` (PyTorch's default: `k`).
    public let stride: Int

    private var output = Tensor(zeros: [0])  // no forward yet (see Workspace.checkGradient)
    private var inputGradient = Tensor(zeros: [0, 0, 0, 0])
    private var argmax: [Int32] = []
    private var inputShape: [Int] = []

    /// Max pooling with window `kernelSize` and stride `stride` (default: the window).
    /// - Throws: `LayerError.invalidSize` unless both are positive.
    public init(kernelSize: Int, stride: Int? = nil) throws {
        guard kernelSize > 0 else { throw LayerError.invalidSize(layer: "MaxPool2d", argument: "kernelSize", value: kernelSize, expected: "> 0") }
        let s = stride ?? kernelSize
        guard s > 0 else { throw LayerError.invalidSize(layer: "MaxPool2d", argument: "stride", value: s, expected: "> 0") }
        self.kernelSize = kernelSize
        self.stride = s
    }

    /// The maximum of every window.
    public func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4 else {
            throw LayerError.inputShapeMismatch(layer: "MaxPool2d", expected: "images [batch, C, H, W]", actual: x.shape)
        }
        guard let ho = ImageLayout.outputSize(x.shape[2], kernel: kernelSize, stride: stride, padding: 0),
              let wo = ImageLayout.outputSize(x.shape[3], kernel: kernelSize, stride: stride, padding: 0) else {
            throw LayerError.inputShapeMismatch(layer: "MaxPool2d", expected: "images [batch, C, H ≥ \(kernelSize), W ≥ \(kernelSize)]",
                                                actual: x.shape)
        }
        inputShape = x.shape
        let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        Workspace.prepare(&output, shape: [x.shape[0], x.shape[1], ho, wo])
        if argmax.count != planes * ho * wo { argmax = [Int32](repeating: 0, count: planes * ho * wo) }
        let (k, s) = (kernelSize, stride)
        x.withUnsafeBufferPointer { xb in
            output.withUnsafeMutableBufferPointer { yb in
                argmax.withUnsafeMutableBufferPointer { ab in
                    for p in 0..<planes {
                        let plane = xb.baseAddress! + p * h * w
                        for i in 0..<ho {
                            for j in 0..<wo {
                                var best = -Float.infinity, at = (i * s) * w + j * s
                                for u in 0..<k {
                                    let line = (i * s + u) * w + j * s
                                    for v in 0..<k where plane[line + v] > best {
                                        best = plane[line + v]
                                        at = line + v
                                    }
                                }
                                let o = (p * ho + i) * wo + j
                                yb[o] = best
                                ab[o] = Int32(p * h * w + at)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `g` routed to each window's maximum.
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "MaxPool2d")
        Workspace.prepare(&inputGradient, shape: inputShape)
        g.withUnsafeBufferPointer { gb in
            argmax.withUnsafeBufferPointer { ab in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    dx.update(repeating: 0)
                    for o in 0..<gb.count { dx[Int(ab[o])] += gb[o] }
                }
            }
        }
        return inputGradient
    }
}
