import GraftNN
import GraftTensor
import Testing

@Suite("Transformer, LoRA-by-path and image layer behaviour")
struct TransformerBehaviourTests {
    func sequence(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randomNormal(shape: shape, generator: &g)
    }

    @Test func vitPathsReadLikePyTorch() throws {
        let model = try Sequential {
            try PatchEmbedding(channels: 1, imageHeight: 8, imageWidth: 8, patchSize: 4, width: 8, seed: 1).named("patches")
            try ClassToken(width: 8, seed: 2).named("cls")
            try Sequential("blocks") { try TransformerBlock(width: 8, heads: 2, seed: 3) }
        }
        let paths = model.namedParameters().map(\.path)
        #expect(paths.contains("patches.projection.weight"))
        #expect(paths.contains("cls.token"))
        #expect(paths.contains("blocks.0.attention.query.weight"))
        #expect(paths.contains("blocks.0.mlp.fc2.bias"))
        #expect(paths.contains("blocks.0.norm1.weight"))
    }

    @Test func causalAttentionIgnoresLaterTokens() throws {
        let attention = try MultiHeadAttention(width: 6, heads: 2, causal: true, seed: 1)
        var x = sequence([1, 4, 6], seed: 2)
        let before = try attention.forward(x)
        for j in 0..<6 { x[0, 3, j] += 1 }  // change the last token only
        let after = try attention.forward(x)
        for t in 0..<3 { for j in 0..<6 { #expect(before[0, t, j] == after[0, t, j]) } }
        #expect((0..<6).contains { before[0, 3, $0] != after[0, 3, $0] })
    }

    @Test func softmaxIsStableForHugeScores() throws {
        let attention = try MultiHeadAttention(width: 4, heads: 1, seed: 1)
        let x = sequence([2, 3, 4], seed: 2).map { $0 * 1e4 }
        let y = try attention.forward(x)
        #expect(y.scalars.allSatisfy { $0.isFinite })
    }

    @Test func residualInTheBuilderKeepsItsName() throws {
        let model = try Sequential {
            try Residual("skip") {
                try LayerNorm(4)
                try Dense(4, 4, seed: 1).named("proj")
            }
        }
        #expect(model.namedParameters().map(\.path) == ["skip.0.weight", "skip.0.bias", "skip.proj.weight", "skip.proj.bias"])
        let x = sequence([3, 4], seed: 2)
        let body = try #require(model["skip"] as? Residual)
        let fx = try body.body.forward(x)
        let y = try model.forward(x)
        for i in 0..<x.count { #expect(y[flat: i] == x[flat: i] + fx[flat: i]) }
    }

    @Test func addLoRAWrapsMatchingDenseLayersOnly() throws {
        let model = try Sequential("blocks") {
            try TransformerBlock(width: 8, heads: 2, seed: 1)
            try TransformerBlock(width: 8, heads: 2, seed: 2)
        }
        let x = sequence([2, 3, 8], seed: 3)
        let before = try model.forward(x)
        model.freeze()
        let adapted = try model.addLoRA(to: ["*.attention.query", "*.attention.value"], rank: 2, alpha: 4, seed: 4)
        #expect(adapted == ["0.attention.query", "0.attention.value", "1.attention.query", "1.attention.value"])
        // B = 0: the adapted model computes exactly the same function.
        #expect(try model.forward(x) == before)
        let trainable = model.namedParameters().filter(\.parameter.isTrainable).map(\.path)
        #expect(trainable == ["0.attention.query.lora_a", "0.attention.query.lora_b", "0.attention.value.lora_a",
                              "0.attention.value.lora_b", "1.attention.query.lora_a", "1.attention.query.lora_b",
                              "1.attention.value.lora_a", "1.attention.value.lora_b"])
        // The plain model's weights still load (the base paths are unchanged).
        let plain = try Sequential("blocks") {
            try TransformerBlock(width: 8, heads: 2, seed: 5)
            try TransformerBlock(width: 8, heads: 2, seed: 6)
        }
        try model.load(plain.namedTensors(), strict: false)
        #expect(try model.forward(x) == plain.forward(x))
    }

    @Test func mergeLoRAFoldsAdaptersBackIntoDense() throws {
        let block = try TransformerBlock(width: 8, heads: 2, seed: 1)
        try block.addLoRA(to: ["attention.query", "attention.value", "mlp.fc1"], rank: 2, alpha: 4, seed: 2)
        for p in block.namedParameters() where p.path.hasSuffix("lora_b") { randomize(p.parameter, seed: 3) }
        let x = sequence([2, 3, 8], seed: 4)
        let adapted = try block.forward(x)
        #expect(block.mergeLoRA() == ["attention.query", "attention.value", "mlp.fc1"])
        #expect(block.attention.query is Dense && block.mlp["fc1"] is Dense)
        let merged = try block.forward(x)
        for i in 0..<x.count { #expect(abs(merged[flat: i] - adapted[flat: i]) <= 1e-5 + 1e-4 * abs(adapted[flat: i])) }
        #expect(!block.namedParameters().contains { $0.path.contains("lora") })
    }

    @Test func addLoRARejectsWhatItCannotAdapt() throws {
        let block = try TransformerBlock(width: 4, heads: 2, seed: 1)
        #expect(throws: LayerError.noLayerAtPath("attention.gate")) {
            try block.addLoRA(to: ["attention.gate"], rank: 2, alpha: 1, seed: 1)
        }
        #expect(throws: LayerError.notDense(path: "norm1", type: "LayerNorm")) {
            try block.addLoRA(to: ["norm1"], rank: 2, alpha: 1, seed: 1)
        }
        #expect(throws: LayerError.invalidSize(layer: "LoRA", argument: "rank", value: 0, expected: "1…4 = min(in, out)")) {
            try block.addLoRA(to: ["attention.query"], rank: 0, alpha: 1, seed: 1)
        }
        // Nothing changed by the failed calls; a second adaptation of the same path is refused.
        #expect(block.attention.query is Dense)
        try block.addLoRA(to: ["attention.query"], rank: 2, alpha: 1, seed: 1)
        #expect(throws: LayerError.notDense(path: "attention.query", type: "LoRA")) {
            try block.addLoRA(to: ["attention.query"], rank: 2, alpha: 1, seed: 1)
        }
    }

    @Test func configurationErrorsThrow() throws {
        #expect(throws: LayerError.invalidSize(layer: "MultiHeadAttention", argument: "heads", value: 3,
                                               expected: "a positive divisor of width 8")) {
            try MultiHeadAttention(width: 8, heads: 3, seed: 1)
        }
        #expect(throws: LayerError.invalidSize(layer: "PatchEmbedding", argument: "patchSize", value: 3,
                                               expected: "a divisor of the image's 16×16")) {
            try PatchEmbedding(channels: 1, imageHeight: 16, imageWidth: 16, patchSize: 3, width: 8, seed: 1)
        }
        #expect(throws: LayerError.invalidSize(layer: "Conv2d", argument: "padding", value: -1, expected: ">= 0")) {
            try Conv2d(1, 2, kernelSize: 3, padding: -1, seed: 1)
        }
        #expect(throws: LayerError.shapeMismatch(layer: "Conv2d", argument: "bias", expected: [2], actual: [3])) {
            try Conv2d(weight: Tensor(zeros: [2, 1, 3, 3]), bias: Tensor(zeros: [3]))
        }
        let embedding = try Embedding(vocabularySize: 4, width: 2, seed: 1)
        #expect(throws: LayerError.invalidTokenID(layer: "Embedding", position: 1, value: 4, shape: [2], vocabularySize: 4)) {
            try embedding.validate(Tensor([0, 4]))
        }
    }

    @Test func conv2dOutputShapeAndKnownValues() throws {
        // A 2×2 all-ones kernel sums each window; stride 2 with no padding tiles the image.
        let conv = try Conv2d(weight: Tensor(repeating: 1, shape: [1, 1, 2, 2]), bias: Tensor([0.5]), stride: 2)
        let x = try Tensor(shape: [1, 1, 2, 4], scalars: [1, 2, 3, 4, 5, 6, 7, 8])
        let y = try conv.forward(x)
        #expect(y.shape == [1, 1, 1, 2])
        #expect(y.scalars == [14.5, 22.5])
        let pool = try MaxPool2d(kernelSize: 2)
        #expect(try pool.forward(x).scalars == [6, 8])
        let avg = try AvgPool2d(kernelSize: 2)
        #expect(try avg.forward(x).scalars == [3.5, 5.5])
    }
}
