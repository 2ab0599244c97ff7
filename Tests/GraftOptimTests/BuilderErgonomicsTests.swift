import GraftOptim
import GraftTensor
import GraftTesting
import Testing

/// `@TransformBuilder`'s control flow (issue 14, item 9): `if`/`else` and `switch` keep a
/// chain of elementwise rules one fused kernel, `for` becomes one erased member, and
/// `.erased()` lets a ternary choose between recipes of different types.
@Suite("TransformBuilder: if/else, switch, for and erasure")
struct BuilderErgonomicsTests {
    let fixture = LawFixture()

    func isFused<T: GradientTransform>(_ t: T) throws -> Bool {
        try fixture.optimizer(t).0.isFused(group: "all") ?? false  // the group exists: nil never happens
    }

    func chosen(lion: Bool) throws -> some GradientTransform {
        try chain {
            if lion { try ScaleByLion(beta1: 0.95, beta2: 0.98) } else { try ScaleByAdam() }
            try AddDecayedWeights(0.01)
            try ScaleByLearningRate(1e-2)
        }
    }

    @Test("if/else between fusable members keeps the chain one kernel, and equals the branch written out")
    func ifElseFuses() throws {
        for lion in [true, false] {
            let t = try chosen(lion: lion)
            #expect(try isFused(t), "lion: \(lion)")
            let written = lion
                ? try fixture.runOptimizer(try chain { try ScaleByLion(beta1: 0.95, beta2: 0.98); try AddDecayedWeights(0.01); try ScaleByLearningRate(1e-2) }, steps: 1...4)
                : try fixture.runOptimizer(try chain { try ScaleByAdam(); try AddDecayedWeights(0.01); try ScaleByLearningRate(1e-2) }, steps: 1...4)
            try TransformLaws.expectIdentical(try fixture.runOptimizer(t, steps: 1...4), written, "if/else = the branch written out")
        }
        let a = try fixture.runOptimizer(try chosen(lion: true), steps: 1...2)
        let b = try fixture.runOptimizer(try chosen(lion: false), steps: 1...2)
        #expect(a != b, "the branches differ, so the comparison above can fail")
    }

    @Test("a reduction (DiGraP) in a branch: fused = unfused, parallel = serial, snapshot round trip")
    func reductionInBranch() throws {
        func make(_ digrap: Bool) throws -> some GradientTransform {
            try chain {
                try ScaleByAdam()
                if digrap { try DirectionalProjection(omega: .learned(mu: 0.5)) } else { try Scale(0.5) }
                try ScaleByLearningRate(1e-2)
            }
        }
        for digrap in [true, false] {
            #expect(try isFused(try make(digrap)))
            let middle = digrap ? AnyGradientTransform(try DirectionalProjection(omega: .learned(mu: 0.5))) : AnyGradientTransform(try Scale(0.5))
            try TransformLaws.fusedEqualsUnfused(try make(digrap), members: [.init(try ScaleByAdam()), middle, .init(try ScaleByLearningRate(1e-2))])
            try TransformLaws.parallelEqualsSerial { try make(digrap) }
            try TransformLaws.roundTripsState { try make(digrap) }
        }
    }

    enum Rule { case sgd, adam, lion }

    @Test("switch picks among several rules and stays fused")
    func switchFuses() throws {
        func make(_ rule: Rule) throws -> some GradientTransform {
            try chain {
                switch rule {
                case .sgd: try Momentum(momentum: 0.9)
                case .adam: try ScaleByAdam()
                case .lion: try ScaleByLion()
                }
                try ScaleByLearningRate(1e-2)
            }
        }
        var results: [[Tensor]] = []
        for rule in [Rule.sgd, .adam, .lion] {
            #expect(try isFused(try make(rule)))
            results.append(try fixture.runOptimizer(try make(rule), steps: 1...3))
        }
        #expect(results[0] != results[1] && results[1] != results[2])
        try TransformLaws.expectIdentical(results[1], try fixture.runOptimizer(try chain { try ScaleByAdam(); try ScaleByLearningRate(1e-2) }, steps: 1...3),
                                          "switch = the case written out")
    }

    @Test("if without else: present fuses and equals the member written out; absent is nothing")
    func optionalFuses() throws {
        for decay in [true, false] {
            let t = try chain {
                try ScaleByAdam()
                if decay { try AddDecayedWeights(0.1) }
                try ScaleByLearningRate(1e-2)
            }
            #expect(try isFused(t))
            let written = decay
                ? try fixture.runOptimizer(try chain { try ScaleByAdam(); try AddDecayedWeights(0.1); try ScaleByLearningRate(1e-2) }, steps: 1...3)
                : try fixture.runOptimizer(try chain { try ScaleByAdam(); try ScaleByLearningRate(1e-2) }, steps: 1...3)
            try TransformLaws.expectIdentical(try fixture.runOptimizer(t, steps: 1...3), written, "if = the member written out")
        }
    }

    @Test("for: the iterations run in order as one erased member")
    func forLoop() throws {
        let factors: [Float] = [0.5, -3, 0.25]
        let looped = try chain {
            try ScaleByAdam()
            for f in factors { try Scale(f) }
            try ScaleByLearningRate(1e-2)
        }
        let written = try chain { try ScaleByAdam(); try Scale(0.5); try Scale(-3); try Scale(0.25); try ScaleByLearningRate(1e-2) }
        try TransformLaws.expectIdentical(try fixture.runOptimizer(looped, steps: 1...3), try fixture.runOptimizer(written, steps: 1...3),
                                          "for = the iterations written out")
        #expect(looped.memberCount == 5)
        #expect(try !isFused(looped), "a loop is a SequenceTransform: the chain around it is not one kernel")
        try TransformLaws.roundTripsState { try chain { try ScaleByAdam(); for f in factors { try Scale(f) } } }
        // A loop of one iteration runs as that iteration (fused); an empty loop is the identity.
        #expect(try isFused(try chain { for f in [Float(0.5)] { try Scale(f) } }))
        let none = try chain { for f in [Float]() { try Scale(f) } }
        #expect(try isFused(none))
        try TransformLaws.isIdentity(none)
        // In an optimizer too (a member-less chain has no state storage: u = g, θ ← θ + g).
        var plain = fixture.initialValues
        for t in 1...2 { for i in plain.indices { plain[i] = try plain[i] + fixture.gradient(i, step: t) } }
        try TransformLaws.expectIdentical(try fixture.runOptimizer(none, steps: 1...2), plain, "empty loop in an Optimizer")
        let absent = try chain { if factors.isEmpty { try Scale(2) } }
        try TransformLaws.expectIdentical(try fixture.runOptimizer(absent, steps: 1...2), plain, "absent if in an Optimizer")
    }

    @Test("a ternary chooses between recipes of different types through .erased(), and stays fused")
    func ternaryWithErasure() throws {
        for sgd in [true, false] {
            let t = try sgd ? Recipes.sgd(learningRate: 0.1, momentum: 0.9).erased() : Recipes.adam(learningRate: 1e-3).erased()
            #expect(t.isFused)
            #expect(try isFused(t))
            let direct = sgd ? try fixture.runOptimizer(try Recipes.sgd(learningRate: 0.1, momentum: 0.9), steps: 1...3)
                             : try fixture.runOptimizer(try Recipes.adam(learningRate: 1e-3), steps: 1...3)
            try TransformLaws.expectIdentical(try fixture.runOptimizer(t, steps: 1...3), direct, "erased = the recipe")
        }
        // Without erasure: the choice inside the builder is an Either of the two recipes, static and fused.
        for sgd in [true, false] {
            let t = try chain { if sgd { try Recipes.sgd(learningRate: 0.1, momentum: 0.9) } else { try Recipes.adam(learningRate: 1e-3) } }
            #expect(try isFused(t))
            let direct = sgd ? try fixture.runOptimizer(try Recipes.sgd(learningRate: 0.1, momentum: 0.9), steps: 1...3)
                             : try fixture.runOptimizer(try Recipes.adam(learningRate: 1e-3), steps: 1...3)
            try TransformLaws.expectIdentical(try fixture.runOptimizer(t, steps: 1...3), direct, "if/else of recipes = the recipe")
        }
        // Erasing an erased transform keeps it as it is.
        let once = try Recipes.adam(learningRate: 1e-3).erased()
        #expect(once.erased().memberCount == once.memberCount)
    }

    @Test("a branch that cannot fuse (global-norm clipping) still builds and runs as written")
    func unfusableBranch() throws {
        for clip in [true, false] {
            let t = try chain {
                if clip { try ClipByGlobalNorm(maxNorm: 0.5) } else { Identity() }
                try ScaleByAdam()
                try ScaleByLearningRate(1e-2)
            }
            #expect(try isFused(t) == false || !clip)
            let written = clip
                ? try fixture.runOptimizer(try chain { try ClipByGlobalNorm(maxNorm: 0.5); try ScaleByAdam(); try ScaleByLearningRate(1e-2) }, steps: 1...3)
                : try fixture.runOptimizer(try chain { try ScaleByAdam(); try ScaleByLearningRate(1e-2) }, steps: 1...3)
            try TransformLaws.expectIdentical(try fixture.runOptimizer(t, steps: 1...3), written, "unfusable branch = written out")
        }
    }
}
