import GraftTensor

/// Softmax cross-entropy over integer labels, averaged over the batch, with optional label
/// smoothing exactly as PyTorch's `CrossEntropyLoss(label_smoothing: ε)`.
///
/// For logits `z ∈ ℝ^{B × C}` and labels `y`, with `log p_{b,c} = z_{b,c} − LSE(z_b)` and
/// the target `q_{b,c} = (1 − ε) 1[c = y_b] + ε / C`:
///
///     L = (1/B) Σ_b −Σ_c q_{b,c} log p_{b,c}
///       = (1/B) Σ_b [ (1 − ε)(LSE(z_b) − z_{b,y_b}) + (ε/C) Σ_c (LSE(z_b) − z_{b,c}) ]
///     ∂L/∂z_{b,c} = (p_{b,c} − q_{b,c}) / B
///
/// `LSE(z) = m + log Σ_c e^{z_c − m}` with `m = max_c z_c`, so no exponent is positive and
/// large logits neither overflow nor lose the label's term. Sums run in `Double`. The
/// gradient is written into a buffer the loss keeps (reallocated only when the logits'
/// shape changes).
public final class SoftmaxCrossEntropy {
    /// `ε ∈ [0, 1]`: the weight moved from the label to the uniform distribution.
    public let labelSmoothing: Float
    private var gradient = Tensor(zeros: [0, 0])

    /// Cross-entropy with label smoothing `labelSmoothing` (0: none).
    /// - Throws: `LossError.invalidHyperparameter` unless `0 ≤ labelSmoothing ≤ 1`.
    public init(labelSmoothing: Float = 0) throws {
        guard labelSmoothing >= 0, labelSmoothing <= 1 else {
            throw LossError.invalidHyperparameter(argument: "labelSmoothing", value: labelSmoothing, expected: "a value in [0, 1]")
        }
        self.labelSmoothing = labelSmoothing
    }

    /// The mean loss over the batch and `∂L/∂logits`.
    /// - Throws: `LossError` when `logits` is not `[labels.count, C]` with `labels.count > 0`, or
    ///   a label is outside `0..<C`.
    public func callAsFunction(_ logits: Tensor, labels: [Int]) throws -> LossOutput {
        let (batch, classes) = try validateClassification(logits, labels: labels)
        Workspace.prepare(&gradient, rows: batch, columns: classes)
        let eps = Double(labelSmoothing)
        let uniform = eps / Double(classes)
        let inverseBatch = 1 / Double(batch)
        var total = 0.0
        logits.withUnsafeBufferPointer { zb in
            gradient.withUnsafeMutableBufferPointer { gb in
                for row in 0..<batch {
                    let z = zb.baseAddress! + row * classes
                    let g = gb.baseAddress! + row * classes
                    var m = -Float.infinity
                    for c in 0..<classes where z[c] > m { m = z[c] }
                    var sum = 0.0, logitSum = 0.0
                    for c in 0..<classes {
                        let e = expFloat(z[c] - m)
                        g[c] = e
                        sum += Double(e)
                        logitSum += Double(z[c])
                    }
                    let lse = Double(m) + logDouble(sum)
                    let label = labels[row]
                    total += (1 - eps) * (lse - Double(z[label])) + uniform * (Double(classes) * lse - logitSum)
                    let inverseSum = 1 / sum
                    for c in 0..<classes {
                        let q = uniform + (c == label ? 1 - eps : 0)
                        g[c] = Float((Double(g[c]) * inverseSum - q) * inverseBatch)
                    }
                }
            }
        }
        return LossOutput(value: Float(total * inverseBatch), gradient: gradient)
    }
}
