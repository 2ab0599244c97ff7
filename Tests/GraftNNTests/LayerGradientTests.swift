import GraftNN
import GraftTensor
import Testing

/// One layer to check: how to build it and what input to feed it.
struct LayerCase: Sendable, CustomTestStringConvertible {
    let name: String
    let inputShape: [Int]
    /// Inputs are moved at least this far from 0 (keeps ReLU kinks out of `x ± h`).
    var margin: Float = 0
    let make: @Sendable () throws -> any Layer
    var testDescription: String { name }

    func input(seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        let x = Tensor.randomNormal(shape: inputShape, generator: &g)
        return margin == 0 ? x : x.map { $0 >= 0 ? $0 + margin : $0 - margin }
    }
}

/// Random values for a parameter (so γ ≠ 1, β ≠ 0, LoRA's B ≠ 0 in the checks).
func randomize(_ p: Parameter, seed: UInt64, scale: Float = 0.5) {
    var g = SeededGenerator(seed: seed)
    p.value = Tensor.randomNormal(shape: p.shape, standardDeviation: scale, generator: &g)
}

let layerCases: [LayerCase] = [
    LayerCase(name: "Dense", inputShape: [3, 4]) { try Dense(4, 3, seed: 1) },
    LayerCase(name: "Dense without bias", inputShape: [3, 4]) { try Dense(4, 3, bias: false, seed: 2) },
    LayerCase(name: "ReLU", inputShape: [3, 5], margin: 0.05) { ReLU() },
    LayerCase(name: "LeakyReLU", inputShape: [3, 5], margin: 0.05) { try LeakyReLU(slope: 0.1) },
    LayerCase(name: "LeakyReLU negative slope", inputShape: [3, 5], margin: 0.05) { try LeakyReLU(slope: -0.5) },
    LayerCase(name: "GELU", inputShape: [3, 5]) { GELU() },
    LayerCase(name: "Tanh", inputShape: [3, 5]) { Tanh() },
    LayerCase(name: "Sigmoid", inputShape: [3, 5]) { Sigmoid() },
    LayerCase(name: "Dropout (evaluation)", inputShape: [3, 5]) {
        let d = try Dropout(0.5, seed: 3)
        d.setMode(.evaluation)
        return d
    },
    LayerCase(name: "LayerNorm", inputShape: [3, 5]) {
        let ln = try LayerNorm(5)
        randomize(ln.weight, seed: 4)
        randomize(ln.bias, seed: 5)
        return ln
    },
    LayerCase(name: "Flatten", inputShape: [2, 3, 2]) { Flatten() },
    LayerCase(name: "LoRA (frozen base, B ≠ 0)", inputShape: [3, 5]) {
        let lora = try LoRA(try Dense(5, 4, seed: 6), rank: 2, alpha: 4, seed: 7)
        randomize(lora.b, seed: 8)
        return lora
    },
    LayerCase(name: "LoRA (unfrozen base, no bias)", inputShape: [3, 5]) {
        let lora = try LoRA(try Dense(5, 4, bias: false, seed: 9), rank: 3, alpha: 1.5, seed: 10)
        randomize(lora.b, seed: 11)
        lora.unfreeze()
        return lora
    },
    LayerCase(name: "Sequential MLP", inputShape: [3, 4]) {
        try Sequential {
            try Sequential("body") {
                try Dense(4, 6, seed: 12)
                GELU()
                try Dense(6, 6, seed: 13)
                Tanh()
                try LayerNorm(6)
            }
            try Dense(6, 3, seed: 14).named("head")
            Sigmoid()
        }
    },
]

@Suite("Finite-difference gradients of every layer")
struct LayerGradientTests {
    @Test(arguments: layerCases)
    func gradientsMatchFiniteDifferences(_ testCase: LayerCase) throws {
        let layer = try testCase.make()
        let (comparisons, touchedFrozen) = FiniteDifferences.check(layer, input: testCase.input(seed: 100), seed: 200)
        #expect(touchedFrozen.isEmpty, "frozen parameters received gradients: \(touchedFrozen)")
        #expect(comparisons["input"] != nil)
        for (name, comparison) in comparisons.sorted(by: { $0.key < $1.key }) {
            #expect(comparison.maxError <= FiniteDifferences.tolerance, "\(testCase.name) · \(name): \(comparison)")
            #expect(comparison.numericNorm > 1e-3, "\(testCase.name) · \(name): the gradient is trivially zero")
        }
    }

    @Test func dropoutInTrainingModeWithAReplayedMask() throws {
        let dropout = try Dropout(0.4, seed: 21)
        let saved = dropout.generator
        var g = SeededGenerator(seed: 22)
        let input = Tensor.randomNormal(shape: [4, 5], generator: &g)
        let (comparisons, _) = FiniteDifferences.check(dropout, input: input, seed: 23) { dropout.generator = saved }
        let c = try #require(comparisons["input"])
        #expect(c.maxError <= FiniteDifferences.tolerance, "\(c)")
        #expect(c.numericNorm > 1e-3)
    }

    @Test func loraWithFrozenBaseChecksExactlyTheAdapterFactors() throws {
        let lora = try LoRA(try Dense(5, 4, seed: 6), rank: 2, alpha: 4, seed: 7)
        randomize(lora.b, seed: 8)
        var g = SeededGenerator(seed: 31)
        let input = Tensor.randomNormal(shape: [3, 5], generator: &g)
        let (comparisons, touchedFrozen) = FiniteDifferences.check(lora, input: input, seed: 32)
        #expect(Set(comparisons.keys) == ["input", "lora_a", "lora_b"])
        #expect(touchedFrozen.isEmpty)
    }

    /// End to end: a ReLU MLP with LoRA and dropout (replayed mask) under label-smoothed
    /// cross-entropy; the objective is the loss itself, recomputed in `Double` from the logits.
    @Test func mlpUnderCrossEntropyMatchesFiniteDifferences() throws {
        let dropout = try Dropout(0.25, seed: 41)
        let lora = try LoRA(try Dense(6, 5, seed: 43), rank: 2, alpha: 2, seed: 44)
        randomize(lora.b, seed: 45)
        let model = try Sequential {
            try Sequential("body") {
                try Dense(4, 6, seed: 42)
                ReLU()
                dropout
                lora
                try LeakyReLU(slope: 0.2)
            }
            try Dense(5, 3, seed: 46).named("head")
        }
        let saved = dropout.generator
        var g = SeededGenerator(seed: 47)
        let x = Tensor.randomNormal(shape: [4, 4], generator: &g)
        let labels = [2, 0, 1, 1]
        let loss = try SoftmaxCrossEntropy(labelSmoothing: 0.1)

        func objective(_ input: Tensor) -> Double {
            dropout.generator = saved
            return referenceCrossEntropy(try! model.forward(input), labels, smoothing: 0.1)
        }
        model.zeroGradients()
        dropout.generator = saved
        let output = try loss(model.forward(x), labels: labels)
        let inputGradient = try model.backward(output.gradient)

        var xs = x
        var comparisons = ["input": FiniteDifferences.compare(
            inputGradient,
            FiniteDifferences.numericGradient(count: xs.count, get: { xs[flat: $0] }, set: { xs[flat: $0] = $1 },
                                              objective: { objective(xs) }))]
        for named in model.namedParameters() where named.parameter.isTrainable {
            let p = named.parameter
            comparisons[named.path] = FiniteDifferences.compare(
                p.gradient,
                FiniteDifferences.numericGradient(count: p.value.count, get: { p.value[flat: $0] },
                                                  set: { p.value[flat: $0] = $1 }, objective: { objective(x) }))
        }
        #expect(Set(comparisons.keys) == ["input", "body.0.weight", "body.0.bias", "body.3.lora_a", "body.3.lora_b",
                                          "head.weight", "head.bias"])
        for (name, c) in comparisons.sorted(by: { $0.key < $1.key }) {
            #expect(c.maxError <= FiniteDifferences.tolerance, "\(name): \(c)")
            #expect(c.numericNorm > 1e-3, "\(name): trivially zero")
        }
    }
}
