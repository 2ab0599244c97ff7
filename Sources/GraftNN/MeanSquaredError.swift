import GraftTensor

/// The mean squared error over all elements, as PyTorch's `MSELoss()`:
///
///     L = (1/N) Σ_i (p_i − t_i)²,   ∂L/∂p_i = 2 (p_i − t_i) / N
///
/// for predictions `p` and targets `t` of one shape with `N` elements. The sum runs in
/// `Double`; the gradient is written into a buffer the loss keeps.
public final class MeanSquaredError {
    private var gradient = Tensor(zeros: [0])

    /// A mean-squared-error loss.
    public init() {}

    /// The mean squared error and `∂L/∂predictions`.
    /// - Throws: `LossError.shapeMismatch` when the shapes differ, `LossError.emptyBatch` when
    ///   there are no elements.
    public func callAsFunction(_ predictions: Tensor, targets: Tensor) throws -> LossOutput {
        guard predictions.shape == targets.shape else {
            throw LossError.shapeMismatch(expected: targets.shape, actual: predictions.shape)
        }
        let n = predictions.count
        guard n > 0 else { throw LossError.emptyBatch }
        Workspace.prepare(&gradient, shape: predictions.shape)
        let scale = 2 / Float(n)
        var total = 0.0
        predictions.withUnsafeBufferPointer { pb in
            targets.withUnsafeBufferPointer { tb in
                gradient.withUnsafeMutableBufferPointer { gb in
                    for i in 0..<n {
                        let d = pb[i] - tb[i]
                        total += Double(d) * Double(d)
                        gb[i] = scale * d
                    }
                }
            }
        }
        return LossOutput(value: Float(total / Double(n)), gradient: gradient)
    }
}
