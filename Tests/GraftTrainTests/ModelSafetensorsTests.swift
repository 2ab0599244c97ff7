import Foundation
import GraftNN
import GraftSafetensors
import GraftTensor
@testable import GraftTrain
import Testing

@Suite("Models to and from safetensors")
struct ModelSafetensorsTests {
    @Test func exportThenLoadReproducesTheClassifier() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanup() }
        let source = try Classifier.mlp(input: 6, hidden: [5, 4], classes: 3, seed: 1)
        let target = try Classifier.mlp(input: 6, hidden: [5, 4], classes: 3, seed: 2)
        let url = folder.file("m.safetensors")
        try source.model.exportSafetensors(to: url, metadata: ["run": "test"])
        let file = try SafetensorsFile(path: url.path)
        // PyTorch's names for nn.Sequential(OrderedDict(body=nn.Sequential(Linear, ReLU, Linear, ReLU), head=Linear)).
        #expect(Set(file.names) == ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "head.weight", "head.bias"])
        #expect(file.entry("body.0.weight")?.shape == [5, 6])
        #expect(file.metadata["writer"] == "Graft (GraftSafetensors)")
        #expect(file.metadata["run"] == "test")
        #expect(file.metadata["graft.parameters"] == "\(source.model.parameterCount())")
        #expect(try target.model.loadSafetensors(from: url).isExact)
        #expect(target.weights() == source.weights())
    }

    @Test func nonStrictLoadsABackboneWithAnotherHead() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanup() }
        let source = try Classifier.mlp(input: 6, hidden: [5], classes: 7, seed: 1)
        let target = try Classifier.mlp(input: 6, hidden: [5], classes: 3, seed: 2)
        let url = folder.file("m.safetensors")
        try source.model.exportSafetensors(to: url, type: .bf16)
        #expect(throws: StateDictError.self) { try target.model.loadSafetensors(from: url) }
        let report = try target.model.loadSafetensors(from: url, strict: false)
        #expect(report.loaded == ["body.0.weight", "body.0.bias"])
        #expect(report.shapeMismatches.map(\.path) == ["head.weight", "head.bias"])
        let expected = source.weights()["body.0.weight"]!.scalars.map { HalfPrecision.float(fromBF16: HalfPrecision.bf16(from: $0)) }
        #expect(target.weights()["body.0.weight"]!.scalars == expected)
    }
}

@Suite("Classifier from a PyTorch-named checkpoint")
struct ClassifierCheckpointTests {
    @Test func hiddenWidthsAreReadFromTheNames() throws {
        let source = try Classifier.mlp(input: 6, hidden: [5, 4, 3], classes: 2, seed: 1)
        let loaded = try Classifier.mlp(loading: source.weights(), input: 6, classes: 2)
        #expect(loaded.weights() == source.weights())
        #expect(loaded.head.inputFeatures == 3)
    }

    @Test func wrongInputWidthOrNamesAreExplained() throws {
        let source = try Classifier.mlp(input: 6, hidden: [5], classes: 2, seed: 1)
        #expect(throws: DataError.invalidArgument("body.0.weight has shape [5, 6], expected [hidden, 7]")) {
            try Classifier.mlp(loading: source.weights(), input: 7, classes: 2)
        }
        var renamed: [String: Tensor] = [:]
        for (k, v) in source.weights() { renamed["model." + k] = v }
        #expect(throws: DataError.self) { try Classifier.mlp(loading: renamed, input: 6, classes: 2) }
        var extra = source.weights()
        extra["head.extra"] = Tensor([1])
        #expect(throws: StateDictError.self) { try Classifier.mlp(loading: extra, input: 6, classes: 2) }
    }
}
