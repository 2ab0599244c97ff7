import GraftTensor

/// Layer normalisation over the features of each row (Ba, Kiros & Hinton, 2016; PyTorch's
/// `nn.LayerNorm(features)` with its elementwise affine map):
///
///     μ = mean_j x_j,  σ² = mean_j (x_j − μ)²  (biased),  r = 1 / √(σ² + ε)
///     x̂_j = (x_j − μ) r,   y_j = γ_j x̂_j + β_j
///
/// `weight` is `γ` (initialised to 1) and `bias` is `β` (initialised to 0), both `[features]`.
/// Backward, with `ĝ_j = g_j γ_j` per row: `∂L/∂γ += Σ_rows g ⊙ x̂`, `∂L/∂β += Σ_rows g`, and
///
///     ∂L/∂x_j = r (ĝ_j − mean_k ĝ_k − x̂_j · mean_k ĝ_k x̂_k).
///
/// The input is `[batch, features]` or any `[…, features]` (each token of a
/// `[batch, tokens, features]` sequence is normalised on its own, as in PyTorch).
/// The forward pass caches `x̂` and `r` per row; statistics use two passes in `Float`.
public final class LayerNorm: Layer {
    /// The number of features normalised per row.
    public let features: Int
    /// `ε`, added to the variance (PyTorch's default `1e-5`).
    public let epsilon: Float
    /// `γ`, shape `[features]`, path segment `"weight"`.
    public let weight: Parameter
    /// `β`, shape `[features]`, path segment `"bias"`.
    public let bias: Parameter

    private var normalized = Tensor(zeros: [0, 0])
    private var inverseDeviation = Tensor(zeros: [0])
    private var output = Tensor(zeros: [0, 0])
    private var inputGradient = Tensor(zeros: [0, 0])

    /// Layer normalisation of `features` features with `γ = 1`, `β = 0`.
    /// - Throws: `LayerError.invalidSize` unless `features > 0`, `LayerError.invalidHyperparameter`
    ///   unless `epsilon` is finite and positive.
    public init(_ features: Int, epsilon: Float = 1e-5) throws {
        guard features > 0 else {
            throw LayerError.invalidSize(layer: "LayerNorm", argument: "features", value: features, expected: "> 0")
        }
        guard epsilon.isFinite, epsilon > 0 else {
            throw LayerError.invalidHyperparameter(layer: "LayerNorm", argument: "epsilon", value: epsilon,
                                                   expected: "a finite value > 0")
        }
        self.features = features
        self.epsilon = epsilon
        self.weight = Parameter(Tensor(repeating: 1, shape: [features]))
        self.bias = Parameter(Tensor(zeros: [features]))
    }

    /// `γ ⊙ x̂ + β` for each row.
    public func forward(_ x: Tensor) throws -> Tensor {
        let batch = try Workspace.rowCount(of: x, features: features, layer: "LayerNorm")
        let f = features
        Workspace.prepare(&normalized, rows: batch, columns: f)
        Workspace.prepare(&output, shape: x.shape)
        Workspace.prepare(&inverseDeviation, count: batch)
        guard batch > 0 else { return output }
        let eps = epsilon
        x.withUnsafeBufferPointer { xb in
            normalized.withUnsafeMutableBufferPointer { nb in
                inverseDeviation.withUnsafeMutableBufferPointer { rb in
                    output.withUnsafeMutableBufferPointer { yb in
                        weight.value.withUnsafeBufferPointer { gamma in
                            bias.value.withUnsafeBufferPointer { beta in
                                for row in 0..<batch {
                                    let xr = xb.baseAddress! + row * f
                                    let nr = nb.baseAddress! + row * f
                                    let yr = yb.baseAddress! + row * f
                                    var sum: Float = 0
                                    for j in 0..<f { sum += xr[j] }
                                    let mean = sum / Float(f)
                                    var squares: Float = 0
                                    for j in 0..<f {
                                        let d = xr[j] - mean
                                        squares += d * d
                                    }
                                    let r = 1 / (squares / Float(f) + eps).squareRoot()
                                    rb[row] = r
                                    for j in 0..<f {
                                        let n = (xr[j] - mean) * r
                                        nr[j] = n
                                        yr[j] = gamma[j] * n + beta[j]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// Accumulates `∂L/∂γ`, `∂L/∂β` (when trainable) and returns `∂L/∂x` (see the type's notes).
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "LayerNorm")
        let batch = output.count / features
        let f = features
        Workspace.prepare(&inputGradient, shape: output.shape)
        guard batch > 0 else { return inputGradient }
        let trainsWeight = weight.isTrainable, trainsBias = bias.isTrainable
        g.withUnsafeBufferPointer { gb in
            normalized.withUnsafeBufferPointer { nb in
                inverseDeviation.withUnsafeBufferPointer { rb in
                    if trainsWeight {
                        weight.gradient.withUnsafeMutableBufferPointer { dgamma in
                            for row in 0..<batch {
                                let gr = gb.baseAddress! + row * f, nr = nb.baseAddress! + row * f
                                for j in 0..<f { dgamma[j] += gr[j] * nr[j] }
                            }
                        }
                    }
                    if trainsBias {
                        bias.gradient.withUnsafeMutableBufferPointer { dbeta in
                            AffineKernels.accumulateBiasGradient(outputGradient: gb.baseAddress!, into: dbeta.baseAddress!,
                                                                 batch: batch, outputs: f)
                        }
                    }
                    weight.value.withUnsafeBufferPointer { gamma in
                        inputGradient.withUnsafeMutableBufferPointer { db in
                            for row in 0..<batch {
                                let gr = gb.baseAddress! + row * f
                                let nr = nb.baseAddress! + row * f
                                let dr = db.baseAddress! + row * f
                                var meanG: Float = 0, meanGN: Float = 0
                                for j in 0..<f {
                                    let gh = gr[j] * gamma[j]
                                    meanG += gh
                                    meanGN += gh * nr[j]
                                }
                                meanG /= Float(f)
                                meanGN /= Float(f)
                                let r = rb[row]
                                for j in 0..<f { dr[j] = r * (gr[j] * gamma[j] - meanG - nr[j] * meanGN) }
                            }
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    /// `"weight"` (γ), then `"bias"` (β).
    public func forEachParameter(_ body: (_ name: String, _ parameter: Parameter) -> Void) {
        body("weight", weight)
        body("bias", bias)
    }
}
