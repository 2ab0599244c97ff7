import Foundation
import Testing
import GraftNN
import GraftOptim
import GraftTensor
@testable import GraftTrain

/// The robust fine-tuning pipeline with the ViT and CNN backbones (tiny models and splits:
/// this runs in the debug build): pre-training, caching per backbone, DiGraP telemetry on
/// attention matrices and convolution kernels.
@Suite struct BackbonePipelineTests {
    func tinyConfiguration(_ backbone: Backbone) -> ExperimentConfiguration {
        var config = ExperimentConfiguration.quick(backbone)
        config.vitWidth = 16
        config.vitHeads = 2
        config.vitDepth = 1
        config.cnnChannels = [4, 8]
        config.cnnHidden = 16
        config.pretrainEpochs = 2
        config.epochs = 3
        config.batchSize = 16
        config.trainPerClass = 5
        config.validationPerClass = 3
        config.testPerClass = 5
        return config
    }

    @Test(arguments: [Backbone.vit, .cnn])
    func pipelineRunsAndCachesPerBackbone(_ backbone: Backbone) throws {
        let domains = try DigitDomains.load(from: bundledDataFolder)
        let pretrain = try domains.mnist.subset(Array(0..<600))
        let config = tinyConfiguration(backbone)
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let experiment = try RobustFineTuneExperiment(configuration: config, methods: [.zeroShot, .fineTune, .digrap],
                                                      pretrainData: pretrain, finetuneData: domains.optdigits,
                                                      cacheDirectory: dir.file("cache"), progress: ProgressLine(mode: .silent))
        let first = try experiment.run(seed: 1)
        #expect(FileManager.default.fileExists(atPath: dir.file("cache/pretrained-\(backbone.rawValue)-seed1.graftarc").path))
        for r in first.methods {
            #expect(r.idAccuracy.isFinite && (0...1).contains(r.idAccuracy), "\(r.method) ID \(r.idAccuracy)")
        }
        let paths = Set(first.omegaTraces.map(\.path))
        switch backbone {
        case .vit:
            #expect(paths.contains("body.blocks.0.attention.query.weight") && paths.contains("body.patches.projection.weight"))
        case .cnn:
            #expect(paths.contains("body.1.weight") && paths.contains("body.4.weight") && paths.contains("body.8.weight"))
        case .mlp: break
        }
        #expect(first.omegaTraces.allSatisfy { $0.omega.allSatisfy { (0...1).contains($0) } })
        let second = try experiment.run(seed: 1)
        #expect(second.pretrainSeconds == 0)
        #expect(second.methods.count == first.methods.count)
        #expect(zip(second.methods, first.methods).allSatisfy { $0.sameOutcome(as: $1) }, "the cached re-run reproduces every result (step times aside)")
    }

    @Test func backboneKeysAndParsing() throws {
        let keys = Backbone.allCases.map { ExperimentConfiguration(backbone: $0).pretrainingKey }
        #expect(Set(keys).count == 3)
        #expect(ExperimentConfiguration().pretrainedFileName(seed: 2) == "pretrained-seed2.graftarc")
        #expect(try Backbone.parse("ViT") == .vit)
        #expect(throws: DataError.self) { try Backbone.parse("resnet") }
        let vit = try ExperimentConfiguration(backbone: .vit).makeClassifier(seed: 1)
        #expect(vit.head.inputFeatures == 64)
        let x = Tensor(zeros: [3, 256])
        #expect(try vit.model(x).shape == [3, 10])
        let cnn = try ExperimentConfiguration(backbone: .cnn).makeClassifier(seed: 1)
        #expect(try cnn.model(x).shape == [3, 10])
    }
}
