import GraftTensor
import Testing
@testable import GraftNN

/// The sequence and image layers throw typed `LayerError`s (naming the layer and the shapes)
/// for a mis-shaped input, a mis-shaped output gradient and a `backward` before any `forward`,
/// as the MLP layers do.
@Suite struct SequenceAndImageLayerErrorTests {
    /// `"<layer> <actual shape>"` when `body` throws `LayerError.inputShapeMismatch`, else `nil`.
    private static func inputMismatch(_ body: () throws -> Tensor) -> String? {
        do {
            _ = try body()
            return nil
        } catch let LayerError.inputShapeMismatch(layer, _, actual) {
            return "\(layer) \(actual)"
        } catch {
            return nil
        }
    }

    /// Layers paired with an input of the wrong shape (or content) and its name.
    private static func misShapedInputs() throws -> [(any Layer, Tensor, String)] {
        [
            (try PositionalEmbedding(tokens: 4, width: 8, seed: 1), Tensor(zeros: [2, 5, 8]), "PositionalEmbedding"),
            (try ClassToken(width: 8, seed: 1), Tensor(zeros: [2, 4, 7]), "ClassToken"),
            (try PatchEmbedding(channels: 1, imageHeight: 8, imageWidth: 8, patchSize: 4, width: 8, seed: 1),
             Tensor(zeros: [2, 63]), "PatchEmbedding"),
            (try MultiHeadAttention(width: 8, heads: 2, seed: 1), Tensor(zeros: [2, 8]), "MultiHeadAttention"),
            (try TransformerBlock(width: 8, heads: 2, mlpRatio: 2, seed: 1), Tensor(zeros: [2, 4, 6]), "TransformerBlock"),
            (try TokenPooling(.mean, width: 8), Tensor(zeros: [2, 0, 8]), "TokenPooling"),
            (try Conv2d(1, 2, kernelSize: 3, seed: 1), Tensor(zeros: [2, 3, 8, 8]), "Conv2d"),
            (try MaxPool2d(kernelSize: 3), Tensor(zeros: [2, 1, 2, 2]), "MaxPool2d"),
            (try AvgPool2d(kernelSize: 2), Tensor(zeros: [2, 8, 8]), "AvgPool2d"),
            (try Reshape([2, 2]), Tensor(zeros: [2, 5]), "Reshape"),
        ]
    }

    @Test func misShapedInputThrowsNamingTheLayerAndShape() throws {
        for (layer, x, name) in try Self.misShapedInputs() {
            #expect(Self.inputMismatch { try layer.forward(x) } == "\(name) \(x.shape)")
        }
    }

    @Test func theMessageNamesTheLayerAndBothShapes() throws {
        let conv = try Conv2d(1, 2, kernelSize: 3, seed: 1)
        do {
            _ = try conv.forward(Tensor(zeros: [2, 3, 8, 8]))
            Issue.record("no error")
        } catch let error as LayerError {
            #expect(error.description == "Conv2d: expected input images [batch, 1, H, W] with H, W ≥ 3, got [2, 3, 8, 8]")
        }
    }

    @Test func backwardBeforeForwardThrows() throws {
        let cases: [(any Layer, Tensor, String)] = [
            (try Embedding(vocabularySize: 4, width: 8, seed: 1), Tensor(zeros: [2, 3, 8]), "Embedding"),
            (try PositionalEmbedding(tokens: 4, width: 8, seed: 1), Tensor(zeros: [2, 4, 8]), "PositionalEmbedding"),
            (try ClassToken(width: 8, seed: 1), Tensor(zeros: [2, 5, 8]), "ClassToken"),
            (try PatchEmbedding(channels: 1, imageHeight: 8, imageWidth: 8, patchSize: 4, width: 8, seed: 1),
             Tensor(zeros: [2, 4, 8]), "PatchEmbedding"),
            (try MultiHeadAttention(width: 8, heads: 2, seed: 1), Tensor(zeros: [2, 4, 8]), "MultiHeadAttention"),
            (try TransformerBlock(width: 8, heads: 2, mlpRatio: 2, seed: 1), Tensor(zeros: [2, 4, 8]), "TransformerBlock"),
            (try TokenPooling(.classToken, width: 8), Tensor(zeros: [2, 8]), "TokenPooling"),
            (try Conv2d(1, 2, kernelSize: 3, seed: 1), Tensor(zeros: [2, 2, 6, 6]), "Conv2d"),
            (try MaxPool2d(kernelSize: 2), Tensor(zeros: [2, 1, 4, 4]), "MaxPool2d"),
            (try AvgPool2d(kernelSize: 2), Tensor(zeros: [2, 1, 4, 4]), "AvgPool2d"),
            (try Reshape([2, 2]), Tensor(zeros: [2, 2, 2]), "Reshape"),
            (try Residual { try Dense(4, 4, seed: 1).named("fc") }, Tensor(zeros: [2, 4]), "Residual"),
        ]
        for (layer, g, name) in cases {
            #expect(throws: LayerError.backwardBeforeForward(layer: name)) { try layer.backward(g) }
        }
        let conv = try Conv2d(1, 2, kernelSize: 3, seed: 1)
        #expect(throws: LayerError.backwardBeforeForward(layer: "Conv2d")) {
            try conv.accumulateParameterGradients(Tensor(zeros: [2, 2, 6, 6]))
        }
    }

    @Test func misShapedGradientThrowsWithBothShapes() throws {
        let attention = try MultiHeadAttention(width: 8, heads: 2, seed: 1)
        _ = try attention.forward(Tensor(zeros: [2, 4, 8]))
        #expect(throws: LayerError.gradientShapeMismatch(layer: "MultiHeadAttention", expected: [2, 4, 8], actual: [2, 3, 8])) {
            try attention.backward(Tensor(zeros: [2, 3, 8]))
        }
        let pool = try MaxPool2d(kernelSize: 2)
        _ = try pool.forward(Tensor(zeros: [1, 1, 4, 4]))
        #expect(throws: LayerError.gradientShapeMismatch(layer: "MaxPool2d", expected: [1, 1, 2, 2], actual: [1, 1, 4, 4])) {
            try pool.backward(Tensor(zeros: [1, 1, 4, 4]))
        }
        let block = try TransformerBlock(width: 8, heads: 2, mlpRatio: 2, seed: 1)
        _ = try block.forward(Tensor(zeros: [1, 3, 8]))
        #expect(throws: LayerError.gradientShapeMismatch(layer: "TransformerBlock", expected: [1, 3, 8], actual: [3, 8])) {
            try block.backward(Tensor(zeros: [3, 8]))
        }
    }

    @Test func badTokenIDThrowsBeforeAnyWrite() throws {
        let embedding = try Embedding(vocabularySize: 4, width: 2, seed: 1)
        let good = try embedding.forward(Tensor([0, 3])).scalars
        #expect(throws: LayerError.invalidTokenID(layer: "Embedding", position: 1, value: 1.5, shape: [1, 2], vocabularySize: 4)) {
            try embedding.forward(Tensor(shape: [1, 2], scalars: [2, 1.5]))
        }
        #expect(throws: LayerError.invalidTokenID(layer: "Embedding", position: 0, value: -1, shape: [1], vocabularySize: 4)) {
            try embedding.forward(Tensor([-1]))
        }
        // The failed calls left the last good forward in place: its gradient shape still fits.
        #expect(try embedding.backward(Tensor(zeros: [2, 2])).shape == [2])
        #expect(good.count == 4)
    }

    @Test func residualRefusesABlockThatChangesTheShape() throws {
        let residual = try Residual { try Dense(4, 3, seed: 1).named("fc") }
        #expect(throws: LayerError.shapeMismatch(layer: "Residual", argument: "block output", expected: [2, 4], actual: [2, 3])) {
            try residual.forward(Tensor(zeros: [2, 4]))
        }
    }
}
