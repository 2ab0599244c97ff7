import GraftNN
import GraftTensor
import Testing

/// A pass-through layer that records the storage address of every tensor flowing through
/// it: inserted between layers, it sees each layer's output buffer (forward) and each
/// layer's input-gradient buffer (backward) without holding on to them.
final class AddressProbe: Layer {
    var forwardAddresses: [Int] = []
    var backwardAddresses: [Int] = []

    func forward(_ x: Tensor) -> Tensor {
        forwardAddresses.append(address(x))
        return x
    }

    func backward(_ g: Tensor) -> Tensor {
        backwardAddresses.append(address(g))
        return g
    }
}

func address(_ t: Tensor) -> Int {
    t.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
}

@Suite("Steady-state training steps reuse their buffers")
struct SteadyStateTests {
    /// Every kind of layer, with a probe after each one.
    func instrumentedModel() throws -> (Sequential, [AddressProbe]) {
        var probes: [AddressProbe] = []
        func probe() -> AddressProbe {
            probes.append(AddressProbe())
            return probes.last!
        }
        let model = try Sequential {
            probe()
            try Sequential("body") {
                try Dense(6, 8, seed: 1)
                probe()
                ReLU()
                probe()
                try LoRA(try Dense(8, 8, seed: 2), rank: 2, alpha: 2, seed: 3)
                probe()
                GELU()
                probe()
                try LayerNorm(8)
                probe()
                try Dropout(0.2, seed: 4)
                probe()
                try LeakyReLU()
                probe()
                Tanh()
                probe()
                Sigmoid()
            }
            probe()
            Flatten()
            try Dense(8, 3, seed: 5).named("head")
            probe()
        }
        return (model, probes)
    }

    /// Storage addresses touched by one step: every probe's observations, the logits, the
    /// loss gradient and every parameter's value and gradient.
    func step(_ model: Sequential, _ probes: [AddressProbe], _ loss: SoftmaxCrossEntropy, x: Tensor,
              keep kept: inout [Tensor], keepOutputs: Bool) throws -> [Int] {
        for p in probes { p.forwardAddresses.removeAll(keepingCapacity: true); p.backwardAddresses.removeAll(keepingCapacity: true) }
        model.zeroGradients()
        let logits = try model.forward(x)
        let out = try loss(logits, labels: [0, 1, 2, 1, 0])
        _ = try model.backward(out.gradient)
        for p in model.namedParameters() where p.parameter.isTrainable {
            try p.parameter.value.addScaled(p.parameter.gradient, by: -0.1)
        }
        if keepOutputs { kept.append(logits) }
        var addresses = probes.flatMap { $0.forwardAddresses + $0.backwardAddresses }
        addresses += [address(logits), address(out.gradient)]
        addresses += model.namedParameters().flatMap { [address($0.parameter.value), address($0.parameter.gradient)] }
        return addresses
    }

    @Test func everyBufferKeepsItsAddressAcrossSteps() throws {
        let (model, probes) = try instrumentedModel()
        let loss = try SoftmaxCrossEntropy(labelSmoothing: 0.1)
        var g = SeededGenerator(seed: 9)
        let x = Tensor.randomNormal(shape: [5, 6], generator: &g)
        var kept: [Tensor] = []
        let first = try step(model, probes, loss, x: x, keep: &kept, keepOutputs: false)
        #expect(first.count == 2 * probes.count + 2 + 2 * 10)  // 10 parameters
        for _ in 0..<4 {
            let next = try step(model, probes, loss, x: x, keep: &kept, keepOutputs: false)
            #expect(next == first)
        }
        // The comparison is not vacuous: the 11 probes saw 22 different buffers (the input,
        // ten layer outputs, the loss gradient and ten input gradients).
        let seen = probes.flatMap { $0.forwardAddresses + $0.backwardAddresses }
        #expect(seen.count == 22 && Set(seen).count == 22)
    }

    /// The negative control: a caller that keeps each step's logits alive forces the last
    /// layer to copy its output buffer (copy on write), and the address check sees it.
    @Test func keepingOutputsAliveIsDetected() throws {
        let (model, probes) = try instrumentedModel()
        let loss = try SoftmaxCrossEntropy()
        var g = SeededGenerator(seed: 9)
        let x = Tensor.randomNormal(shape: [5, 6], generator: &g)
        var kept: [Tensor] = []
        var logitAddresses: [Int] = []
        for _ in 0..<3 {
            _ = try step(model, probes, loss, x: x, keep: &kept, keepOutputs: true)
            logitAddresses.append(address(kept.last!))
        }
        #expect(Set(logitAddresses).count == 3)
        // Correctness is unaffected: the kept outputs are three different steps' logits.
        #expect(kept[0] != kept[2])
    }

    @Test func aNewBatchSizeReallocatesOnce() throws {
        let d = try Dense(3, 2, seed: 1)
        var g = SeededGenerator(seed: 2)
        let a = Tensor.randomNormal(shape: [4, 3], generator: &g)
        let b = Tensor.randomNormal(shape: [2, 3], generator: &g)
        let first = address(try d.forward(a))
        #expect(try address(d.forward(a)) == first)
        let small = address(try d.forward(b))
        #expect(try d.forward(b).shape == [2, 2])
        #expect(try address(d.forward(b)) == small)
    }
}
