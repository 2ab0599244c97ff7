import Testing
import GraftNN
import GraftTensor
@testable import GraftOptim
@testable import GraftTrain

/// The LoRAFineTune example's claims on a small MLP: a plain model's weights load into its
/// LoRA version, only adapters and the new head train, and anchor-based optimizers store no
/// θ0 copy for adapters (anchor `.zero`), while they do snapshot `.initial` anchors.
@Suite struct LoRAFineTuneTests {
    /// A "pre-trained" MLP 16-12-8-3, its LoRA version (rank 2, plain weights loaded with
    /// `strict: false`) with a new head, and the adapters.
    func models() throws -> (plain: Classifier, lora: Classifier, adapters: [LoRA]) {
        let plain = try Classifier.mlp(input: 16, hidden: [12, 8], classes: 3, seed: 1)
        let skeleton = try Classifier.mlp(input: 16, hidden: [12, 8], classes: 3, seed: 99)
        var adapters: [LoRA] = []
        var layers: [NamedLayer] = []
        for (name, layer) in skeleton.body.children {
            if let dense = layer as? Dense {
                let adapter = try LoRA(dense, rank: 2, alpha: 4, seed: 7 &+ UInt64(adapters.count))
                adapters.append(adapter)
                layers.append(adapter.named(name))
            } else {
                layers.append(layer.named(name))
            }
        }
        let adapted = try Classifier(body: try Sequential("body", layers: layers), head: skeleton.head)
        try adapted.load(plain.weights(), strict: false)
        return (plain, try adapted.withNewHead(classes: 3, seed: 5), adapters)
    }

    /// `steps` optimizer steps on random data.
    func train(_ model: Classifier, _ optimizer: Optimizer, steps: Int) throws {
        var g = SeededGenerator(seed: 3)
        let loss = try SoftmaxCrossEntropy()
        for _ in 0..<steps {
            let x = Tensor.randomNormal(shape: [8, 16], generator: &g)
            let labels = (0..<8).map { _ in Int(g.next() % 3) }
            model.model.zeroGradients()
            let out = try loss(model.model(x), labels: labels)
            _ = try model.model.backward(out.gradient)
            try optimizer.step()
        }
    }

    func digrap(_ model: Classifier) throws -> Optimizer {
        try Optimizer(parameters: model.namedParameters(), groups: [
            ParameterGroup("all", selecting: .all, transform: try Recipes.digrap(learningRate: 1e-2, omega: .learned(mu: 0.5))),
        ])
    }

    @Test func plainWeightsLoadIntoTheLoRAVersion() throws {
        let (plain, lora, adapters) = try models()
        let weights = plain.weights()
        for p in lora.body.namedParameters() {
            if p.path.hasSuffix("lora_a") || p.path.hasSuffix("lora_b") {
                #expect(p.parameter.isTrainable && p.parameter.anchor == .zero, "\(p.path)")
            } else {
                #expect(p.parameter.value == weights["body." + p.path], "\(p.path)")
                #expect(!p.parameter.isTrainable, "\(p.path)")
            }
        }
        #expect(lora.head.weight.anchor == .none && lora.head.weight.isTrainable)
        #expect(lora.model.parameterCount(trainableOnly: true) == adapters.map { $0.a.value.count + $0.b.value.count }.reduce(0, +) + 8 * 3 + 3)
    }

    @Test func digrapStoresNoAnchorCopyForAdapters() throws {
        let (plain, lora, adapters) = try models()
        let optimizer = try digrap(lora)
        let baseBefore = adapters.map { $0.base.weight.value }
        try train(lora, optimizer, steps: 5)
        let runtime = try #require(optimizer.runtimes.first)
        for p in lora.namedParameters() {
            let k = runtime.infos.firstIndex { $0.path == p.path }
            switch p.parameter.anchor {
            case .zero:
                // Member of the group, nothing stored, zeros handed out on demand.
                let k = try #require(k, "\(p.path) is not in the group")
                #expect(runtime.anchors[k] == nil, "\(p.path): a θ0 copy is stored")
                let first = try #require(optimizer.anchor(for: p.path)), second = try #require(optimizer.anchor(for: p.path))
                #expect(first.shape == p.parameter.shape && first.scalars.allSatisfy { $0 == 0 })
                withExtendedLifetime((first, second)) {
                    #expect(first.unsafeStorage().baseAddress != second.unsafeStorage().baseAddress, "\(p.path): shared storage")
                }
                // Learned ω keeps p_{t−1} (one float per scalar), Adam m and v.
                let state = try #require(optimizer.state(of: "digrap", for: p.path, as: DirectionalProjection.TensorState.self))
                #expect(state.isActive && state.previousDirection?.count == p.parameter.value.count)
                let adam = try #require(optimizer.state(of: "adam", for: p.path, as: ScaleByAdam.TensorState.self))
                #expect(adam.m.count == p.parameter.value.count && adam.v.count == p.parameter.value.count && adam.vMax == nil)
            case .none:
                // The new head: in the group, no anchor, DiGraP inactive.
                let k = try #require(k)
                #expect(runtime.anchors[k] == nil && optimizer.anchor(for: p.path) == nil)
                #expect(optimizer.state(of: "digrap", for: p.path, as: DirectionalProjection.TensorState.self)?.previousDirection == nil)
            case .initial:
                // The frozen base: not in the optimizer at all.
                #expect(k == nil && optimizer.group(of: p.path) == nil && optimizer.anchor(for: p.path) == nil)
                #expect(optimizer.state(of: "adam", for: p.path) == nil)
            }
        }
        // Training moved the adapters and left the frozen base exactly as it was.
        #expect(adapters.map { $0.base.weight.value } == baseBefore)
        #expect(adapters.allSatisfy { $0.b.value.scalars.contains { $0 != 0 } })

        // Contrast: DiGraP over the plain model snapshots its `.initial` anchors once (the
        // same storage on every call), the head of a new-head model aside.
        let full = try plain.withNewHead(classes: 3, seed: 5)
        let pretrained = full.weights()
        let fullOptimizer = try digrap(full)
        try train(full, fullOptimizer, steps: 2)
        let fullRuntime = try #require(fullOptimizer.runtimes.first)
        for p in full.body.namedParameters() {
            let path = "body." + p.path
            let k = try #require(fullRuntime.infos.firstIndex { $0.path == path })
            #expect(fullRuntime.anchors[k] == pretrained[path], "\(path): snapshot is not the pre-trained value")
            let first = try #require(fullOptimizer.anchor(for: path)), second = try #require(fullOptimizer.anchor(for: path))
            withExtendedLifetime((first, second)) {
                #expect(first.unsafeStorage().baseAddress == second.unsafeStorage().baseAddress, "\(path): not stored")
            }
        }
    }

    @Test func l2spPullsAdaptersTowardZero() throws {
        // With no task gradient, L2-SP + SGD is exactly A ← (1 − ηα) A on a zero anchor.
        let (_, lora, adapters) = try models()
        let optimizer = try Optimizer(parameters: lora.namedParameters(), groups: [
            ParameterGroup("all", selecting: .all, transform: try Recipes.l2sp(learningRate: 0.1, alpha: 0.5)),
        ])
        let before = adapters.map { $0.a.value.scalars }
        lora.model.zeroGradients()
        try optimizer.step()
        for (adapter, old) in zip(adapters, before) {
            for (new, previous) in zip(adapter.a.value.scalars, old) {
                #expect(abs(new - 0.95 * previous) <= 1e-6 * max(1, abs(previous)))
            }
            #expect(adapter.b.value.scalars.allSatisfy { $0 == 0 })
        }
        #expect(optimizer.runtimes[0].anchors.allSatisfy { $0 == nil })
    }
}
