import GraftTensor

/// A 2-D convolution (PyTorch's `nn.Conv2d` with square kernels, no dilation or groups) on
/// channels-first images (see `ImageLayout`):
///
///     y[b, o, i, j] = bias[o] + Σ_{c, u, v} W[o, c, u, v] · x[b, c, i·s − p + u, j·s − p + v]
///
/// (pixels outside the image are 0). Input `[batch, C, H, W]`, output `[batch, O, H′, W′]`
/// with `H′ = ⌊(H + 2p − k)/s⌋ + 1`. Computed by im2col: the `k × k` windows of image `b`
/// become the columns `b·L … (b+1)·L − 1` (`L = H′W′`) of one matrix `X ∈ ℝ^{Ck² × batch·L}`
/// (kept for backward), and the whole batch is one `sgemm`, `Z = W X` with `W` viewed as
/// `[O, Ck²]`, whose `[O, batch·L]` result is then laid out as `[batch, O, L]` plus the bias
/// (one large product instead of one small product per image). Backward, with `G` the output
/// gradient laid out as `[O, batch·L]`: `∂L/∂W += G Xᵀ`, `∂L/∂bias += Σ G`, and `∂L/∂x` is
/// col2im of `Wᵀ G` (each column scattered back onto its window, overlaps adding).
///
/// Initialisation is PyTorch's: `W, bias ~ U(−1/√(Ck²), 1/√(Ck²))`, `W` first.
public final class Conv2d: Layer {
    /// `C`.
    public let inputChannels: Int
    /// `O`.
    public let outputChannels: Int
    /// `k` (square kernel).
    public let kernelSize: Int
    /// `s`.
    public let stride: Int
    /// `p` (zeros on every side).
    public let padding: Int
    /// `W`, shape `[O, C, k, k]`, path segment `"weight"`.
    public let weight: Parameter
    /// `bias`, shape `[O]`, path segment `"bias"`; `nil` without bias.
    public let bias: Parameter?

    private var columns = Tensor(zeros: [0])
    private var columnGradient = Tensor(zeros: [0])
    private var wide = Tensor(zeros: [0])
    private var output = Tensor(zeros: [0])  // no forward yet (see Workspace.checkGradient)
    private var inputGradient = Tensor(zeros: [0, 0, 0, 0])
    private var inputShape: [Int] = [0, 0, 0, 0]

    /// A convolution initialised like PyTorch's from `SeededGenerator(seed: seed)`.
    /// - Throws: `LayerError.invalidSize` for non-positive channels, kernel or stride, or a
    ///   negative padding.
    public convenience init(_ inputChannels: Int, _ outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            bias: Bool = true, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        try Conv2d.validate(inputChannels, outputChannels, kernelSize, stride, padding)
        let fanIn = inputChannels * kernelSize * kernelSize
        let w = KaimingUniform.sample(shape: [outputChannels, inputChannels, kernelSize, kernelSize], fanIn: fanIn, generator: &generator)
        let b = bias ? KaimingUniform.sample(shape: [outputChannels], fanIn: fanIn, generator: &generator) : nil
        try self.init(weight: w, bias: b, stride: stride, padding: padding)
    }

    /// A convolution with the given weight `[O, C, k, k]` and optional bias `[O]`.
    /// - Throws: `LayerError.shapeMismatch` for a weight that is not `[O, C, k, k]` with a
    ///   square kernel or a bias without `O` entries; `LayerError.invalidSize` as above.
    public init(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0) throws {
        guard weight.rank == 4, weight.shape[2] == weight.shape[3] else {
            throw LayerError.shapeMismatch(layer: "Conv2d", argument: "weight", expected: [-1, -1, -1, -1], actual: weight.shape)
        }
        try Conv2d.validate(weight.shape[1], weight.shape[0], weight.shape[2], stride, padding)
        if let bias, bias.shape != [weight.shape[0]] {
            throw LayerError.shapeMismatch(layer: "Conv2d", argument: "bias", expected: [weight.shape[0]], actual: bias.shape)
        }
        self.outputChannels = weight.shape[0]
        self.inputChannels = weight.shape[1]
        self.kernelSize = weight.shape[2]
        self.stride = stride
        self.padding = padding
        self.weight = Parameter(weight)
        self.bias = bias.map { Parameter($0) }
    }

    private static func validate(_ c: Int, _ o: Int, _ k: Int, _ s: Int, _ p: Int) throws {
        for (name, value) in [("inputChannels", c), ("outputChannels", o), ("kernelSize", k), ("stride", s)] where value <= 0 {
            throw LayerError.invalidSize(layer: "Conv2d", argument: name, value: value, expected: "> 0")
        }
        guard p >= 0 else { throw LayerError.invalidSize(layer: "Conv2d", argument: "padding", value: p, expected: ">= 0") }
    }

    /// The output shape `[batch, O, H′, W′]` for an input `[batch, C, H, W]`, or `nil` when the
    /// padded image is smaller than the kernel.
    public func outputShape(for input: [Int]) -> [Int]? {
        guard input.count == 4, input[1] == inputChannels,
              let h = ImageLayout.outputSize(input[2], kernel: kernelSize, stride: stride, padding: padding),
              let w = ImageLayout.outputSize(input[3], kernel: kernelSize, stride: stride, padding: padding) else { return nil }
        return [input[0], outputChannels, h, w]
    }

    /// The convolution of every image of the batch; keeps the im2col columns for `backward`.
    public func forward(_ x: Tensor) throws -> Tensor {
        guard let shape = outputShape(for: x.shape) else {
            throw LayerError.inputShapeMismatch(layer: "Conv2d", expected: "images [batch, \(inputChannels), H, W] with H, W ≥ \(kernelSize - 2 * padding)",
                                                actual: x.shape)
        }
        inputShape = x.shape
        let (batch, h, w, ho, wo) = (x.shape[0], x.shape[2], x.shape[3], shape[2], shape[3])
        let (rows, pixels, o) = (inputChannels * kernelSize * kernelSize, shape[2] * shape[3], outputChannels)
        Workspace.prepare(&columns, count: batch * rows * pixels)
        Workspace.prepare(&wide, count: o * batch * pixels)
        Workspace.prepare(&output, shape: shape)
        guard batch > 0 else { return output }
        let geometry = Geometry(channels: inputChannels, height: h, width: w, kernel: kernelSize, stride: stride,
                                padding: padding, outHeight: ho, outWidth: wo)
        let span = batch * pixels
        x.withUnsafeBufferPointer { xb in
            columns.withUnsafeMutableBufferPointer { cb in
                for b in 0..<batch {
                    geometry.im2col(xb.baseAddress! + b * inputChannels * h * w, into: cb.baseAddress! + b * pixels, rowStride: span)
                }
                weight.value.withUnsafeBufferPointer { wb in
                    wide.withUnsafeMutableBufferPointer { zb in
                        // Z [O, batch·L] = W [O, Ck²] · X [Ck², batch·L]
                        BLAS.gemm(transposeA: false, transposeB: false, m: o, n: span, k: rows,
                                  alpha: 1, a: wb.baseAddress!, b: cb.baseAddress!, beta: 0, c: zb.baseAddress!)
                    }
                }
            }
        }
        wide.withUnsafeBufferPointer { zb in
            output.withUnsafeMutableBufferPointer { yb in
                for b in 0..<batch {
                    for c in 0..<o {
                        let y = yb.baseAddress! + (b * o + c) * pixels, z = zb.baseAddress! + c * span + b * pixels
                        if let bias {
                            let shift = bias.value[flat: c]
                            for i in 0..<pixels { y[i] = z[i] + shift }
                        } else {
                            y.update(from: z, count: pixels)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Accumulates `∂L/∂W`, `∂L/∂bias` (when trainable) and returns `∂L/∂x` (see the type's notes).
    public func backward(_ g: Tensor) throws -> Tensor {
        try backpropagate(g, inputGradientNeeded: true)
        return inputGradient
    }

    /// As `backward`, without the col2im of the input gradient.
    public func accumulateParameterGradients(_ g: Tensor) throws {
        try backpropagate(g, inputGradientNeeded: false)
    }

    private func backpropagate(_ g: Tensor, inputGradientNeeded: Bool) throws {
        try Workspace.checkGradient(g, matches: output, layer: "Conv2d")
        let (batch, h, w, ho, wo) = (inputShape[0], inputShape[2], inputShape[3], output.shape[2], output.shape[3])
        let (rows, pixels, o) = (inputChannels * kernelSize * kernelSize, ho * wo, outputChannels)
        if inputGradientNeeded {
            Workspace.prepare(&inputGradient, shape: inputShape)
            Workspace.prepare(&columnGradient, count: batch * rows * pixels)
        }
        guard batch > 0 else { return }
        let geometry = Geometry(channels: inputChannels, height: h, width: w, kernel: kernelSize, stride: stride,
                                padding: padding, outHeight: ho, outWidth: wo)
        let span = batch * pixels
        Workspace.prepare(&wide, count: o * span)
        // G laid out as [O, batch·L] (the layout of Z in forward).
        g.withUnsafeBufferPointer { gb in
            wide.withUnsafeMutableBufferPointer { zb in
                for b in 0..<batch {
                    for c in 0..<o {
                        (zb.baseAddress! + c * span + b * pixels).update(from: gb.baseAddress! + (b * o + c) * pixels, count: pixels)
                    }
                }
            }
            if let bias, bias.isTrainable {
                bias.gradient.withUnsafeMutableBufferPointer { db in
                    for b in 0..<batch {
                        for c in 0..<o {
                            let row = gb.baseAddress! + (b * o + c) * pixels
                            var sum: Float = 0
                            for i in 0..<pixels { sum += row[i] }
                            db[c] += sum
                        }
                    }
                }
            }
        }
        wide.withUnsafeBufferPointer { zb in
            if weight.isTrainable {
                columns.withUnsafeBufferPointer { cb in
                    weight.gradient.withUnsafeMutableBufferPointer { dw in
                        // dW [O, Ck²] += G [O, batch·L] · Xᵀ [batch·L, Ck²]
                        BLAS.gemm(transposeA: false, transposeB: true, m: o, n: rows, k: span, alpha: 1,
                                  a: zb.baseAddress!, b: cb.baseAddress!, beta: 1, c: dw.baseAddress!)
                    }
                }
            }
            guard inputGradientNeeded else { return }
            weight.value.withUnsafeBufferPointer { wb in
                columnGradient.withUnsafeMutableBufferPointer { dcb in
                    // dX [Ck², batch·L] = Wᵀ [Ck², O] · G [O, batch·L]
                    BLAS.gemm(transposeA: true, transposeB: false, m: rows, n: span, k: o, alpha: 1,
                              a: wb.baseAddress!, b: zb.baseAddress!, beta: 0, c: dcb.baseAddress!)
                    inputGradient.withUnsafeMutableBufferPointer { dxb in
                        dxb.update(repeating: 0)
                        for b in 0..<batch {
                            geometry.col2imAdd(dcb.baseAddress! + b * pixels, rowStride: span,
                                               into: dxb.baseAddress! + b * inputChannels * h * w)
                        }
                    }
                }
            }
        }
    }

    /// `"weight"`, then `"bias"` if present.
    public func forEachParameter(_ body: (_ name: String, _ parameter: Parameter) -> Void) {
        body("weight", weight)
        if let bias { body("bias", bias) }
    }
}

/// The window geometry of one convolution call, with im2col and its adjoint col2im.
struct Geometry {
    let channels: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int, outHeight: Int, outWidth: Int

    /// Writes the `[C k², H′ W′]` window matrix of one image `[C, H, W]` (zeros off the image),
    /// row `r` starting at `columns + r · rowStride` (the image's block of a wider matrix).
    func im2col(_ image: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, rowStride pixels: Int) {
        for c in 0..<channels {
            let plane = image + c * height * width
            for u in 0..<kernel {
                for v in 0..<kernel {
                    let row = columns + ((c * kernel + u) * kernel + v) * pixels
                    for i in 0..<outHeight {
                        let y = i * stride - padding + u
                        let out = row + i * outWidth
                        guard y >= 0, y < height else {
                            out.update(repeating: 0, count: outWidth)
                            continue
                        }
                        let line = plane + y * width
                        if stride == 1 {
                            for j in 0..<outWidth {
                                let x = j - padding + v
                                out[j] = x >= 0 && x < width ? line[x] : 0
                            }
                        } else {
                            for j in 0..<outWidth {
                                let x = j * stride - padding + v
                                out[j] = x >= 0 && x < width ? line[x] : 0
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds each column of `[C k², H′ W′]` (row `r` at `columns + r · rowStride`) back onto its
    /// window of the image `[C, H, W]` (the transpose of `im2col`).
    func col2imAdd(_ columns: UnsafePointer<Float>, rowStride pixels: Int, into image: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let plane = image + c * height * width
            for u in 0..<kernel {
                for v in 0..<kernel {
                    let row = columns + ((c * kernel + u) * kernel + v) * pixels
                    for i in 0..<outHeight {
                        let y = i * stride - padding + u
                        guard y >= 0, y < height else { continue }
                        let line = plane + y * width, src = row + i * outWidth
                        for j in 0..<outWidth {
                            let x = j * stride - padding + v
                            if x >= 0 && x < width { line[x] += src[j] }
                        }
                    }
                }
            }
        }
    }
}
