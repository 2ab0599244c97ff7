import GraftNN
import GraftTensor

/// Accuracy of `model` on `dataset`, in batches of `batchSize` (evaluation mode, in order).
public func evaluateAccuracy(_ model: any Layer, on dataset: DigitDataset, batchSize: Int = 256) throws -> Double {
    guard dataset.count > 0 else { return .nan }
    model.setMode(.evaluation)
    defer { model.setMode(.training) }
    var correct = 0
    let width = dataset.pixelCount
    var start = 0
    while start < dataset.count {
        let n = min(batchSize, dataset.count - start)
        let slice = dataset.images.withUnsafeBufferPointer { Array($0[(start * width)..<((start + n) * width)]) }
        let logits = try model.forward(try Tensor(shape: [n, width], scalars: slice))
        let classes = logits.shape[1]
        logits.withUnsafeBufferPointer { l in
            for r in 0..<n {
                var best = 0
                for c in 1..<classes where l[r * classes + c] > l[r * classes + best] { best = c }
                if best == dataset.labels[start + r] { correct += 1 }
            }
        }
        start += n
    }
    return Double(correct) / Double(dataset.count)
}
