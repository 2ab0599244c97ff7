import GraftNN
import GraftTensor

/// Gradient accumulation over micro-batches, with the arithmetic of data-parallel ranks.
///
/// A batch of `n` rows is cut into `K` contiguous parts of `n_k = ⌊n·(k+1)/K⌋ − ⌊n·k/K⌋` rows
/// (the split of `DataParallelism.shard(ofRows:)`). For each part the model's gradients are
/// cleared and one forward and backward pass gives the part's mean-loss gradient `g_k`; the
/// accumulator holds `a ← fl(n_0/n · g_0)`, then `a ← fl(a + fl(n_k/n · g_k))`, and finally
/// writes `a` into the gradients: the gradient of the batch's mean loss
/// `Σ_k (n_k/n)·g_k`. With `K = 2` this is, float operation for float operation, what two
/// ranks compute (each packs `fl(n_r/n · g_r)`, the sum all-reduce adds the two buffers), so a
/// one-process run and a 2-rank run are bitwise equal. One buffer of the trainable
/// parameters' size is allocated once. A parameter that no part's backward pass reaches keeps
/// no gradient, as after one pass over the whole batch.
final class MicroBatchAccumulator {
    private let parameters: [NamedParameter]
    private var sum: [Float]

    /// An accumulator for the gradients of `parameters` (the trainable ones, in model order).
    init(parameters: [NamedParameter]) {
        self.parameters = parameters
        sum = [Float](repeating: 0, count: parameters.reduce(0) { $0 + $1.parameter.value.count })
    }

    /// Leaves the gradient of the mean `loss` over `images` / `labels`, accumulated over
    /// `parts` micro-batches, in the parameters' gradients; returns `Σ_k (n_k/n)·loss_k`.
    func gradient(of model: any Layer, loss: SoftmaxCrossEntropy, images: Tensor, labels: [Int], parts: Int) throws -> Float {
        let n = labels.count, width = images.count / max(1, n)
        var total: Float = 0, first = true
        var reached = [Bool](repeating: false, count: parameters.count)
        for k in 0..<parts {
            let lower = n * k / parts, upper = n * (k + 1) / parts
            guard upper > lower else { continue }
            var part = Tensor(zeros: [upper - lower] + images.shape.dropFirst())
            images.withUnsafeBufferPointer { src in
                part.withUnsafeMutableBufferPointer { dst in
                    dst.baseAddress!.update(from: src.baseAddress! + lower * width, count: (upper - lower) * width)
                }
            }
            model.clearGradients()
            let out = try loss(model.forward(part), labels: Array(labels[lower..<upper]))
            try model.accumulateParameterGradients(out.gradient)
            let share = Float(upper - lower) / Float(n)
            total += share * out.value
            let initializes = first
            first = false
            sum.withUnsafeMutableBufferPointer { a in
                var offset = 0
                for (j, p) in parameters.enumerated() {
                    if p.parameter.hasGradient { reached[j] = true }
                    p.parameter.gradient.withUnsafeBufferPointer { g in
                        if initializes {
                            for i in g.indices { a[offset + i] = share * g[i] }
                        } else {
                            for i in g.indices { a[offset + i] += share * g[i] }
                        }
                        offset += g.count
                    }
                }
            }
        }
        sum.withUnsafeBufferPointer { a in
            var offset = 0
            for (j, p) in parameters.enumerated() {
                let count = p.parameter.value.count
                // A parameter no part's backward pass reached keeps "no gradient" (see
                // `MissingGradientPolicy`).
                if reached[j] {
                    p.parameter.gradient.withUnsafeMutableBufferPointer { g in
                        g.baseAddress!.update(from: a.baseAddress! + offset, count: count)
                    }
                } else {
                    p.parameter.clearGradient()
                }
                offset += count
            }
        }
        return total
    }
}
