import Testing
import GraftNN
import GraftTensor

/// Issue 13: a wrong input shape, a gradient that does not match the last output and
/// `backward` before `forward` throw `LayerError`s naming the layer and both shapes (they
/// were preconditions, whose messages release builds drop).
@Suite("Layer misuse throws")
struct LayerMisuseTests {
    static func layers() throws -> [(String, any Layer)] {
        let dense = try Dense(3, 2, seed: 1)
        return [("Dense", dense), ("LayerNorm", try LayerNorm(3)), ("LoRA", try LoRA(try Dense(3, 2, seed: 2), rank: 1, alpha: 1, seed: 3)),
                ("ReLU", ReLU()), ("LeakyReLU", try LeakyReLU(slope: 0.1)), ("GELU", GELU()), ("Sigmoid", Sigmoid()), ("Tanh", Tanh()),
                ("Dropout", try Dropout(0.5, seed: 4)), ("Flatten", Flatten())]
    }

    @Test func backwardBeforeForwardThrows() throws {
        for (name, layer) in try Self.layers() {
            #expect(throws: LayerError.backwardBeforeForward(layer: name), "\(name)") { try layer.backward(Tensor(zeros: [2, 3])) }
        }
        let model = try Sequential { try Dense(3, 4, seed: 1); ReLU(); try Dense(4, 2, seed: 2) }
        #expect(throws: LayerError.backwardBeforeForward(layer: "Dense")) { try model.backward(Tensor(zeros: [5, 2])) }
        #expect(throws: LayerError.backwardBeforeForward(layer: "Dense")) { try model.accumulateParameterGradients(Tensor(zeros: [5, 2])) }
    }

    @Test func wrongInputShapeThrows() throws {
        let x = Tensor(zeros: [2, 4])
        #expect(throws: LayerError.inputShapeMismatch(layer: "Dense", expected: "[batch, …, 3]", actual: [2, 4])) { try Dense(3, 2, seed: 1).forward(x) }
        #expect(throws: LayerError.inputShapeMismatch(layer: "Dense", expected: "[batch, …, 3]", actual: [3])) { try Dense(3, 2, seed: 1)(Tensor(zeros: [3])) }
        #expect(throws: LayerError.inputShapeMismatch(layer: "LayerNorm", expected: "[batch, …, 3]", actual: [2, 4])) { try LayerNorm(3).forward(x) }
        #expect(throws: LayerError.inputShapeMismatch(layer: "LoRA", expected: "[batch, …, 3]", actual: [2, 4])) {
            try LoRA(try Dense(3, 2, seed: 2), rank: 1, alpha: 1, seed: 3).forward(x)
        }
        #expect(throws: LayerError.inputShapeMismatch(layer: "Flatten", expected: "[batch, …]", actual: [])) { try Flatten().forward(Tensor(zeros: [])) }
        let model = try Sequential { try Dense(4, 3, seed: 1); try Dense(4, 2, seed: 2) }  // the second layer's width is wrong
        #expect(throws: LayerError.inputShapeMismatch(layer: "Dense", expected: "[batch, …, 4]", actual: [2, 3])) { try model(x) }
        #expect(LayerError.inputShapeMismatch(layer: "Dense", expected: "[batch, 3]", actual: [2, 4]).description
                == "Dense: expected input [batch, 3], got [2, 4]")
    }

    @Test func gradientOfTheWrongShapeThrows() throws {
        let x = Tensor(zeros: [2, 3])
        for (name, layer) in try Self.layers() {
            let y = try layer.forward(x)
            let wrong = Tensor(zeros: [y.shape[0] + 1, y.shape[1]])
            #expect(throws: LayerError.gradientShapeMismatch(layer: name, expected: y.shape, actual: wrong.shape), "\(name)") {
                try layer.backward(wrong)
            }
            #expect(try layer.backward(Tensor(zeros: y.shape)).shape == x.shape, "\(name): the right shape still works")
        }
        #expect(LayerError.gradientShapeMismatch(layer: "Dense", expected: [2, 2], actual: [3, 2]).description
                == "Dense: output gradient [3, 2] does not match the last output [2, 2]")
        #expect(LayerError.backwardBeforeForward(layer: "ReLU").description == "ReLU: backward called before forward")
    }
}
