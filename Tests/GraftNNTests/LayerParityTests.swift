import Foundation
import GraftNN
import GraftTensor
import GraftTestSupport
import Testing

/// One tensor of a layer fixture (`Tools/fixtures/record_layers.py`).
struct FixtureTensor: Decodable {
    let shape: [Int]
    let values: [Float]
    var tensor: Tensor { get throws { try Tensor(shape: shape, scalars: values) } }
}

/// A model's parameters, input, upstream gradient and PyTorch's output and gradients.
struct LayerFixture: Decodable {
    let description: String
    let input: FixtureTensor
    let outputGradient: FixtureTensor
    let parameters: [String: FixtureTensor]
    let output: FixtureTensor
    let inputGradient: FixtureTensor?
    let parameterGradients: [String: FixtureTensor]
}

/// The Graft model of each fixture, built as the recorder's docstrings describe.
let parityModels: [String: @Sendable () throws -> any Layer] = [
    "embedding": { try Embedding(vocabularySize: 7, width: 4, seed: 0) },
    "attention": { try MultiHeadAttention(width: 8, heads: 2, seed: 0) },
    "attention_causal": { try MultiHeadAttention(width: 8, heads: 2, causal: true, seed: 0) },
    "vit_tiny": {
        try Sequential {
            try PatchEmbedding(channels: 1, imageHeight: 8, imageWidth: 8, patchSize: 4, width: 8, seed: 0)
            try ClassToken(width: 8, seed: 0)
            try PositionalEmbedding(tokens: 5, width: 8, seed: 0)
            for i in 0..<2 { try TransformerBlock(width: 8, heads: 2, mlpRatio: 2, seed: UInt64(i)) }
            try LayerNorm(8)
            try TokenPooling(.classToken, width: 8)
            try Dense(8, 3, seed: 0)
        }
    },
    "sequence_mean_causal": {
        try Sequential {
            try PositionalEmbedding(tokens: 4, width: 8, seed: 0)
            try TransformerBlock(width: 8, heads: 4, mlpRatio: 2, causal: true, seed: 0)
            try TokenPooling(.mean, width: 8)
        }
    },
    "cnn_small": {
        try Sequential {
            try Reshape([2, 8, 8])
            try Conv2d(2, 4, kernelSize: 3, padding: 1, seed: 0)
            ReLU()
            try MaxPool2d(kernelSize: 2)
            try Conv2d(4, 6, kernelSize: 3, stride: 2, padding: 1, seed: 1)
            ReLU()
            try AvgPool2d(kernelSize: 2)
            Flatten()
            try Dense(6, 3, seed: 2)
        }
    },
    "lora_attention_block": {
        let block = try TransformerBlock(width: 8, heads: 2, mlpRatio: 2, seed: 0)
        block.freeze()
        try block.addLoRA(to: ["attention.query", "attention.value"], rank: 2, alpha: 4, seed: 1)
        return block
    },
]

/// Forward and backward parity with PyTorch for every fixture in `Tests/Fixtures/layers/`.
///
/// Tolerance (float32 against a float64 reference of the same float32 values), per element:
/// `|a − b| ≤ 1e-5 + 1e-4·|b|`, the suite's parity tolerance (`isClose`).
@Suite("PyTorch parity of the sequence and image layers")
struct LayerParityTests {
    static func compare(_ actual: Tensor, _ expected: FixtureTensor, _ what: String, _ fixture: String) {
        #expect(actual.shape == expected.shape, "\(fixture) · \(what): shape \(actual.shape), PyTorch \(expected.shape)")
        guard actual.shape == expected.shape else { return }
        if let m = firstMismatch(actual.scalars.map(Double.init), expected.values.map(Double.init),
                                 tolerance: { 1e-5 + 1e-4 * abs(Double(expected.values[$0])) }) {
            Issue.record("\(fixture) · \(what): \(m)")
        }
    }

    @Test(arguments: parityModels.keys.sorted())
    func forwardAndBackwardMatchPyTorch(_ name: String) throws {
        let fixture = try loadJSONFixture("layers/\(name).json", as: LayerFixture.self)
        let model = try parityModels[name]!()
        try model.load(fixture.parameters.mapValues { try $0.tensor })  // strict: every path on both sides
        model.zeroGradients()
        let y = try model.forward(fixture.input.tensor)
        Self.compare(y, fixture.output, "output", name)
        let dx = try model.backward(fixture.outputGradient.tensor)
        if let expected = fixture.inputGradient { Self.compare(dx, expected, "input gradient", name) }
        let trainable = model.namedParameters().filter(\.parameter.isTrainable)
        #expect(Set(trainable.map(\.path)) == Set(fixture.parameterGradients.keys), "\(name): trainable parameters differ")
        for p in trainable {
            guard let expected = fixture.parameterGradients[p.path] else { continue }
            Self.compare(p.parameter.gradient, expected, "∂L/∂\(p.path)", name)
        }
    }
}
