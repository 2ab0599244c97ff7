import GraftNN
import GraftOptim
import GraftTensor
import GraftTestSupport
import GraftTrain
import Testing

/// Gradient accumulation over micro-batches (`Trainer.microBatches`).
@Suite("Trainer: micro-batches")
struct MicroBatchTests {
    func data() throws -> DigitDataset {
        let images = randomUniformTensor([48, 16], seed: 21)
        let labels = (0..<48).map { r in (0..<4).max { a, b in images.scalars[r * 16 + a] < images.scalars[r * 16 + b] }! }
        return try DigitDataset(name: "synthetic", images: images, labels: labels, side: 4, classCount: 4)
    }

    func train(microBatches: Int, batchSize: Int = 12) throws -> (weights: [String: Tensor], loss: Float) {
        let classifier = try Classifier.mlp(input: 16, hidden: [10], classes: 4, seed: 8)
        let optimizer = try Optimizer(parameters: classifier.namedParameters(),
                                      groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.sgd(learningRate: 0.1))])
        var trainer = Trainer(epochs: 2, batchSize: batchSize, seed: 6)
        trainer.microBatches = microBatches
        let loss = try trainer.train(classifier.model, on: try data(), optimizer: optimizer)
        return (classifier.weights(), loss)
    }

    @Test func accumulatedGradientsTrainLikeWholeBatches() throws {
        let whole = try train(microBatches: 1)
        for parts in [2, 5, 12] {   // 5 parts of 12 rows: uneven (2, 2, 3, 2, 3)
            let split = try train(microBatches: parts)
            #expect(isClose(split.loss, whole.loss), "\(parts) micro-batches: loss")
            for (path, w) in whole.weights {
                let a = split.weights[path]!.scalars, b = w.scalars
                let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                #expect(worst < 1e-5, "\(parts) micro-batches: \(path) differs by \(worst)")
            }
        }
    }

    @Test func aDifferentSplitIsADifferentRoundingNotTheSameNumbers() throws {
        // The test above could pass if micro-batches were ignored: they must change the float
        // arithmetic somewhere (the sum of parts is not the whole batch's GEMM).
        let whole = try train(microBatches: 1), split = try train(microBatches: 3)
        let differs = whole.weights.contains { path, w in !bitwiseEqual(w.scalars, split.weights[path]!.scalars) }
        #expect(differs)
    }

    @Test func microBatchCountsOutsideOneToTheBatchAreRefused() throws {
        for bad in [0, -1, 13] {
            #expect(throws: DataError.self, "microBatches \(bad)") { _ = try train(microBatches: bad) }
        }
    }
}
