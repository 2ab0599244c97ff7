import GraftNN
import GraftTensor
import Testing

/// Cross-entropy with label smoothing computed independently in `Double` from PyTorch's
/// definition: target `q = (1 − ε) onehot(y) + ε / C`, loss `mean_b −Σ_c q_c log softmax(z_b)_c`.
func referenceCrossEntropy(_ logits: Tensor, _ labels: [Int], smoothing: Double) -> Double {
    let (batch, classes) = (logits.shape[0], logits.shape[1])
    var total = 0.0
    for b in 0..<batch {
        let z = (0..<classes).map { Double(logits[b, $0]) }
        let m = z.max()!
        let lse = m + (z.map { ($0 - m) }.reduce(0.0) { $0 + expD($1) }).logD
        for c in 0..<classes {
            let q = smoothing / Double(classes) + (c == labels[b] ? 1 - smoothing : 0)
            total -= q * (z[c] - lse)
        }
    }
    return total / Double(batch)
}

@Suite("Losses and accuracy")
struct LossTests {
    static let logitsShape = [4, 5]
    static let labels = [0, 3, 4, 3]

    func logits(seed: UInt64, scale: Float = 2) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randomNormal(shape: LossTests.logitsShape, standardDeviation: scale, generator: &g)
    }

    @Test(arguments: [Float(0), 0.1, 1])
    func crossEntropyGradientMatchesFiniteDifferences(smoothing: Float) throws {
        let loss = try SoftmaxCrossEntropy(labelSmoothing: smoothing)
        var z = logits(seed: 1)
        let analytic = try loss(z, labels: LossTests.labels).gradient
        let numeric = FiniteDifferences.numericGradient(
            count: z.count, get: { z[flat: $0] }, set: { z[flat: $0] = $1 },
            objective: { referenceCrossEntropy(z, LossTests.labels, smoothing: Double(smoothing)) })
        let c = FiniteDifferences.compare(analytic, numeric)
        #expect(c.maxError <= FiniteDifferences.tolerance, "\(c)")
        #expect(c.numericNorm > 1e-3)
        // The loss's own Float value as the objective, too.
        let own = FiniteDifferences.numericGradient(
            count: z.count, get: { z[flat: $0] }, set: { z[flat: $0] = $1 },
            objective: { Double((try? loss(z, labels: LossTests.labels).value) ?? .nan) })
        let c2 = FiniteDifferences.compare(analytic, own)
        #expect(c2.maxError <= FiniteDifferences.tolerance, "\(c2)")
    }

    @Test(arguments: [Float(0), 0.1, 0.3])
    func crossEntropyValueMatchesPyTorchDefinition(smoothing: Float) throws {
        let z = logits(seed: 2)
        let value = try SoftmaxCrossEntropy(labelSmoothing: smoothing)(z, labels: LossTests.labels).value
        let expected = referenceCrossEntropy(z, LossTests.labels, smoothing: Double(smoothing))
        #expect(abs(Double(value) - expected) <= 1e-6 * max(1, abs(expected)), "\(value) vs \(expected)")
    }

    @Test func crossEntropyOfAHandComputedExample() throws {
        // z = [1, 2, 3], y = 0: LSE = 3.40760596444438, −log p₀ = 2.40760596444438;
        // with ε = 0.1: 0.9 · 2.40760596 + (0.1/3)(2.40760596 + 1.40760596 + 0.40760596) = LSE − 1.1.
        let z = try Tensor(shape: [1, 3], scalars: [1, 2, 3])
        #expect(abs(try SoftmaxCrossEntropy()(z, labels: [0]).value - 2.407_605_964) < 1e-6)
        #expect(abs(try SoftmaxCrossEntropy(labelSmoothing: 0.1)(z, labels: [0]).value - 2.307_605_964) < 1e-6)
    }

    @Test func crossEntropyIsStableForHugeLogits() throws {
        let z = try Tensor(shape: [2, 3], scalars: [1e4, 0, -1e4, -5e3, 5e3, 5e3])
        let out = try SoftmaxCrossEntropy(labelSmoothing: 0.2)(z, labels: [2, 1])
        #expect(out.value.isFinite && out.gradient.isFinite)
        // Row 0: −log p₂ = 2e4; Row 1: −log p₁ = log 2. ε = 0.2, C = 3.
        let row0 = 0.8 * 2e4 + 0.2 / 3 * (1e4 + 2e4 + 0)
        let row1 = 0.8 * 0.693_147_18 + 0.2 / 3 * ((1e4 + 0.693_147_18) + 0.693_147_18 + 0.693_147_18)
        #expect(abs(Double(out.value) - (row0 + row1) / 2) < 1e-2)
    }

    @Test func crossEntropyGradientRowsSumToZero() throws {
        let g = try SoftmaxCrossEntropy(labelSmoothing: 0.1)(logits(seed: 3), labels: LossTests.labels).gradient
        for b in 0..<4 {
            let s = (0..<5).reduce(Float(0)) { $0 + g[b, $1] }
            #expect(abs(s) < 1e-6)
        }
    }

    @Test func crossEntropyRejectsBadInputs() throws {
        let loss = try SoftmaxCrossEntropy()
        let z = logits(seed: 4)
        #expect(throws: LossError.labelOutOfRange(index: 2, label: 5, classes: 5)) { try loss(z, labels: [0, 1, 5, 0]) }
        #expect(throws: LossError.labelOutOfRange(index: 0, label: -1, classes: 5)) { try loss(z, labels: [-1, 1, 2, 0]) }
        #expect(throws: LossError.batchMismatch(rows: 4, labels: 3)) { try loss(z, labels: [0, 1, 2]) }
        #expect(throws: LossError.emptyBatch) { try loss(Tensor(zeros: [0, 5]), labels: []) }
        #expect(throws: LossError.shapeMismatch(expected: [3, -1], actual: [3])) { try loss(Tensor(zeros: [3]), labels: [0, 0, 0]) }
        #expect(throws: LossError.invalidHyperparameter(argument: "labelSmoothing", value: 1.5, expected: "a value in [0, 1]")) {
            try SoftmaxCrossEntropy(labelSmoothing: 1.5)
        }
    }

    @Test func meanSquaredErrorValueAndGradient() throws {
        var g = SeededGenerator(seed: 5)
        var p = Tensor.randomNormal(shape: [3, 4], generator: &g)
        let t = Tensor.randomNormal(shape: [3, 4], generator: &g)
        let mse = MeanSquaredError()
        let out = try mse(p, targets: t)
        var expected = 0.0
        for (a, b) in zip(p.scalars, t.scalars) { expected += Double(a - b) * Double(a - b) }
        expected /= 12
        #expect(abs(Double(out.value) - expected) < 1e-6 * max(1, expected))
        let analytic = out.gradient
        let numeric = FiniteDifferences.numericGradient(
            count: p.count, get: { p[flat: $0] }, set: { p[flat: $0] = $1 },
            objective: {
                var s = 0.0
                for (a, b) in zip(p.scalars, t.scalars) { s += Double(a - b) * Double(a - b) }
                return s / 12
            })
        let c = FiniteDifferences.compare(analytic, numeric)
        #expect(c.maxError <= FiniteDifferences.tolerance, "\(c)")
        #expect(c.numericNorm > 1e-3)
    }

    @Test func meanSquaredErrorRejectsBadInputs() {
        let mse = MeanSquaredError()
        #expect(throws: LossError.shapeMismatch(expected: [2, 3], actual: [3, 2])) {
            try mse(Tensor(zeros: [3, 2]), targets: Tensor(zeros: [2, 3]))
        }
        #expect(throws: LossError.emptyBatch) { try mse(Tensor(zeros: [0, 2]), targets: Tensor(zeros: [0, 2])) }
    }

    @Test func accuracyCountsArgmaxHitsWithFirstIndexTies() throws {
        let z = try Tensor(shape: [4, 3], scalars: [
            0.1, 0.9, 0.0,   // → 1
            2.0, 2.0, 1.0,   // tie → 0
            -1, -3, -0.5,    // → 2
            .nan, 5, 1,      // NaN → wrong
        ])
        #expect(try accuracy(logits: z, labels: [1, 0, 2, 1]) == 0.75)
        #expect(try accuracy(logits: z, labels: [0, 1, 2, 1]) == 0.25)
        #expect(throws: LossError.batchMismatch(rows: 4, labels: 2)) { try accuracy(logits: z, labels: [0, 1]) }
        #expect(throws: LossError.labelOutOfRange(index: 3, label: 3, classes: 3)) { try accuracy(logits: z, labels: [0, 1, 2, 3]) }
    }
}
