import GraftNN
import GraftTensor
import Testing

@Suite("State-dict loading (strict, non-strict, name mapping)")
struct StateDictLoadingTests {
    func mlp(seed: UInt64, classes: Int = 2) throws -> Sequential {
        try Sequential {
            try Sequential("body") {
                try Dense(3, 4, seed: seed)
                ReLU()
                try Dense(4, 4, seed: seed + 1)
            }
            try Dense(4, classes, seed: seed + 2).named("head")
        }
    }

    @Test func strictExactLoadReportsEveryParameter() throws {
        let source = try mlp(seed: 1), target = try mlp(seed: 9)
        let report = try target.loadStateDict(source.namedTensors())
        #expect(report.isExact)
        #expect(report.loaded == ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "head.weight", "head.bias"])
        #expect(target.namedTensors() == source.namedTensors())
        #expect(report.description == "all 6 parameters loaded")
    }

    @Test func strictListsEveryProblemAndChangesNothing() throws {
        let target = try mlp(seed: 9)
        let before = target.namedTensors()
        var tensors = try mlp(seed: 1, classes: 5).namedTensors()
        tensors["body.0.bias"] = nil
        tensors["extra.weight"] = Tensor([1])
        var expected = StateDictReport()
        expected.loaded = ["body.0.weight", "body.2.weight", "body.2.bias"]
        expected.missing = ["body.0.bias"]
        expected.unexpected = ["extra.weight"]
        expected.shapeMismatches = [.init(path: "head.weight", expected: [2, 4], actual: [5, 4]),
                                    .init(path: "head.bias", expected: [2], actual: [5])]
        #expect(throws: StateDictError.incompatible(expected)) { try target.loadStateDict(tensors) }
        #expect(target.namedTensors() == before)
        #expect(StateDictError.incompatible(expected).description.contains("size mismatch for head.weight: the checkpoint has shape [5, 4], the model's parameter has shape [2, 4]"))
    }

    @Test func nonStrictLoadsWhatFitsAndReports() throws {
        let target = try mlp(seed: 9)
        let before = target.namedTensors()
        let source = try mlp(seed: 1, classes: 5)
        var tensors = source.namedTensors()
        tensors["body.0.bias"] = nil
        tensors["extra"] = Tensor([1])
        let report = try target.loadStateDict(tensors, strict: false)
        #expect(report.missing == ["body.0.bias"])
        #expect(report.unexpected == ["extra"])
        #expect(report.shapeMismatches.map(\.path) == ["head.weight", "head.bias"])
        let after = target.namedTensors()
        #expect(after["body.0.weight"] == tensors["body.0.weight"])
        #expect(after["body.2.bias"] == tensors["body.2.bias"])
        #expect(after["body.0.bias"] == before["body.0.bias"])
        #expect(after["head.weight"] == before["head.weight"])
    }

    @Test func prefixMappingRenamesBeforeMatching() throws {
        let source = try mlp(seed: 1), target = try mlp(seed: 9)
        var wrapped: [String: Tensor] = [:]
        for (k, v) in source.namedTensors() { wrapped["module." + (k.hasPrefix("body.") ? "backbone." + k.dropFirst(5) : k)] = v }
        #expect(throws: StateDictError.self) { try target.loadStateDict(wrapped) }
        let mapping = NameMapping([.init(from: "module.backbone.", to: "body."), .init(from: "module.", to: "")])
        #expect(mapping.apply("module.backbone.0.weight") == "body.0.weight")
        #expect(mapping.apply("module.head.bias") == "head.bias")
        #expect(mapping.apply("other") == "other")
        #expect(try target.loadStateDict(wrapped, mapping: mapping).isExact)
        #expect(target.namedTensors() == source.namedTensors())
    }

    @Test func mappingCollisionIsRefused() throws {
        let target = try mlp(seed: 9)
        let t = try #require(target.namedTensors()["head.bias"])
        #expect(throws: StateDictError.mappingCollision(first: "a.head.bias", second: "b.head.bias", mapped: "head.bias")) {
            try target.loadStateDict(["a.head.bias": t, "b.head.bias": t], strict: false,
                                     mapping: NameMapping([.init(from: "a.", to: ""), .init(from: "b.", to: "")]))
        }
    }
}
