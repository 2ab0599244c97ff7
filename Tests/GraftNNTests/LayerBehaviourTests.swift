import GraftNN
import GraftTensor
import Testing

@Suite("Layer values, initialisation and configuration")
struct LayerBehaviourTests {
    @Test func denseInitialisationFollowsPyTorchLinear() throws {
        let d = try Dense(16, 8, seed: 1)
        #expect(d.weight.shape == [8, 16] && d.bias?.shape == [8])
        let bound: Float = 0.25  // 1/√16
        let w = d.weight.value.scalars, b = d.bias!.value.scalars
        #expect(w.allSatisfy { abs($0) <= bound } && b.allSatisfy { abs($0) <= bound })
        // Spread over the interval: the extremes come close to ±bound.
        #expect(w.max()! > 0.8 * bound && w.min()! < -0.8 * bound)
        #expect(try Dense(16, 8, seed: 1).namedTensors() == d.namedTensors())
        #expect(try Dense(16, 8, seed: 2).namedTensors() != d.namedTensors())
        // Weight drawn first, then bias, from one stream.
        var g = SeededGenerator(seed: 1)
        let expected = Tensor.randomUniform(shape: [8, 16], lower: -bound, upper: bound, generator: &g)
        #expect(d.weight.value == expected)
        #expect(d.bias!.value == Tensor.randomUniform(shape: [8], lower: -bound, upper: bound, generator: &g))
        #expect(d.weight.anchor == .initial && d.weight.isTrainable)
    }

    @Test func denseComputesXWTransposePlusBias() throws {
        let d = try Dense(weight: Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), bias: Tensor([10, 20]))
        let x = try Tensor(shape: [2, 3], scalars: [1, 0, -1, 2, 1, 0])
        let y = try d.forward(x)
        #expect(try d(x) == y)
        #expect(y == (try Tensor(shape: [2, 2], scalars: [1 - 3 + 10, 4 - 6 + 20, 2 + 2 + 10, 8 + 5 + 20])))
        d.zeroGradients()
        let dx = try d.backward(try Tensor(shape: [2, 2], scalars: [1, 0, 0, 1]))
        #expect(dx == (try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])))
        #expect(d.weight.gradient == (try Tensor(shape: [2, 3], scalars: [1, 0, -1, 2, 1, 0])))
        #expect(d.bias!.gradient == Tensor([1, 1]))
        // Gradients accumulate until zeroed.
        _ = try d.backward(try Tensor(shape: [2, 2], scalars: [1, 0, 0, 1]))
        #expect(d.bias!.gradient == Tensor([2, 2]))
    }

    @Test func frozenDenseAccumulatesNothingButPropagatesInputGradients() throws {
        let d = try Dense(3, 2, seed: 1)
        d.freeze()
        var g = SeededGenerator(seed: 2)
        let x = Tensor.randomNormal(shape: [4, 3], generator: &g)
        let upstream = Tensor.randomNormal(shape: [4, 2], generator: &g)
        _ = try d.forward(x)
        let dx = try d.backward(upstream)
        #expect(d.weight.gradient.scalars.allSatisfy { $0 == 0 })
        #expect(d.bias!.gradient.scalars.allSatisfy { $0 == 0 })
        let expected = try Tensor.matmul(upstream, d.weight.value)
        for (a, b) in zip(dx.scalars, expected.scalars) { #expect(abs(a - b) <= 1e-6) }
        #expect(dx.scalars.contains { $0 != 0 })
    }

    @Test func activationValues() throws {
        let x = Tensor([-2, -0.5, 0, 0.5, 3])
        #expect(try ReLU().forward(x) == Tensor([0, 0, 0, 0.5, 3]))
        #expect(try LeakyReLU(slope: 0.1).forward(x) == Tensor([-0.2, -0.05, 0, 0.5, 3]))
        // GELU (tanh form) reference values from ½x(1 + tanh(√(2/π)(x + 0.044715x³))) in Double.
        let gelu = try GELU().forward(x).scalars
        let expected: [Float] = [-0.045_402_306, -0.154_285_99, 0, 0.345_714_01, 2.996_362_7]
        for (a, b) in zip(gelu, expected) { #expect(abs(a - b) < 1e-6) }
        // The left tail keeps its relative accuracy (x σ(2u) in Double: −8.43964670e-11 at x = −6).
        let tail = try GELU().forward(Tensor([-6, -40]))
        #expect(abs(tail[flat: 0] / -8.439_646_7e-11 - 1) < 1e-5)
        #expect(tail[flat: 1] == 0)
        let s = try Sigmoid().forward(Tensor([-100, 0, 100, -20]))
        #expect(s[flat: 0] >= 0 && s[flat: 0] < Float.leastNormalMagnitude && s[flat: 1] == 0.5 && s[flat: 2] == 1)
        #expect(abs(s[flat: 3] - 2.061_153_6e-9) < 1e-15)
        let t = try Tanh().forward(Tensor([0, 1, -30]))
        #expect(t[flat: 0] == 0 && abs(t[flat: 1] - 0.761_594_16) < 1e-6 && t[flat: 2] == -1)
    }

    @Test func layerNormNormalisesEachRow() throws {
        let ln = try LayerNorm(4)
        let y = try ln.forward(try Tensor(shape: [2, 4], scalars: [1, 2, 3, 4, -10, 0, 10, 20]))
        for r in 0..<2 {
            let row = (0..<4).map { Double(y[r, $0]) }
            let mean = row.reduce(0, +) / 4
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            #expect(abs(mean) < 1e-6)
            #expect(abs(variance - 1) < 1e-4)
        }
        // x̂ for [1, 2, 3, 4]: (x − 2.5) / √(1.25 + 1e-5).
        #expect(abs(y[0, 0] - Float(-1.5 / (1.25 + 1e-5).squareRoot())) < 1e-6)
    }

    @Test func dropoutKeepsExpectationAndIsReproducible() throws {
        let x = Tensor(repeating: 1, shape: [100, 100])
        let d = try Dropout(0.3, seed: 7)
        let y = try d.forward(x)
        let dropped = y.scalars.filter { $0 == 0 }.count
        #expect(abs(Double(dropped) / 10_000 - 0.3) < 0.02)
        #expect(y.scalars.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        // Backward applies the same mask.
        let g = try d.backward(x)
        #expect(g == y)
        // Same seed, same masks; the next call draws a new mask.
        let again = try Dropout(0.3, seed: 7)
        #expect(try again.forward(x) == y)
        #expect(try again.forward(x) != y)
        // Evaluation mode and p = 0 are the identity; p = 1 drops everything.
        d.setMode(.evaluation)
        #expect(try d.forward(x) == x)
        #expect(try Dropout(0, seed: 1).forward(x) == x)
        #expect(try Dropout(1, seed: 1).forward(x).scalars.allSatisfy { $0 == 0 })
    }

    @Test func flattenKeepsRowMajorOrder() throws {
        let x = try Tensor(shape: [2, 2, 3], scalars: (0..<12).map(Float.init))
        let f = Flatten()
        let y = try f.forward(x)
        #expect(y.shape == [2, 6] && y.scalars == x.scalars)
        #expect(try f.backward(y).shape == [2, 2, 3])
    }

    @Test func invalidConfigurationsThrow() {
        #expect(throws: LayerError.invalidSize(layer: "Dense", argument: "inputFeatures", value: 0, expected: "> 0")) {
            try Dense(0, 3, seed: 1)
        }
        #expect(throws: LayerError.invalidSize(layer: "Dense", argument: "outputFeatures", value: -1, expected: "> 0")) {
            try Dense(3, -1, seed: 1)
        }
        #expect(throws: LayerError.shapeMismatch(layer: "Dense", argument: "bias", expected: [2], actual: [3])) {
            try Dense(weight: Tensor(zeros: [2, 4]), bias: Tensor(zeros: [3]))
        }
        #expect(throws: LayerError.invalidHyperparameter(layer: "Dropout", argument: "probability", value: 1.5, expected: "a value in [0, 1]")) {
            try Dropout(1.5, seed: 1)
        }
        #expect(throws: LayerError.invalidHyperparameter(layer: "LeakyReLU", argument: "slope", value: .infinity, expected: "a finite number")) {
            try LeakyReLU(slope: .infinity)
        }
        #expect(throws: LayerError.invalidSize(layer: "LayerNorm", argument: "features", value: 0, expected: "> 0")) {
            try LayerNorm(0)
        }
        #expect(throws: LayerError.invalidHyperparameter(layer: "LayerNorm", argument: "epsilon", value: 0, expected: "a finite value > 0")) {
            try LayerNorm(3, epsilon: 0)
        }
    }
}
