import Testing
import GraftNN
import GraftTensor

/// `accumulateParameterGradients` (no input gradient for the model's input) must give exactly
/// the parameter gradients `backward` gives.
@Suite struct ParameterGradientOnlyTests {
    func model() throws -> Sequential {
        try Sequential {
            try Sequential("body") {
                try Dense(6, 8, seed: 1)
                GELU()
                try LoRA(try Dense(8, 8, seed: 2), rank: 2, alpha: 4, seed: 3)
                ReLU()
            }
            try Dense(8, 3, seed: 4).named("head")
        }
    }

    @Test func sameParameterGradientsAsBackward() throws {
        var g = SeededGenerator(seed: 9)
        let x = Tensor.randomNormal(shape: [5, 6], generator: &g)
        let upstream = Tensor.randomNormal(shape: [5, 3], generator: &g)
        let a = try model(), b = try model()
        // Make the LoRA factor B non-zero so gradients reach A.
        for m in [a, b] {
            let p = m.namedParameters().first { $0.path.hasSuffix("lora_b") }!.parameter
            p.value = Tensor(repeating: 0.1, shape: p.shape)
        }
        _ = try a.forward(x); _ = try a.backward(upstream)
        _ = try b.forward(x); try b.accumulateParameterGradients(upstream)
        for (pa, pb) in zip(a.namedParameters(), b.namedParameters()) {
            #expect(pa.path == pb.path)
            #expect(pa.parameter.gradient == pb.parameter.gradient, "\(pa.path)")
        }
        #expect(a.namedParameters().contains { $0.parameter.gradient.squaredNorm() > 0 })
    }
}
