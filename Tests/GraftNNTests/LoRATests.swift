import GraftNN
import GraftTensor
import Testing

@Suite("LoRA")
struct LoRATests {
    func batch(_ rows: Int, _ cols: Int, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randomNormal(shape: [rows, cols], generator: &g)
    }

    @Test(arguments: [true, false])
    func zeroBGivesExactlyTheBaseOutput(bias: Bool) throws {
        let base = try Dense(7, 5, bias: bias, seed: 1)
        let x = batch(6, 7, seed: 2)
        let expected = try base.forward(x)
        let lora = try LoRA(base, rank: 3, alpha: 8, seed: 3)
        #expect(lora.b.value.scalars.allSatisfy { $0 == 0 })
        #expect(lora.a.value.scalars.contains { $0 != 0 })
        #expect(try lora.forward(x) == expected)
    }

    @Test func initFreezesTheBaseAndAnchorsFactorsAtZero() throws {
        let base = try Dense(4, 3, seed: 1)
        let lora = try LoRA(base, rank: 2, alpha: 4, seed: 2)
        #expect(!base.weight.isTrainable && !(base.bias?.isTrainable ?? true))
        #expect(lora.a.isTrainable && lora.b.isTrainable)
        #expect(lora.a.anchor == .zero && lora.b.anchor == .zero)
        #expect(base.weight.anchor == .initial)
        #expect(lora.scale == 2)
        #expect(lora.a.shape == [2, 4] && lora.b.shape == [3, 2])
        // A ~ U(−1/√in, 1/√in), as peft's kaiming_uniform(a: √5).
        #expect(lora.a.value.scalars.allSatisfy { abs($0) <= 0.5 })
    }

    @Test func backwardLeavesFrozenBaseGradientsUntouched() throws {
        let base = try Dense(4, 3, seed: 1)
        let lora = try LoRA(base, rank: 2, alpha: 4, seed: 2)
        randomize(lora.b, seed: 3)
        lora.zeroGradients()
        let x = batch(5, 4, seed: 4)
        _ = try lora.forward(x)
        _ = try lora.backward(batch(5, 3, seed: 5))
        #expect(base.weight.gradient.scalars.allSatisfy { $0 == 0 })
        #expect(base.bias!.gradient.scalars.allSatisfy { $0 == 0 })
        #expect(lora.a.gradient.scalars.contains { $0 != 0 })
        #expect(lora.b.gradient.scalars.contains { $0 != 0 })
        // A hand-written SGD step over trainable parameters leaves the base as it was.
        let before = base.weight.value
        for p in lora.namedParameters() where p.parameter.isTrainable {
            try p.parameter.value.addScaled(p.parameter.gradient, by: -0.1)
        }
        #expect(base.weight.value == before)
    }

    @Test func mergedDenseComputesTheSameMap() throws {
        let lora = try LoRA(try Dense(6, 4, seed: 1), rank: 2, alpha: 3, seed: 2)
        randomize(lora.b, seed: 3)
        let x = batch(3, 6, seed: 4)
        let y = try lora.forward(x)
        let merged = lora.merged()
        let z = try merged.forward(x)
        for (a, b) in zip(y.scalars, z.scalars) { #expect(abs(a - b) <= 1e-5 * max(1, abs(a))) }
        #expect(merged.weight.isTrainable)
        #expect(merged.weight.value != lora.base.weight.value)
    }

    @Test func invalidConfigurationsThrow() throws {
        #expect(throws: LayerError.invalidSize(layer: "LoRA", argument: "rank", value: 0, expected: "1…2 = min(in, out)")) {
            try LoRA(try Dense(2, 2, seed: 1), rank: 0, alpha: 1, seed: 1)
        }
        // Issue 13: a rank above min(in, out) is refused before any allocation (rank 10⁹ asked for 1 TB).
        #expect(throws: LayerError.invalidSize(layer: "LoRA", argument: "rank", value: 1_000_000_000, expected: "1…3 = min(in, out)")) {
            try LoRA(try Dense(3, 5, seed: 1), rank: 1_000_000_000, alpha: 1, seed: 1)
        }
        #expect(throws: LayerError.invalidSize(layer: "LoRA", argument: "rank", value: Int.max, expected: "1…3 = min(in, out)")) {
            try LoRA(try Dense(5, 3, seed: 1), rank: Int.max, alpha: 1, seed: 1)
        }
        #expect(try LoRA(try Dense(5, 3, seed: 1), rank: 3, alpha: 1, seed: 1).rank == 3)
        #expect(throws: LayerError.invalidHyperparameter(layer: "LoRA", argument: "alpha", value: .infinity, expected: "a finite number")) {
            try LoRA(try Dense(2, 2, seed: 1), rank: 1, alpha: .infinity, seed: 1)
        }
    }
}
