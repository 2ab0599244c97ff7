import GraftTensor

/// A low-rank adapter on a `Dense` layer (Hu et al., 2021, "LoRA"):
///
///     y = x Wᵀ + b + s · (x Aᵀ) Bᵀ,   s = α / r
///
/// with the base `W ∈ ℝ^{out × in}` and `b` frozen (`isTrainable = false`, anchors kept at
/// `.initial`), and the trainable factors `A ∈ ℝ^{r × in}` (`"lora_a"`) and `B ∈ ℝ^{out × r}`
/// (`"lora_b"`), whose anchor is `.zero`: anchor-based regularisers pull the adapter's
/// contribution toward nothing, not toward its random initial value. `A` is initialised
/// like `peft` (`U(−1/√in, 1/√in)`, see `KaimingUniform`) and `B = 0`, so the adapted layer
/// starts exactly equal to the base layer.
///
/// Like `Dense`, it takes `[batch, in]` or any `[…, in]` (every leading index is a row).
///
/// Backward, with `H = X Aᵀ` (cached) and `G = ∂L/∂Y`:
/// `∂L/∂B += s Gᵀ H`, `∂L/∂A += (s G B)ᵀ X`, base gradients only if the base is unfrozen,
/// and `∂L/∂X = G W + (s G B) A`. Every product is one `BLAS.gemm` into a kept buffer.
///
/// The adapter shares the base layer's `Parameter` objects (freezing them freezes the
/// wrapped `Dense`) and lists them under the base's own segments, so a LoRA model loads
/// the weights of the plain model it adapts (`load(_:strict: false)` leaves the factors).
public final class LoRA: Layer {
    /// The adapted layer (its parameters are frozen by `init`).
    public let base: Dense
    /// `A`, shape `[rank, in]`, path segment `"lora_a"`, anchor `.zero`.
    public let a: Parameter
    /// `B`, shape `[out, rank]`, path segment `"lora_b"`, anchor `.zero`, initially 0.
    public let b: Parameter
    /// `r`, the rank of the update `s · B A`.
    public let rank: Int
    /// `α`: the update is scaled by `α / r`.
    public let alpha: Float
    /// `s = α / r`.
    public var scale: Float { alpha / Float(rank) }

    private var input = Tensor(zeros: [0, 0])
    private var hidden = Tensor(zeros: [0, 0])
    private var hiddenGradient = Tensor(zeros: [0, 0])
    private var output = Tensor(zeros: [0, 0])
    private var inputGradient = Tensor(zeros: [0, 0])

    /// Adapts `base` with rank-`rank` factors, `A` drawn from `SeededGenerator(seed: seed)`.
    /// - Throws: `LayerError.invalidSize` unless `rank > 0`, `LayerError.invalidHyperparameter`
    ///   for a non-finite `alpha`.
    public convenience init(_ base: Dense, rank: Int, alpha: Float, seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        try self.init(base, rank: rank, alpha: alpha, generator: &generator)
    }

    /// Adapts `base` with rank-`rank` factors, `A` drawn from `generator`.
    /// - Throws: `LayerError.invalidSize` unless `0 < rank ≤ min(in, out)` (a larger rank
    ///   adds parameters without adding expressiveness), `LayerError.invalidHyperparameter`
    ///   for a non-finite `alpha`.
    public init(_ base: Dense, rank: Int, alpha: Float, generator: inout SeededGenerator) throws {
        let fullRank = min(base.inputFeatures, base.outputFeatures)
        guard rank > 0 && rank <= fullRank else {
            throw LayerError.invalidSize(layer: "LoRA", argument: "rank", value: rank, expected: "1…\(fullRank) = min(in, out)")
        }
        guard alpha.isFinite else {
            throw LayerError.invalidHyperparameter(layer: "LoRA", argument: "alpha", value: alpha, expected: "a finite number")
        }
        self.base = base
        self.rank = rank
        self.alpha = alpha
        self.a = Parameter(KaimingUniform.sample(shape: [rank, base.inputFeatures], fanIn: base.inputFeatures,
                                                 generator: &generator), anchor: .zero)
        self.b = Parameter(Tensor(zeros: [base.outputFeatures, rank]), anchor: .zero)
        base.weight.isTrainable = false
        base.bias?.isTrainable = false
    }

    /// `X Wᵀ + 1 bᵀ + s (X Aᵀ) Bᵀ`; keeps copies of `X` and `H = X Aᵀ` for `backward`.
    public func forward(_ x: Tensor) throws -> Tensor {
        let (inputs, outputs, r) = (base.inputFeatures, base.outputFeatures, rank)
        let batch = try Workspace.rowCount(of: x, features: inputs, layer: "LoRA")
        Workspace.copy(x, into: &input)
        Workspace.prepare(&hidden, rows: batch, columns: r)
        Workspace.prepare(&output, like: x, lastDimension: outputs)
        guard batch > 0 else { return output }
        let s = scale
        input.withUnsafeBufferPointer { xb in
            let xp = xb.baseAddress!
            output.withUnsafeMutableBufferPointer { yb in
                let yp = yb.baseAddress!
                base.weight.value.withUnsafeBufferPointer { w in
                    if let bias = base.bias {
                        bias.value.withUnsafeBufferPointer { bb in
                            AffineKernels.forward(input: xp, weight: w.baseAddress!, bias: bb.baseAddress!, output: yp,
                                                  batch: batch, inputs: inputs, outputs: outputs)
                        }
                    } else {
                        AffineKernels.forward(input: xp, weight: w.baseAddress!, bias: nil, output: yp,
                                              batch: batch, inputs: inputs, outputs: outputs)
                    }
                }
                hidden.withUnsafeMutableBufferPointer { hb in
                    let hp = hb.baseAddress!
                    a.value.withUnsafeBufferPointer { ab in
                        // H = X Aᵀ  [batch, r]
                        BLAS.gemm(transposeA: false, transposeB: true, m: batch, n: r, k: inputs,
                                  alpha: 1, a: xp, b: ab.baseAddress!, beta: 0, c: hp)
                    }
                    b.value.withUnsafeBufferPointer { bb in
                        // Y += s H Bᵀ
                        BLAS.gemm(transposeA: false, transposeB: true, m: batch, n: outputs, k: r,
                                  alpha: s, a: hp, b: bb.baseAddress!, beta: 1, c: yp)
                    }
                }
            }
        }
        return output
    }

    /// Accumulates `∂L/∂A`, `∂L/∂B` (and the base gradients if unfrozen) and returns `∂L/∂X`.
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "LoRA")
        let (inputs, outputs, r) = (base.inputFeatures, base.outputFeatures, rank)
        let batch = output.count / outputs
        Workspace.prepare(&hiddenGradient, rows: batch, columns: r)
        Workspace.prepare(&inputGradient, shape: input.shape)
        guard batch > 0 else { return inputGradient }
        let s = scale
        g.withUnsafeBufferPointer { gb in
            let gp = gb.baseAddress!
            input.withUnsafeBufferPointer { xb in
                let xp = xb.baseAddress!
                hidden.withUnsafeBufferPointer { hb in
                    if b.isTrainable {
                        b.gradient.withUnsafeMutableBufferPointer { db in
                            // dB += s Gᵀ H  [out, r]
                            BLAS.gemm(transposeA: true, transposeB: false, m: outputs, n: r, k: batch,
                                      alpha: s, a: gp, b: hb.baseAddress!, beta: 1, c: db.baseAddress!)
                        }
                    }
                }
                hiddenGradient.withUnsafeMutableBufferPointer { dhb in
                    let dhp = dhb.baseAddress!
                    b.value.withUnsafeBufferPointer { bb in
                        // dH = s G B  [batch, r]
                        BLAS.gemm(transposeA: false, transposeB: false, m: batch, n: r, k: outputs,
                                  alpha: s, a: gp, b: bb.baseAddress!, beta: 0, c: dhp)
                    }
                    if a.isTrainable {
                        a.gradient.withUnsafeMutableBufferPointer { da in
                            // dA += dHᵀ X  [r, in]
                            AffineKernels.accumulateWeightGradient(outputGradient: dhp, input: xp, into: da.baseAddress!,
                                                                   batch: batch, inputs: inputs, outputs: r)
                        }
                    }
                }
                if base.weight.isTrainable {
                    base.weight.gradient.withUnsafeMutableBufferPointer { dw in
                        AffineKernels.accumulateWeightGradient(outputGradient: gp, input: xp, into: dw.baseAddress!,
                                                               batch: batch, inputs: inputs, outputs: outputs)
                    }
                }
            }
            if let bias = base.bias, bias.isTrainable {
                bias.gradient.withUnsafeMutableBufferPointer { db in
                    AffineKernels.accumulateBiasGradient(outputGradient: gp, into: db.baseAddress!, batch: batch, outputs: outputs)
                }
            }
            inputGradient.withUnsafeMutableBufferPointer { dxb in
                let dxp = dxb.baseAddress!
                base.weight.value.withUnsafeBufferPointer { w in
                    // dX = G W
                    AffineKernels.inputGradient(outputGradient: gp, weight: w.baseAddress!, into: dxp,
                                                batch: batch, inputs: inputs, outputs: outputs)
                }
                hiddenGradient.withUnsafeBufferPointer { dhb in
                    a.value.withUnsafeBufferPointer { ab in
                        // dX += dH A
                        AffineKernels.inputGradient(outputGradient: dhb.baseAddress!, weight: ab.baseAddress!, beta: 1,
                                                    into: dxp, batch: batch, inputs: inputs, outputs: r)
                    }
                }
            }
        }
        return inputGradient
    }

    /// A plain `Dense` with weight `W + s B A` and the base bias: the adapter folded into the
    /// base, which computes the same map (up to float rounding) without the extra products.
    public func merged() -> Dense {
        let (inputs, outputs, r) = (base.inputFeatures, base.outputFeatures, rank)
        var w = base.weight.value
        w.withUnsafeMutableBufferPointer { wb in
            b.value.withUnsafeBufferPointer { bb in
                a.value.withUnsafeBufferPointer { ab in
                    BLAS.gemm(transposeA: false, transposeB: false, m: outputs, n: inputs, k: r,
                              alpha: scale, a: bb.baseAddress!, b: ab.baseAddress!, beta: 1, c: wb.baseAddress!)
                }
            }
        }
        do {
            return try Dense(weight: w, bias: base.bias?.value)
        } catch {
            preconditionFailureWithMessage("LoRA.merged: \(error)")  // the base's shapes were validated when it was built
        }
    }

    /// `"weight"`, `"bias"` (the frozen base, if it has a bias), `"lora_a"`, `"lora_b"`.
    public func forEachParameter(_ body: (_ name: String, _ parameter: Parameter) -> Void) {
        base.forEachParameter(body)
        body("lora_a", a)
        body("lora_b", b)
    }
}
