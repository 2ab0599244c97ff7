import Foundation
import Testing
import GraftNN
import GraftSafetensors
import GraftTensor
@testable import GraftTrain

/// RobustFineTune's `--pretrained` / `--export` path through the library: given weights
/// replace pre-training, every method's final model reaches the hook, and the exported file
/// of a model reproduces its reported test accuracy.
@Suite struct GivenPretrainedTests {
    @Test func givenWeightsReplacePretrainingAndEveryMethodIsHanded() throws {
        let domains = try DigitDomains.load(from: bundledDataFolder)
        var config = ExperimentConfiguration.quick
        config.hidden = [16]
        config.epochs = 1
        config.batchSize = 16
        config.trainPerClass = 3
        config.validationPerClass = 2
        config.testPerClass = 4
        let given = try Classifier.mlp(input: 256, hidden: config.hidden, classes: 10, seed: 42)
        let experiment = try RobustFineTuneExperiment(configuration: config, methods: [.zeroShot, .fineTune], pretrainData: domains.fonts,
                                                      finetuneData: domains.optdigits, cacheDirectory: nil, progress: ProgressLine(mode: .silent))
        experiment.givenPretrainedWeights = given.weights()
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        var handed: [FineTuneMethod] = []
        experiment.onMethodFinished = { finished in
            handed.append(finished.method)
            #expect(finished.split.testIndices.count == 40)
            let url = dir.file(finished.method.rawValue + ".safetensors")
            try finished.model.model.exportSafetensors(to: url)
            // The exported file, loaded into a fresh classifier, gives the reported accuracy.
            let reloaded = try Classifier.mlp(loadingSafetensors: url, input: 256, classes: 10)
            #expect(try evaluateAccuracy(reloaded.model, on: finished.split.test) == finished.result.idAccuracy)
        }
        let result = try experiment.run(seed: 1)
        #expect(handed == [.zeroShot, .fineTune])
        #expect(result.pretrainSeconds == 0)
        // Zero-shot is the given model itself.
        #expect(try Safetensors.read(path: dir.file("zero-shot.safetensors").path).tensors == given.weights())
        #expect(try Safetensors.read(path: dir.file("ft.safetensors").path).tensors != given.weights())
    }
}
