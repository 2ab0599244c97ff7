import GraftTensor

/// A fully connected layer: `y = x Wᵀ + b` for each row `x` of the batch.
///
/// The input is `[batch, in]` or, as for PyTorch's `nn.Linear`, any `[d₁, …, d_k, in]`
/// (a token sequence `[batch, tokens, in]`): every leading index is a row, and the output
/// is `[d₁, …, d_k, out]`.
///
/// `weight` is `W ∈ ℝ^{out × in}` and `bias` is `b ∈ ℝ^{out}` (PyTorch's `nn.Linear`
/// layout, so weights exchange without transposes). For `G = ∂L/∂Y` the backward pass adds
/// `∂L/∂W = Gᵀ X` and `∂L/∂b = Σ_rows G` to the parameter gradients and returns
/// `∂L/∂X = G W`; the three products run through `BLAS.gemm` into preallocated buffers.
///
/// Default initialisation is PyTorch's: `W, b ~ U(−1/√in, 1/√in)` (see `KaimingUniform`),
/// `W` drawn first in row-major order, then `b`, from one `SeededGenerator`.
public final class Dense: Layer {
    /// `in`: features per input row.
    public let inputFeatures: Int
    /// `out`: features per output row.
    public let outputFeatures: Int
    /// `W`, shape `[out, in]`, path segment `"weight"`.
    public let weight: Parameter
    /// `b`, shape `[out]`, path segment `"bias"`; `nil` for a layer without bias.
    public let bias: Parameter?

    private var input = Tensor(zeros: [0, 0])
    private var output = Tensor(zeros: [0, 0])
    private var inputGradient = Tensor(zeros: [0, 0])

    /// A layer initialised like PyTorch's `nn.Linear` from `SeededGenerator(seed: seed)`.
    /// - Throws: `LayerError.invalidSize` unless both feature counts are positive.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, bias: Bool = true, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        try self.init(inputFeatures, outputFeatures, bias: bias, generator: &generator)
    }

    /// A layer initialised like PyTorch's `nn.Linear`, drawing from `generator` (weight
    /// first, then bias), so consecutive layers built from one generator differ.
    /// - Throws: `LayerError.invalidSize` unless both feature counts are positive.
    public convenience init(_ inputFeatures: Int, _ outputFeatures: Int, bias: Bool = true,
                            generator: inout SeededGenerator) throws {
        try Dense.validate(inputFeatures, outputFeatures)
        let w = KaimingUniform.sample(shape: [outputFeatures, inputFeatures], fanIn: inputFeatures, generator: &generator)
        let b = bias ? KaimingUniform.sample(shape: [outputFeatures], fanIn: inputFeatures, generator: &generator) : nil
        try self.init(weight: w, bias: b)
    }

    /// A layer with the given weight `[out, in]` and optional bias `[out]`.
    /// - Throws: `LayerError.invalidSize` for an empty weight, `LayerError.shapeMismatch`
    ///   when the weight is not a matrix or the bias does not have `out` entries.
    public init(weight: Tensor, bias: Tensor?) throws {
        guard weight.rank == 2 else {
            throw LayerError.shapeMismatch(layer: "Dense", argument: "weight", expected: [-1, -1], actual: weight.shape)
        }
        try Dense.validate(weight.shape[1], weight.shape[0])
        if let bias, bias.shape != [weight.shape[0]] {
            throw LayerError.shapeMismatch(layer: "Dense", argument: "bias", expected: [weight.shape[0]], actual: bias.shape)
        }
        self.inputFeatures = weight.shape[1]
        self.outputFeatures = weight.shape[0]
        self.weight = Parameter(weight)
        self.bias = bias.map { Parameter($0) }
    }

    private static func validate(_ inputs: Int, _ outputs: Int) throws {
        guard inputs > 0 else {
            throw LayerError.invalidSize(layer: "Dense", argument: "inputFeatures", value: inputs, expected: "> 0")
        }
        guard outputs > 0 else {
            throw LayerError.invalidSize(layer: "Dense", argument: "outputFeatures", value: outputs, expected: "> 0")
        }
    }

    /// `Y = X Wᵀ + 1 bᵀ` for `X` of shape `[batch, in]` (or `[…, in]`); keeps a copy of `X`
    /// for `backward`.
    public func forward(_ x: Tensor) throws -> Tensor {
        let batch = try Workspace.rowCount(of: x, features: inputFeatures, layer: "Dense")
        Workspace.copy(x, into: &input)
        Workspace.prepare(&output, like: x, lastDimension: outputFeatures)
        guard batch > 0 else { return output }
        let (inputs, outputs) = (inputFeatures, outputFeatures)
        weight.value.withUnsafeBufferPointer { w in
            input.withUnsafeBufferPointer { xs in
                output.withUnsafeMutableBufferPointer { y in
                    if let bias {
                        bias.value.withUnsafeBufferPointer { b in
                            AffineKernels.forward(input: xs.baseAddress!, weight: w.baseAddress!, bias: b.baseAddress!,
                                                  output: y.baseAddress!, batch: batch, inputs: inputs, outputs: outputs)
                        }
                    } else {
                        AffineKernels.forward(input: xs.baseAddress!, weight: w.baseAddress!, bias: nil,
                                              output: y.baseAddress!, batch: batch, inputs: inputs, outputs: outputs)
                    }
                }
            }
        }
        return output
    }

    /// Adds `Gᵀ X` to `weight.gradient` and `Σ_rows G` to `bias.gradient` (each only when
    /// trainable) and returns `G W`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try backpropagate(g, inputGradientNeeded: true)
        return inputGradient
    }

    /// As `backward`, without computing `G W` (the input gradient).
    public func accumulateParameterGradients(_ g: Tensor) throws {
        try backpropagate(g, inputGradientNeeded: false)
    }

    private func backpropagate(_ g: Tensor, inputGradientNeeded: Bool) throws {
        try Workspace.checkGradient(g, matches: output, layer: "Dense")
        let batch = output.count / outputFeatures
        let (inputs, outputs) = (inputFeatures, outputFeatures)
        if inputGradientNeeded { Workspace.prepare(&inputGradient, shape: input.shape) }
        guard batch > 0 else { return }
        g.withUnsafeBufferPointer { gb in
            let gp = gb.baseAddress!
            if weight.isTrainable {
                input.withUnsafeBufferPointer { xs in
                    weight.gradient.withUnsafeMutableBufferPointer { dw in
                        AffineKernels.accumulateWeightGradient(outputGradient: gp, input: xs.baseAddress!, into: dw.baseAddress!,
                                                               batch: batch, inputs: inputs, outputs: outputs)
                    }
                }
            }
            if let bias, bias.isTrainable {
                bias.gradient.withUnsafeMutableBufferPointer { db in
                    AffineKernels.accumulateBiasGradient(outputGradient: gp, into: db.baseAddress!, batch: batch, outputs: outputs)
                }
            }
            guard inputGradientNeeded else { return }
            weight.value.withUnsafeBufferPointer { w in
                inputGradient.withUnsafeMutableBufferPointer { dx in
                    AffineKernels.inputGradient(outputGradient: gp, weight: w.baseAddress!, into: dx.baseAddress!,
                                                batch: batch, inputs: inputs, outputs: outputs)
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
