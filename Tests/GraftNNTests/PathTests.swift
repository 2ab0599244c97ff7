import GraftNN
import GraftTensor
import Testing

func paths(_ layer: any Layer) -> [String] { layer.namedParameters().map(\.path) }

@Suite("Parameter paths")
struct PathTests {
    func model(hidden: Int, depth: Int, normalize: Bool, dropout: Bool) throws -> Sequential {
        try Sequential {
            try Sequential("body") {
                for i in 0..<depth {
                    try Dense(i == 0 ? 4 : hidden, hidden, seed: UInt64(i))
                    ReLU()
                }
                if normalize { try LayerNorm(hidden) }
                if dropout {
                    try Dropout(0.1, seed: 9)
                } else {
                    Tanh()
                }
            }
            try Dense(hidden, 3, seed: 7).named("head")
        }
    }

    @Test func builderForAndIfProduceExpectedPaths() throws {
        #expect(try paths(model(hidden: 8, depth: 2, normalize: true, dropout: true)) == [
            "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias",
            "body.4.weight", "body.4.bias", "head.weight", "head.bias",
        ])
        #expect(try paths(model(hidden: 8, depth: 3, normalize: false, dropout: false)) == [
            "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "body.4.weight", "body.4.bias",
            "head.weight", "head.bias",
        ])
        #expect(try paths(model(hidden: 8, depth: 0, normalize: true, dropout: false)) == [
            "body.0.weight", "body.0.bias", "head.weight", "head.bias",
        ])
        // The else branch contributes a Tanh, the if branch a Dropout: same count of children.
        let withDropout = try model(hidden: 8, depth: 1, normalize: false, dropout: true)
        let body = try #require(withDropout["body"] as? Sequential)
        #expect(body.children.map(\.name) == ["0", "1", "2"])
        #expect(body[2] is Dropout)
        #expect(try (model(hidden: 8, depth: 1, normalize: false, dropout: false)["body"] as? Sequential)?[2] is Tanh)
    }

    @Test func pathsAreUniqueAndStableAcrossConstructions() throws {
        let a = try paths(model(hidden: 5, depth: 3, normalize: true, dropout: true))
        let b = try paths(model(hidden: 5, depth: 3, normalize: true, dropout: true))
        #expect(a == b)
        #expect(Set(a).count == a.count)
        // Same seeds, same values: construction is deterministic too.
        let ta = try model(hidden: 5, depth: 3, normalize: true, dropout: true).namedTensors()
        let tb = try model(hidden: 5, depth: 3, normalize: true, dropout: true).namedTensors()
        #expect(ta == tb)
    }

    @Test func nestedNamesAndLoRAPaths() throws {
        let m = try Sequential {
            try Sequential("encoder") {
                try Sequential("block") {
                    try LoRA(try Dense(3, 3, seed: 1), rank: 1, alpha: 1, seed: 2)
                    GELU()
                }
                try Sequential { try Dense(3, 3, bias: false, seed: 3) }
            }
            try LayerNorm(3).named("norm")
        }
        #expect(paths(m) == [
            "encoder.block.0.weight", "encoder.block.0.bias", "encoder.block.0.lora_a", "encoder.block.0.lora_b",
            "encoder.1.0.weight", "norm.weight", "norm.bias",
        ])
        // The root's own name is not a segment of its own paths.
        let named = try Sequential("root") { try Dense(2, 2, seed: 1) }
        #expect(paths(named) == ["0.weight", "0.bias"])
    }

    @Test func arraysOfLayersAreNumberedInOrder() throws {
        let layers: [any Layer] = try (0..<3).map { try Dense(2, 2, seed: UInt64($0)) }
        let m = try Sequential { layers }
        #expect(paths(m) == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"])
    }

    @Test func invalidStructuresThrow() throws {
        #expect(throws: LayerError.duplicateName("head")) {
            try Sequential {
                try Dense(2, 2, seed: 1).named("head")
                try Dense(2, 2, seed: 2).named("head")
            }
        }
        #expect(throws: LayerError.duplicateName("1")) {
            try Sequential {
                ReLU()
                ReLU()
                try Dense(2, 2, seed: 2).named("1")
            }
        }
        #expect(throws: LayerError.invalidName("a.b")) { try Sequential { ReLU().named("a.b") } }
        #expect(throws: LayerError.invalidName("")) { try Sequential("") { ReLU() } }
        let shared = try Dense(2, 2, seed: 1)
        #expect(throws: LayerError.repeatedLayer(path: "1")) { try Sequential { shared; shared } }
        let inner = try Sequential("inner") { shared }
        #expect(throws: LayerError.repeatedLayer(path: "inner.0")) { try Sequential { shared; inner } }
    }

    @Test func freezeUnfreezeAndAnchorsReachTheWholeTree() throws {
        let m = try model(hidden: 4, depth: 2, normalize: true, dropout: false)
        let body = try #require(m["body"])
        body.freeze()
        let flags = m.namedParameters().map { ($0.path, $0.parameter.isTrainable) }
        #expect(flags.allSatisfy { $0.1 == !$0.0.hasPrefix("body.") })
        #expect(m.parameterCount(trainableOnly: true) == 4 * 3 + 3)
        #expect(m.parameterCount() == (4 * 4 + 4) * 2 + 4 * 2 + 4 * 3 + 3)
        m.unfreeze()
        #expect(m.namedParameters().allSatisfy { $0.parameter.isTrainable })
        try #require(m["head"]).setAnchor(.none)
        #expect(m.namedParameters().map(\.parameter.anchor) == Array(repeating: .initial, count: 6) + [.none, .none])
    }

    @Test func setModeReachesNestedDropout() throws {
        let dropout = try Dropout(0.5, seed: 1)
        let m = try Sequential { try Sequential { try Sequential { dropout } } }
        #expect(dropout.mode == .training)
        m.setMode(.evaluation)
        #expect(dropout.mode == .evaluation)
        m.setMode(.training)
        #expect(dropout.mode == .training)
    }
}
