import GraftNN
import GraftTensor
import Testing

@Suite("Weights as named tensors")
struct WeightLoadingTests {
    func mlp(seed: UInt64) throws -> Sequential {
        try Sequential {
            try Sequential("body") {
                try Dense(3, 4, seed: seed)
                ReLU()
                try LayerNorm(4)
            }
            try Dense(4, 2, seed: seed + 1).named("head")
        }
    }

    @Test func roundTripReproducesTheModel() throws {
        let source = try mlp(seed: 1)
        let target = try mlp(seed: 10)
        var g = SeededGenerator(seed: 3)
        let x = Tensor.randomNormal(shape: [2, 3], generator: &g)
        #expect(try source.forward(x) != target.forward(x))
        let exported = source.namedTensors()
        #expect(Set(exported.keys) == ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "head.weight", "head.bias"])
        try target.load(exported)
        #expect(target.namedTensors() == exported)
        #expect(try source.forward(x) == target.forward(x))
        // The export is a snapshot: training the target afterwards does not change it.
        let head = try #require(target["head"] as? Dense)
        head.weight.value[flat: 0] += 1
        #expect(exported["head.weight"] == source.namedTensors()["head.weight"])
    }

    @Test func misShapedTensorNamesPathAndBothShapesAndChangesNothing() throws {
        let model = try mlp(seed: 1)
        let before = model.namedTensors()
        var tensors = try mlp(seed: 5).namedTensors()
        tensors["head.weight"] = Tensor(zeros: [4, 2])
        #expect(throws: WeightLoadingError.shapeMismatch(path: "head.weight", expected: [2, 4], actual: [4, 2])) {
            try model.load(tensors)
        }
        // body.* came first and was valid, yet nothing was written.
        #expect(model.namedTensors() == before)
        let message = WeightLoadingError.shapeMismatch(path: "head.weight", expected: [2, 4], actual: [4, 2]).description
        #expect(message.contains("head.weight") && message.contains("[2, 4]") && message.contains("[4, 2]"))
    }

    @Test func missingAndUnexpectedPathsThrowInStrictMode() throws {
        let model = try mlp(seed: 1)
        let before = model.namedTensors()
        var tensors = try mlp(seed: 5).namedTensors()
        tensors["body.2.bias"] = nil
        #expect(throws: WeightLoadingError.missingPath("body.2.bias")) { try model.load(tensors) }
        #expect(model.namedTensors() == before)
        tensors = try mlp(seed: 5).namedTensors()
        tensors["body.9.weight"] = Tensor(zeros: [1])
        #expect(throws: WeightLoadingError.unexpectedPath("body.9.weight")) { try model.load(tensors) }
        #expect(model.namedTensors() == before)
    }

    @Test func nonStrictLoadFillsAPlainModelIntoItsLoRAVersion() throws {
        let pretrained = try Sequential { try Dense(3, 4, seed: 1); Tanh(); try Dense(4, 2, seed: 2) }
        let adapted = try Sequential {
            try LoRA(try Dense(3, 4, seed: 7), rank: 2, alpha: 2, seed: 8)
            Tanh()
            try Dense(4, 2, seed: 9)
        }
        #expect(throws: WeightLoadingError.missingPath("0.lora_a")) { try adapted.load(pretrained.namedTensors()) }
        try adapted.load(pretrained.namedTensors(), strict: false)
        var g = SeededGenerator(seed: 3)
        let x = Tensor.randomNormal(shape: [2, 3], generator: &g)
        #expect(try adapted.forward(x) == pretrained.forward(x))
        // Shapes are still checked when not strict.
        var wrong = pretrained.namedTensors()
        wrong["2.bias"] = Tensor(zeros: [3])
        #expect(throws: WeightLoadingError.shapeMismatch(path: "2.bias", expected: [2], actual: [3])) {
            try adapted.load(wrong, strict: false)
        }
    }
}
