import GraftNN
import GraftTensor

/// Gradient accumulation over micro-batches, with the arithmetic of data-parallel ranks.
///
/// A batch of `n` rows is cut into `K` contiguous parts of `n_k = ⌊n·(k+1)/K⌋ − ⌊n·k/K⌋` rows
/// (the split of `DataParallelism.shard(ofRows:)`). For each part the model's gradients are
/// cleared and one forward and backward pass gives the part's mean-loss gradient `g_k`; a
/// `GradientBucket` holds `a ← fl(n_0/n · g_0)`, then `a ← fl(a + fl(n_k/n · g_k))`, and finally
/// `a` goes back into the gradients: the gradient of the batch's mean loss
/// `Σ_k (n_k/n)·g_k`. With `K = 2` this is, float operation for float operation, what two
/// ranks compute (each packs `fl(n_r/n · g_r)` into its bucket, the sum all-reduce adds the two
/// buffers), so a one-process run and a 2-rank run are bitwise equal. A parameter that no part's
/// backward pass reaches keeps no gradient, as after one pass over the whole batch.
final class MicroBatchAccumulator {
    private let bucket: GradientBucket
    /// The rows of each part, reused from batch to batch while their shapes stay the same.
    private var parts: [Tensor] = []

    /// An accumulator for the gradients of `parameters` (the trainable ones, in model order).
    init(parameters: [NamedParameter]) {
        bucket = GradientBucket(parameters: parameters)
    }

    /// Leaves the gradient of the mean `loss` over `images` / `labels`, accumulated over
    /// `count` micro-batches, in the parameters' gradients; returns `Σ_k (n_k/n)·loss_k`.
    func gradient(of model: any Layer, loss: SoftmaxCrossEntropy, images: Tensor, labels: [Int], parts count: Int) throws -> Float {
        let n = labels.count, width = images.count / max(1, n)
        if parts.count != count { parts = [Tensor](repeating: Tensor(zeros: [0]), count: count) }
        var total: Float = 0, first = true
        var reached = [Bool](repeating: false, count: bucket.parameters.count)
        for k in 0..<count {
            let lower = n * k / count, upper = n * (k + 1) / count
            guard upper > lower else { continue }
            let shape = [upper - lower] + images.shape.dropFirst()
            if parts[k].shape != shape { parts[k] = Tensor(zeros: shape) }
            images.withUnsafeBufferPointer { src in
                parts[k].withUnsafeMutableBufferPointer { dst in
                    dst.baseAddress!.update(from: src.baseAddress! + lower * width, count: (upper - lower) * width)
                }
            }
            model.clearGradients()
            let out = try loss(model.forward(parts[k]), labels: Array(labels[lower..<upper]))
            try model.accumulateParameterGradients(out.gradient)
            let share = Float(upper - lower) / Float(n)
            total += share * out.value
            for (j, p) in bucket.parameters.enumerated() where p.parameter.hasGradient { reached[j] = true }
            bucket.pack(scale: share, accumulating: !first)
            first = false
        }
        bucket.unpack { reached[$0] }
        for (j, p) in bucket.parameters.enumerated() where !reached[j] { p.parameter.clearGradient() }
        return total
    }
}
