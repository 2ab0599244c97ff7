import Foundation
import Testing
import GraftNN
import GraftOptim
import GraftTensor
@testable import GraftTrain

/// Issue 13: the pre-training cache key covers the seed, the pre-training data (SHA-256) and
/// the configuration; a cache file swapped between seeds or made from other data is not
/// reused. An empty OOD set is refused.
@Suite struct PretrainingCacheTests {
    static func data(_ n: Int, offset: Int = 0) throws -> DigitDataset {
        var g = SeededGenerator(seed: UInt64(100 + offset))
        let images = Tensor.randomUniform(shape: [n, 256], generator: &g)
        return try DigitDataset(name: "random\(offset)", images: images, labels: (0..<n).map { ($0 + offset) % 10 }, side: 16)
    }

    static func experiment(_ pretrain: DigitDataset, cache: URL, configure: (inout ExperimentConfiguration) -> Void = { _ in })
    throws -> RobustFineTuneExperiment {
        var config = ExperimentConfiguration.quick
        config.hidden = [8]
        config.pretrainEpochs = 1
        config.pretrainBatchSize = 16
        configure(&config)
        return try RobustFineTuneExperiment(configuration: config, methods: [.fineTune], pretrainData: pretrain, finetuneData: try data(40, offset: 7),
                                            cacheDirectory: cache, progress: ProgressLine(mode: .silent))
    }

    @Test func cacheKeyCoversSeedDataAndConfiguration() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let cache = dir.file("cache")
        let pretrain = try Self.data(64)
        let experiment = try Self.experiment(pretrain, cache: cache)
        let first = try experiment.pretrainedWeights(seed: 1)
        #expect(first.seconds > 0)
        let again = try experiment.pretrainedWeights(seed: 1)
        #expect(again.seconds == 0 && again.weights == first.weights, "the same seed, data and configuration reuse the cache")

        // A seed-1 file copied to seed 2's name is not taken for seed 2.
        let seed1 = cache.appendingPathComponent("pretrained-seed1.graftarc")
        try FileManager.default.copyItem(at: seed1, to: cache.appendingPathComponent("pretrained-seed2.graftarc"))
        let second = try experiment.pretrainedWeights(seed: 2)
        #expect(second.seconds > 0 && second.weights != first.weights)
        #expect(experiment.pretrainingCacheKey(seed: 1) != experiment.pretrainingCacheKey(seed: 2))

        // Other data (one label changed) with the same cache folder pre-trains again.
        var labels = pretrain.labels
        labels[0] = (labels[0] + 1) % 10
        let changed = try DigitDataset(name: pretrain.name, images: pretrain.images, labels: labels, side: 16)
        let other = try Self.experiment(changed, cache: cache)
        #expect(other.pretrainingCacheKey(seed: 1) != experiment.pretrainingCacheKey(seed: 1))
        #expect(try other.pretrainedWeights(seed: 1).seconds > 0)
        // So does another configuration.
        let wider = try Self.experiment(pretrain, cache: cache) { $0.pretrainLearningRate = 2e-3 }
        #expect(wider.pretrainingCacheKey(seed: 1) != experiment.pretrainingCacheKey(seed: 1))
        // The same data in a fresh experiment object gives the same key.
        #expect(try Self.experiment(Self.data(64), cache: cache).pretrainingCacheKey(seed: 1) == experiment.pretrainingCacheKey(seed: 1))
    }

    @Test func emptyDataSetsAreRefused() throws {
        let empty = try DigitDataset(name: "empty-ood", images: Tensor(zeros: [0, 256]), labels: [], side: 16)
        #expect(throws: DataError.invalidArgument("empty-ood: the data set has no images")) {
            try RobustFineTuneExperiment(configuration: .quick, methods: [.fineTune], pretrainData: try Self.data(20), finetuneData: try Self.data(20),
                                         extraOOD: [empty], cacheDirectory: nil, progress: ProgressLine(mode: .silent))
        }
    }
}
