import Testing
import GraftOptim
import GraftTensor

/// Issue 14, items 6 and 7: construction errors that say what happened (duplicate member
/// names, a group of frozen parameters), re-taking anchors after loading weights, and
/// inspection that cannot silently miss (`requireTelemetry`, `stateDescription`).
@Suite("Construction errors and inspection")
struct ConstructionAndInspectionTests {
    func params(trainableHead: Bool = true) -> [NamedParameter] {
        [NamedParameter(path: "body.weight", parameter: Parameter(Tensor(repeating: 1, shape: [2, 3]))),
         NamedParameter(path: "body.bias", parameter: Parameter(Tensor(repeating: 0.5, shape: [3]))),
         NamedParameter(path: "head.weight", parameter: Parameter(Tensor(repeating: 2, shape: [4]), trainable: trainableHead, anchor: .none))]
    }

    @Test func duplicateMemberNamesAreRefused() throws {
        let group = try ParameterGroup("all", selecting: .all) {
            try ScaleByAdam().named("adam")
            try AddDecayedWeights(0.1).named("adam")
            try ScaleByLearningRate(0.1)
        }
        #expect(throws: OptimizerError.duplicateMember(name: "adam", group: "all")) {
            _ = try Optimizer(parameters: params(), groups: [group])
        }
        // Nested chains are flattened: a name repeated across levels is a duplicate too.
        let nested = try ParameterGroup("all", selecting: .all) {
            try chain { try Momentum(momentum: 0.9).named("m") }
            try ScaleByRMS().named("m")
            try ScaleByLearningRate(0.1)
        }
        #expect(throws: OptimizerError.duplicateMember(name: "m", group: "all")) { _ = try Optimizer(parameters: params(), groups: [nested]) }
        // Distinct names (and unnamed members) are fine.
        _ = try Optimizer(parameters: params(), groups: [try ParameterGroup("all", selecting: .all, transform: try Recipes.adamW(learningRate: 0.1))])
        let message = "\(OptimizerError.duplicateMember(name: "adam", group: "all"))"
        #expect(message.contains("'adam'") && message.contains("'all'"))
    }

    @Test func aGroupOfFrozenParametersSaysSo() throws {
        let heads = try ParameterGroup("head", selecting: .prefix("head."), transform: try Recipes.sgd(learningRate: 0.1))
        let rest = try ParameterGroup("rest", selecting: .all, transform: try Recipes.sgd(learningRate: 0.1))
        #expect(throws: OptimizerError.onlyFrozenParameters(group: "head", paths: ["head.weight"])) {
            _ = try Optimizer(parameters: params(trainableHead: false), groups: [heads, rest])
        }
        let message = "\(OptimizerError.onlyFrozenParameters(group: "head", paths: ["head.weight"]))"
        #expect(message.contains("only frozen") && message.contains("head.weight"))
        // A selector that matches nothing at all is still "selects no parameter".
        let none = try ParameterGroup("none", selecting: .prefix("nope."), transform: try Recipes.sgd(learningRate: 0.1))
        #expect(throws: OptimizerError.emptyGroup(group: "none")) { _ = try Optimizer(parameters: params(), groups: [none, rest]) }
    }

    @Test func anchorsCanBeRetakenAfterLoadingWeights() throws {
        let ps = params()
        let o = try Optimizer(parameters: ps, groups: [try ParameterGroup("all", selecting: .all, transform: try Recipes.l2sp(learningRate: 0.1, alpha: 1))])
        #expect(o.anchor(for: "body.weight") == Tensor(repeating: 1, shape: [2, 3]))
        // "Load" pre-trained weights after building the optimizer, then re-take θ0.
        ps[0].parameter.value = Tensor(repeating: 3, shape: [2, 3])
        ps[1].parameter.value = Tensor(repeating: -1, shape: [3])
        #expect(o.anchor(for: "body.weight") == Tensor(repeating: 1, shape: [2, 3]), "the old anchor stays until re-taken")
        try o.retakeAnchors()
        #expect(o.anchor(for: "body.weight") == Tensor(repeating: 3, shape: [2, 3]))
        #expect(o.anchor(for: "head.weight") == nil, "no anchor is made for a parameter without one")
        // θ = θ0 now, so with a zero gradient L2-SP does not move the body.
        try o.step(objectives: [[:]])
        #expect(ps[0].parameter.value == Tensor(repeating: 3, shape: [2, 3]))
        // The anchor is a copy: the step above did not change it even where θ moves.
        try o.retakeAnchors(["body.bias": Tensor(repeating: 7, shape: [3])])
        #expect(o.anchor(for: "body.bias") == Tensor(repeating: 7, shape: [3]))
        #expect(throws: OptimizerError.unknownPath(path: "nope")) { try o.retakeAnchors(["nope": Tensor(zeros: [1])]) }
        #expect(throws: OptimizerError.shapeMismatch(path: "body.bias", expected: [3], actual: [2])) {
            try o.retakeAnchors(["body.bias": Tensor(zeros: [2])])
        }
    }

    @Test func requireTelemetryThrowsForUnknownPaths() throws {
        let o = try Optimizer(parameters: params(), groups: [try ParameterGroup("all", selecting: .all, transform: try Recipes.lamb(learningRate: 0.1))])
        try o.step(objectives: [["body.weight": Tensor(repeating: 1, shape: [2, 3])]])
        #expect(try o.requireTelemetry(for: "body.weight")["trust_ratio"] != nil)
        #expect(throws: OptimizerError.unknownPath(path: "body.wieght")) { _ = try o.requireTelemetry(for: "body.wieght") }
        #expect(o.telemetry(for: "body.wieght") == [:])
    }

    @Test func stateDescriptionListsGroupsMembersTensorsAndBytes() throws {
        let o = try Optimizer(parameters: params(), groups: [
            try ParameterGroup("body", selecting: .prefix("body."), transform: try Recipes.digrap(learningRate: 0.1, omega: .learned(mu: 0.5))),
            try ParameterGroup("head", selecting: .all, transform: try Recipes.rmsprop(learningRate: 0.1, momentum: 0.9, centered: true)),
        ])
        let d = o.stateDescription()
        #expect(d.groups.map(\.name) == ["body", "head"])
        let head = try #require(d.groups.last)
        let rms = try #require(head.members.first { $0.name == "rmsprop" })
        #expect(rms.kind == "scale_by_rms")
        #expect(rms.entries.map(\.path) == ["head.weight"])
        #expect(rms.entries[0].tensors.map(\.name) == ["square_avg", "grad_avg", "momentum_buffer"])
        #expect(rms.entries[0].tensors.allSatisfy { $0.shape == [4] })
        #expect(rms.bytes == 3 * 4 * 4)
        let body = try #require(d.groups.first)
        let adam = try #require(body.members.first { $0.name == "adam" })
        #expect(adam.bytes == 2 * 4 * (6 + 3))
        #expect(body.anchorBytes == 4 * (6 + 3))
        #expect(d.totalBytes == body.bytes + head.bytes)
        let table = d.description
        #expect(table.contains("| head | rmsprop (scale_by_rms) | head.weight | square_avg [4], grad_avg [4], momentum_buffer [4] | 48 |"))
        #expect(table.hasSuffix("| total | | | | \(d.totalBytes) |"))
    }
}
