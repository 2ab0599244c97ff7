import GraftNN
import GraftTensor
import Testing

/// Inputs whose values are distinct and at least `spacing` apart (a shuffled ramp), so
/// `x ± h` never changes which element of a pooling window is the maximum.
func distinctInput(_ shape: [Int], seed: UInt64, spacing: Float = 0.05) -> Tensor {
    let n = shape.reduce(1, *)
    var values = (0..<n).map { Float($0) * spacing - Float(n) * spacing / 2 }
    var g = SeededGenerator(seed: seed)
    for i in stride(from: n - 1, to: 0, by: -1) {
        values.swapAt(i, Int(g.next() % UInt64(i + 1)))
    }
    return try! Tensor(shape: shape, scalars: values)
}

let sequenceAndImageCases: [LayerCase] = [
    LayerCase(name: "Dense on a sequence [batch, tokens, in]", inputShape: [2, 3, 4]) { try Dense(4, 5, seed: 1) },
    LayerCase(name: "LayerNorm on a sequence", inputShape: [2, 3, 5]) {
        let ln = try LayerNorm(5)
        randomize(ln.weight, seed: 2)
        randomize(ln.bias, seed: 3)
        return ln
    },
    LayerCase(name: "PositionalEmbedding", inputShape: [2, 3, 4]) { try PositionalEmbedding(tokens: 3, width: 4, seed: 4) },
    LayerCase(name: "ClassToken", inputShape: [2, 3, 4]) { try ClassToken(width: 4, seed: 5) },
    LayerCase(name: "TokenPooling class token", inputShape: [2, 3, 4]) { try TokenPooling(.classToken, width: 4) },
    LayerCase(name: "TokenPooling mean", inputShape: [2, 3, 4]) { try TokenPooling(.mean, width: 4) },
    LayerCase(name: "MultiHeadAttention", inputShape: [2, 4, 6]) { try MultiHeadAttention(width: 6, heads: 2, seed: 6) },
    LayerCase(name: "MultiHeadAttention causal", inputShape: [2, 4, 6]) {
        try MultiHeadAttention(width: 6, heads: 3, causal: true, seed: 7)
    },
    LayerCase(name: "Residual { LayerNorm; Dense }", inputShape: [2, 3, 4]) {
        try Residual {
            try LayerNorm(4)
            try Dense(4, 4, seed: 8)
        }
    },
    LayerCase(name: "TransformerBlock", inputShape: [2, 3, 4]) {
        let block = try TransformerBlock(width: 4, heads: 2, mlpRatio: 2, seed: 9)
        randomize(block.norm1.weight, seed: 10)
        randomize(block.norm2.bias, seed: 11)
        return block
    },
    LayerCase(name: "TransformerBlock with LoRA on query and value", inputShape: [2, 3, 4]) {
        let block = try TransformerBlock(width: 4, heads: 2, mlpRatio: 2, seed: 12)
        block.freeze()
        try block.addLoRA(to: ["attention.query", "attention.value"], rank: 2, alpha: 4, seed: 13)
        for p in block.namedParameters() where p.path.hasSuffix("lora_b") { randomize(p.parameter, seed: 14) }
        return block
    },
    LayerCase(name: "Conv2d 3×3 stride 1 padding 1", inputShape: [2, 2, 4, 4]) { try Conv2d(2, 3, kernelSize: 3, padding: 1, seed: 15) },
    LayerCase(name: "Conv2d 3×3 stride 2 padding 1, no bias", inputShape: [2, 2, 5, 5]) {
        try Conv2d(2, 3, kernelSize: 3, stride: 2, padding: 1, bias: false, seed: 16)
    },
    LayerCase(name: "Conv2d 2×2 stride 2", inputShape: [1, 3, 4, 6]) { try Conv2d(3, 2, kernelSize: 2, stride: 2, seed: 17) },
    LayerCase(name: "AvgPool2d 2×2", inputShape: [2, 2, 4, 4]) { try AvgPool2d(kernelSize: 2) },
    LayerCase(name: "AvgPool2d 3×3 stride 1 (overlapping)", inputShape: [1, 2, 4, 5]) { try AvgPool2d(kernelSize: 3, stride: 1) },
    LayerCase(name: "PatchEmbedding (flattened input)", inputShape: [2, 32]) {
        try PatchEmbedding(channels: 2, imageHeight: 4, imageWidth: 4, patchSize: 2, width: 3, seed: 18)
    },
    LayerCase(name: "PatchEmbedding (images)", inputShape: [2, 1, 4, 6]) {
        try PatchEmbedding(channels: 1, imageHeight: 4, imageWidth: 6, patchSize: 2, width: 3, seed: 19)
    },
    LayerCase(name: "Reshape", inputShape: [2, 12]) { try Reshape([3, 2, 2]) },
]

@Suite("Finite-difference gradients of the sequence and image layers")
struct SequenceAndImageLayerGradientTests {
    @Test(arguments: sequenceAndImageCases)
    func gradientsMatchFiniteDifferences(_ testCase: LayerCase) throws {
        let layer = try testCase.make()
        let (comparisons, touchedFrozen) = FiniteDifferences.check(layer, input: testCase.input(seed: 100), seed: 200)
        #expect(touchedFrozen.isEmpty, "frozen parameters received gradients: \(touchedFrozen)")
        #expect(comparisons["input"] != nil)
        for (name, comparison) in comparisons.sorted(by: { $0.key < $1.key }) {
            #expect(comparison.maxError <= FiniteDifferences.tolerance, "\(testCase.name) · \(name): \(comparison)")
            // The key bias adds q·b_k to a whole row of scores, which softmax ignores: its
            // gradient is exactly 0 (the error check above still applies).
            if name.hasSuffix("key.bias") { continue }
            #expect(comparison.numericNorm > 1e-3, "\(testCase.name) · \(name): the gradient is trivially zero")
        }
    }

    @Test(arguments: [(2, nil as Int?), (3, 1), (2, 1)])
    func maxPoolMatchesFiniteDifferences(kernel: Int, stride: Int?) throws {
        let pool = try MaxPool2d(kernelSize: kernel, stride: stride)
        let (comparisons, _) = FiniteDifferences.check(pool, input: distinctInput([2, 2, 4, 5], seed: 1), seed: 2)
        let c = try #require(comparisons["input"])
        #expect(c.maxError <= FiniteDifferences.tolerance, "\(c)")
        #expect(c.numericNorm > 1e-3)
    }

    @Test func smallCNNMatchesFiniteDifferences() throws {
        let model = try Sequential {
            try Reshape([1, 6, 6])
            try Conv2d(1, 2, kernelSize: 3, padding: 1, seed: 1)
            Tanh()
            try AvgPool2d(kernelSize: 2)
            try Conv2d(2, 2, kernelSize: 3, stride: 2, padding: 1, seed: 2)
            Flatten()
            try Dense(8, 3, seed: 3)
        }
        // Smooth end to end (max pooling's kinks are checked on their own above).
        let (comparisons, _) = FiniteDifferences.check(model, input: distinctInput([2, 36], seed: 3, spacing: 0.1), seed: 4)
        for (name, c) in comparisons.sorted(by: { $0.key < $1.key }) {
            #expect(c.maxError <= FiniteDifferences.tolerance, "\(name): \(c)")
            #expect(c.numericNorm > 1e-3, "\(name): trivially zero")
        }
        #expect(comparisons.keys.sorted() == ["1.bias", "1.weight", "4.bias", "4.weight", "6.bias", "6.weight", "input"])
    }

    /// Embedding ids are not differentiable, so the generic check (which perturbs inputs)
    /// does not apply; the table's gradient is checked against finite differences here.
    @Test func embeddingTableGradientMatchesFiniteDifferences() throws {
        let embedding = try Embedding(vocabularySize: 5, width: 3, seed: 1)
        let ids = try Tensor(shape: [2, 3], scalars: [0, 3, 3, 4, 1, 3])
        var g = SeededGenerator(seed: 2)
        let r = Tensor.randomNormal(shape: [2, 3, 3], generator: &g)
        embedding.zeroGradients()
        _ = try embedding.forward(ids)
        let dx = try embedding.backward(r)
        #expect(dx.shape == [2, 3] && dx.scalars.allSatisfy { $0 == 0 })
        let w = embedding.weight
        let numeric = FiniteDifferences.numericGradient(count: w.value.count, get: { w.value[flat: $0] }, set: { w.value[flat: $0] = $1 },
                                                        objective: { FiniteDifferences.projection(try! embedding.forward(ids), r) })
        let c = FiniteDifferences.compare(w.gradient, numeric)
        #expect(c.maxError <= FiniteDifferences.tolerance, "\(c)")
        // Row 2 is never looked up: exactly zero gradient.
        #expect((6..<9).allSatisfy { w.gradient[flat: $0] == 0 })
    }
}
