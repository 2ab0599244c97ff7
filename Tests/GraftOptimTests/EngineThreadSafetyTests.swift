import Testing
import GraftOptim
import GraftTensor

/// Every engine path on two threads with every tensor split between them (the parallel
/// threshold lowered to 1): the results equal one thread's bit for bit. `.ci/run` also runs
/// this suite under ThreadSanitizer (`swift test --sanitize=thread --filter EngineThreadSafety`).
@Suite("EngineThreadSafety", .serialized)
struct EngineThreadSafetyTests {
    static let recipes: [(String, @Sendable () throws -> AnyGradientTransform)] = [
        ("sgd", { AnyGradientTransform(try Recipes.sgd(learningRate: 0.01)) }),
        ("sgd momentum + decay", { AnyGradientTransform(try Recipes.sgd(learningRate: 0.01, momentum: 0.9, weightDecay: 1e-4)) }),
        ("adam", { AnyGradientTransform(try Recipes.adam(learningRate: 0.01)) }),
        ("adamW amsgrad", { AnyGradientTransform(try Recipes.adamW(learningRate: 0.01, amsgrad: true)) }),
        ("l2sp", { try Recipes.l2sp(learningRate: 0.01, alpha: 0.1, base: .adam()) }),
        ("digrap learned", { try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5)) }),
        ("digrap fixed, update", { try Recipes.digrap(learningRate: 0.01, omega: .fixed(1), placement: .update) }),
        ("spd", { AnyGradientTransform(try Recipes.spd(learningRate: 0.01, lambda: 0.5)) }),
        ("ftp", { try Recipes.ftp(learningRate: 0.01) }),
        ("rmsprop centered momentum", { AnyGradientTransform(try Recipes.rmsprop(learningRate: 0.01, momentum: 0.9, centered: true)) }),
        ("adagrad", { AnyGradientTransform(try Recipes.adagrad(learningRate: 0.01, initialAccumulator: 0.1)) }),
        ("radam", { AnyGradientTransform(try Recipes.radam(learningRate: 0.01, weightDecay: 0.01, decoupledWeightDecay: true)) }),
        ("nadam", { AnyGradientTransform(try Recipes.nadam(learningRate: 0.01)) }),
        ("lion", { AnyGradientTransform(try Recipes.lion(learningRate: 0.001, weightDecay: 0.1)) }),
        ("lamb", { AnyGradientTransform(try Recipes.lamb(learningRate: 0.01, weightDecay: 0.01)) }),
        ("muon", { AnyGradientTransform(try Recipes.muon(learningRate: 0.01)) }),
        ("adafactor", { AnyGradientTransform(try Recipes.adafactor(learningRate: 0.01, weightDecay: 0.01)) }),
        ("l2sp on lion", { try Recipes.l2sp(learningRate: 0.001, alpha: 0.1, base: .lion()) }),
        ("clip, unfused", { AnyGradientTransform(try chain { try ClipByGlobalNorm(maxNorm: 1); try ScaleByAdam(); try ScaleByLearningRate(0.01) }) }),
        // Combinators (issue 14): fused around static members, unfused around erased ones.
        ("masked adamW", { AnyGradientTransform(try chain { try ScaleByAdam(); try Masked(.rank(atLeast: 2), AddDecayedWeights(0.1)); try ScaleByLearningRate(0.01) }) }),
        ("masked digrap (reduction)", {
            AnyGradientTransform(try chain { try Masked(.rank(atLeast: 2), DirectionalProjection(omega: .learned(mu: 0.5))); try ScaleByAdam(); try ScaleByLearningRate(0.01) })
        }),
        ("masked, erased", { AnyGradientTransform(try Masked(.rank(atMost: 1), Recipes.adam(learningRate: 0.01).erased())) }),
        ("multi_steps 2 adam", { AnyGradientTransform(try MultiSteps(every: 2, Recipes.adam(learningRate: 0.01))) }),
        ("multi_steps 2 digrap (reduction)", {
            AnyGradientTransform(try MultiSteps(every: 2, chain { try DirectionalProjection(omega: .fixed(1)); try ScaleByAdam(); try ScaleByLearningRate(0.01) }))
        }),
        ("multi_steps, erased", { AnyGradientTransform(try MultiSteps(every: 2, Recipes.adam(learningRate: 0.01).erased())) }),
        ("lookahead 2 adam", { AnyGradientTransform(try Lookahead(syncPeriod: 2, slowStepSize: 0.5, Recipes.adam(learningRate: 0.01))) }),
        ("lookahead, erased", { AnyGradientTransform(try Lookahead(syncPeriod: 2, slowStepSize: 0.5, Recipes.adam(learningRate: 0.01).erased())) }),
        ("adam + ema", { AnyGradientTransform(try ParameterEMA(decay: 0.9, Recipes.adam(learningRate: 0.01))) }),
        ("adam + ema, erased", { AnyGradientTransform(try ParameterEMA(decay: 0.9, debias: false, Recipes.adam(learningRate: 0.01).erased())) }),
        ("step_conditioned sgd → digrap", {
            AnyGradientTransform(try StepConditioned(switchingAfter: 2, first: Recipes.sgd(learningRate: 0.01, momentum: 0.9),
                                                     then: chain { try DirectionalProjection(omega: .learned(mu: 0.5)); try ScaleByAdam(); try ScaleByLearningRate(0.01) }))
        }),
        ("step_conditioned, erased", {
            AnyGradientTransform(try StepConditioned(switchingAfter: 2, first: Recipes.sgd(learningRate: 0.01).erased(), then: Recipes.adam(learningRate: 0.01).erased()))
        }),
        ("adam, scheduled beta1", {
            AnyGradientTransform(try chain { try ScaleByAdam(beta1: Schedule.custom(name: "ramp") { t in min(0.9, 0.5 + 0.1 * Float(t)) }); try ScaleByLearningRate(0.01) })
        }),
    ]

    func run(_ make: () throws -> AnyGradientTransform, threads: Int) throws -> [Tensor] {
        let saved = Parallel.threads
        Parallel.threads = threads
        defer { Parallel.threads = saved }
        var g = SeededGenerator(seed: 7)
        // Matrices with rows that are not multiples of 8 wide, a vector, and a tensor longer than a segment.
        let shapes = [[37, 29], [64], [3, 4100], [5], [9000]]
        let params = shapes.enumerated().map { i, s in
            NamedParameter(path: "p\(i)", parameter: Parameter(Tensor.randomNormal(shape: s, generator: &g), anchor: i == 1 ? .zero : .initial))
        }
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: make())])
        o.parallelThreshold = 1
        for _ in 0..<3 {
            for p in params { p.parameter.gradient = Tensor.randomNormal(shape: p.parameter.shape, generator: &g) }
            try o.step()
        }
        return params.map(\.parameter.value)
    }

    @Test(arguments: recipes.indices)
    func twoThreadsEqualOne(_ which: Int) throws {
        let (name, make) = Self.recipes[which]
        let two = try run(make, threads: 2), one = try run(make, threads: 1)
        for (a, b) in zip(two, one) {
            #expect(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern), "\(name): two threads differ from one")
        }
    }

    @Test func finiteCheckOnTwoThreadsFindsTheBadTensor() throws {
        let saved = Parallel.threads
        Parallel.threads = 2
        defer { Parallel.threads = saved }
        let params = (0..<4).map { NamedParameter(path: "p\($0)", parameter: Parameter(Tensor(zeros: [5000]))) }
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: 0.1))])
        o.parallelThreshold = 1
        for p in params { p.parameter.gradient = Tensor(repeating: 1, shape: [5000]) }
        var bad = params[2].parameter.gradient
        bad.withUnsafeMutableBufferPointer { $0[4321] = .nan }
        params[2].parameter.gradient = bad
        #expect(throws: OptimizerError.nonFiniteGradient(path: "p2", group: "all", step: 1)) { try o.step() }
        #expect(params.allSatisfy { $0.parameter.value == Tensor(zeros: [5000]) }, "nothing changed")
    }
}
