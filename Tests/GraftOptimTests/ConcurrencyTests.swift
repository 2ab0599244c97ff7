import Testing
import GraftOptim
import GraftTensor

/// Groups large enough to be split over the cores (many tensors spread over threads, and
/// tensors above the split threshold processed in parallel blocks) must give, bit for bit,
/// what each tensor gives on its own in a group too small to use threads.
@Suite struct ConcurrencyTests {
    static let recipes: [(String, @Sendable () throws -> AnyGradientTransform)] = [
        ("sgd momentum + decay", { AnyGradientTransform(try Recipes.sgd(learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)) }),
        ("nesterov", { AnyGradientTransform(try Recipes.sgd(learningRate: 0.01, momentum: 0.9, nesterov: true)) }),
        ("adam + decay", { AnyGradientTransform(try Recipes.adam(learningRate: 0.01, weightDecay: 1e-3)) }),
        ("adamW amsgrad", { AnyGradientTransform(try Recipes.adamW(learningRate: 0.01, amsgrad: true)) }),
        ("l2sp", { AnyGradientTransform(try Recipes.l2sp(learningRate: 0.01, alpha: 0.1, base: .sgd(momentum: 0.9))) }),
        ("digrap", { AnyGradientTransform(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5))) }),
        ("spd", { AnyGradientTransform(try Recipes.spd(learningRate: 0.01, lambda: 0.5)) }),
    ]

    @Test(arguments: recipes.indices)
    func parallelGroupsEqualTensorByTensor(_ which: Int) throws {
        let (name, make) = Self.recipes[which]
        // 40 tensors of 30k elements plus one of 2.2M (above Parallel.minimumElements = 2^21): two
        // small-tensor bins and one tensor split over the cores.
        var g = SeededGenerator(seed: 7)
        let shapes = Array(repeating: [300, 100], count: 40) + [[1_100, 2_000]]
        let initial = shapes.map { Tensor.randomNormal(shape: $0, generator: &g) }
        let gradients = (0..<3).map { _ in shapes.map { Tensor.randomNormal(shape: $0, generator: &g) } }

        let together = initial.enumerated().map { NamedParameter(path: "p\($0.offset)", parameter: Parameter($0.element)) }
        let optimizer = try Optimizer(parameters: together, groups: [try ParameterGroup("all", selecting: .all, transform: make())])
        for step in gradients {
            for (p, grad) in zip(together, step) { p.parameter.gradient = grad }
            try optimizer.step()
        }
        for (i, p) in together.enumerated() where i % 8 == 0 || i == shapes.count - 1 {
            let alone = NamedParameter(path: "p\(i)", parameter: Parameter(initial[i]))
            let single = try Optimizer(parameters: [alone], groups: [try ParameterGroup("all", selecting: .all, transform: make())])
            for step in gradients {
                alone.parameter.gradient = step[i]
                try single.step()
            }
            #expect(p.parameter.value == alone.parameter.value, "\(name): tensor \(i) differs when its group runs in parallel")
        }
    }
}
