import GraftTensor

/// The fraction of rows whose largest logit is at the label's index:
/// `(1/B) Σ_b 1[argmax_c z_{b,c} = y_b]`. Ties go to the lowest index (as `argmax` in
/// PyTorch and NumPy); a row containing NaN counts as wrong.
/// - Throws: `LossError` when `logits` is not `[labels.count, C]` with `labels.count > 0`, or a
///   label is outside `0..<C`.
public func accuracy(logits: Tensor, labels: [Int]) throws -> Float {
    let (batch, classes) = try validateClassification(logits, labels: labels)
    var correct = 0
    logits.withUnsafeBufferPointer { zb in
        for row in 0..<batch {
            let z = zb.baseAddress! + row * classes
            var best = 0
            var hasNaN = z[0].isNaN
            for c in 1..<classes {
                if z[c].isNaN { hasNaN = true }
                if z[c] > z[best] { best = c }
            }
            if !hasNaN && best == labels[row] { correct += 1 }
        }
    }
    return Float(correct) / Float(batch)
}
