import Foundation
import Testing
import GraftOptim
import GraftTensor

/// The laws of composition (issue 4): a chain is its members applied one after the other;
/// identity changes nothing; frozen and untrainable parameters never change and keep no state;
/// `ScaleByLearningRate` is the only place where the sign flips; every recipe descends.
@Suite("Composition laws")
struct LawTests {
    // MARK: Chain = members by hand

    /// Runs `steps` steps of `makeGradients` through `chained` (one call per step) and through
    /// `members` (each member's `update` called by hand, in order, each with its own state) on
    /// two harnesses, and through an `Optimizer` with `chained`; all three must agree bitwise.
    func checkChainEqualsMembers<C: GradientTransform>(_ chained: C, members: [AnyGradientTransform], steps: Int = 5) throws {
        let params = makeProblemParameters()
        let whole = Harness(params: params), byHand = Harness(params: params)
        let chainState = chained.makeState(for: whole.infos)
        let memberStates = members.map { $0.makeState(for: byHand.infos) }
        for t in 1...steps {
            let g = makeGradients(for: params, step: t)
            whole.load(g)
            chained.update(whole.group(step: t), state: chainState)
            whole.apply()
            byHand.load(g)
            let group = byHand.group(step: t)
            for i in members.indices { members[i].update(group, state: memberStates[i]) }
            byHand.apply()
            #expect(whole.snapshot == byHand.snapshot, "step \(t): chain and members by hand differ")
        }
        let viaOptimizer = try runOneGroup(chained, params: params, steps: steps)
        #expect(viaOptimizer == whole.snapshot, "Optimizer(θ ← θ + chain(g)) differs from the chain applied by hand")
    }

    @Test func adamWChainEqualsItsMembers() throws {
        let clip = try ClipByGlobalNorm(maxNorm: 1.5), adam = try ScaleByAdam(beta1: 0.8, beta2: 0.99, amsgrad: true)
        let decay = try AddDecayedWeights(0.05), lr = try ScaleByLearningRate(0.01)
        let chained = chain {
            clip
            adam
            decay
            lr
        }
        try checkChainEqualsMembers(chained, members: [.init(clip), .init(adam), .init(decay), .init(lr)])
    }

    @Test func momentumChainEqualsItsMembers() throws {
        let decay = try AddDecayedWeights(0.1), scale = try Scale(0.5)
        let momentum = try Momentum(momentum: 0.9, nesterov: true), lr = try ScaleByLearningRate(0.1)
        let chained = chain {
            decay
            scale
            momentum
            lr
        }
        try checkChainEqualsMembers(chained, members: [.init(decay), .init(scale), .init(momentum), .init(lr)])
    }

    @Test func robustChainEqualsItsMembers() throws {
        let projection = try DirectionalProjection(omega: .learned(mu: 0.5)), anchor = try AnchorDecay(alpha: 0.1, beta: 0.01)
        let adam = try ScaleByAdam(), lr = try ScaleByLearningRate(0.05), spd = try SelectiveProjectionDecay(lambda: 0.5)
        let chained = chain {
            anchor
            projection
            adam
            lr
            spd
        }
        try checkChainEqualsMembers(chained, members: [.init(anchor), .init(projection), .init(adam), .init(lr), .init(spd)], steps: 6)
    }

    /// A run-time `SequenceTransform` and a nested chain of either association equal the flat chain.
    @Test func sequenceAndNestingEqualTheTypedChain() throws {
        let m = try Momentum(momentum: 0.5), d = try AddDecayedWeights(0.01), lr = try ScaleByLearningRate(0.2)
        let params = makeProblemParameters()
        let flat = try runOneGroup(chain { d; m; lr }, params: makeProblemParameters(), steps: 4)
        #expect(try runOneGroup(Chain(Chain(d, m), lr), params: makeProblemParameters(), steps: 4) == flat)
        #expect(try runOneGroup(Chain(d, Chain(m, lr)), params: makeProblemParameters(), steps: 4) == flat)
        #expect(try runOneGroup(SequenceTransform([.init(d), .init(m), .init(lr)]), params: makeProblemParameters(), steps: 4) == flat)
        #expect(try runOneGroup(AnyGradientTransform(chain { d; m; lr }), params: params, steps: 4) == flat)
        #expect(flat != snapshot(makeProblemParameters()), "the chain should have moved the parameters")
    }

    /// The recipes against their rules written out by hand (ALGORITHMS.md), in Double.
    @Test func sgdNesterovWithDecayFollowsTheRule() throws {
        let lr: Float = 0.1, mu: Float = 0.9, wd: Float = 0.01
        let params = makeProblemParameters()
        let got = try runOneGroup(try Recipes.sgd(learningRate: .constant(lr), momentum: mu, nesterov: true, weightDecay: wd),
                                  params: params, steps: 4)
        for p in makeProblemParameters() {
            var theta = p.parameter.value.scalars.map(Double.init)
            var b = [Double](repeating: 0, count: theta.count)
            for t in 1...4 {
                let g0 = makeGradients(for: params, step: t)[p.path]!.scalars
                for i in theta.indices {
                    let g = Double(g0[i]) + Double(wd) * theta[i]
                    b[i] = t == 1 ? g : Double(mu) * b[i] + g
                    theta[i] -= Double(lr) * (g + Double(mu) * b[i])
                }
            }
            let bad = zip(got[p.path]!, theta).filter { abs(Double($0) - $1) > 1e-5 + 1e-5 * abs($1) }
            #expect(bad.isEmpty, "\(p.path): \(bad.prefix(3))")
        }
    }

    @Test func adamWFollowsTheRule() throws {
        let lr = 0.02, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1
        let params = makeProblemParameters()
        let got = try runOneGroup(try Recipes.adamW(learningRate: .constant(Float(lr)), weightDecay: Float(wd)), params: params, steps: 5)
        for p in makeProblemParameters() {
            var theta = p.parameter.value.scalars.map(Double.init)
            var m = [Double](repeating: 0, count: theta.count), v = m
            for t in 1...5 {
                let g = makeGradients(for: params, step: t)[p.path]!.scalars.map(Double.init)
                let bc1 = 1 - pow(b1, Double(t)), bc2 = 1 - pow(b2, Double(t))
                for i in theta.indices {
                    theta[i] *= 1 - lr * wd
                    m[i] = b1 * m[i] + (1 - b1) * g[i]
                    v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                    theta[i] -= lr / bc1 * m[i] / (v[i].squareRoot() / bc2.squareRoot() + eps)
                }
            }
            let bad = zip(got[p.path]!, theta).filter { abs(Double($0) - $1) > 1e-5 + 1e-5 * abs($1) }
            #expect(bad.isEmpty, "\(p.path): \(bad.prefix(3))")
        }
    }

    // MARK: Identity

    @Test func identityChangesNothing() throws {
        let m = try Momentum(momentum: 0.9), lr = try ScaleByLearningRate(0.1)
        let plain = try runOneGroup(chain { m; lr }, params: makeProblemParameters(), steps: 4)
        #expect(try runOneGroup(chain { Identity(); m; Identity(); lr; Identity() }, params: makeProblemParameters(), steps: 4) == plain)
        #expect(try runOneGroup(chain { m; OptionalTransform<Scale>(nil); lr }, params: makeProblemParameters(), steps: 4) == plain)

        // Alone, Identity leaves u = g, so θ ← θ + g exactly; the empty builder block is Identity.
        for transform in [AnyGradientTransform(Identity()), AnyGradientTransform(chain {})] {
            let params = makeProblemParameters()
            let before = snapshot(params)
            _ = try runOneGroup(transform, params: params, steps: 1)
            let g = makeGradients(for: params, step: 1)
            for p in params {
                #expect(p.parameter.value.scalars == zip(before[p.path]!, g[p.path]!.scalars).map { $0 + $1 })
            }
        }
    }

    @Test func builderBranchesPickOneMember() throws {
        func built(_ flag: Bool) throws -> some GradientTransform {
            try chain {
                if flag { try Scale(2) } else { try Scale(-3) }
                if !flag { try Scale(10) }
                try ScaleByLearningRate(1)
            }
        }
        for flag in [true, false] {
            let p = named("w", tensor([2], [0, 0]))
            let o = try Optimizer(parameters: [p], groups: [ParameterGroup("g", selecting: .all, transform: try built(flag))])
            try o.step(objectives: [["w": tensor([2], [1, 2])]])
            #expect(p.parameter.value.scalars == (flag ? [-2, -4] : [30, 60]))
        }
    }

    // MARK: Frozen and untrainable parameters

    @Test func frozenGroupNeverChangesAndKeepsNoState() throws {
        let params = makeProblemParameters()
        let before = snapshot(params)
        let optimizer = try Optimizer(parameters: params, groups: [
            try .frozen("backbone", selecting: .prefix("body.")),
            try ParameterGroup("head", selecting: .all, transform: try Recipes.adam(learningRate: 0.1)),
        ])
        for t in 1...3 {
            var g = makeGradients(for: params, step: t)
            g["body.bias"] = tensor([4], [.nan, 1, 2, 3])  // a frozen parameter's gradient is never read
            try optimizer.step(objectives: [g])
        }
        for path in ["body.weight", "body.bias"] {
            #expect(params.first { $0.path == path }!.parameter.value.scalars == before[path]!)
            #expect(optimizer.group(of: path) == nil)
            #expect(optimizer.state(of: "adam", for: path) == nil)
            #expect(optimizer.telemetry(for: path).isEmpty)
            #expect(optimizer.anchor(for: path) == nil)
        }
        #expect(optimizer.groupNames == ["head"])
        #expect(optimizer.stepCount(ofGroup: "backbone") == nil)
        #expect(optimizer.stepCount(ofGroup: "head") == 3)
        #expect(params.last!.parameter.value.scalars != before["head.weight"]!)
        #expect(optimizer.state(of: "adam", for: "head.weight", as: ScaleByAdam.TensorState.self) != nil)
    }

    @Test func untrainableParametersNeverChangeAndKeepNoState() throws {
        let params = makeProblemParameters()
        params[0].parameter.isTrainable = false
        let before = snapshot(params)
        // No group needs to select an untrainable parameter, and `.all` does not take it.
        let optimizer = try Optimizer(parameters: params, groups: [
            try ParameterGroup("all", selecting: .all, transform: try Recipes.digrap(learningRate: 0.1, omega: .learned(mu: 1))),
        ])
        for t in 1...3 { try optimizer.step(objectives: [makeGradients(for: params, step: t)]) }
        #expect(params[0].parameter.value.scalars == before["body.weight"]!)
        #expect(params[1].parameter.value.scalars != before["body.bias"]!)
        #expect(optimizer.group(of: "body.weight") == nil)
        #expect(optimizer.state(of: "digrap", for: "body.weight") == nil)
        #expect(optimizer.state(of: "digrap", for: "body.bias", as: DirectionalProjection.TensorState.self) != nil)
        #expect(optimizer.anchor(for: "body.weight") == nil)

        // `Parameter.gradient` path too (step() without objectives).
        let p = named("w", tensor([2], [1, 2]), trainable: false)
        let q = named("v", tensor([2], [1, 2]))
        let o = try Optimizer(parameters: [p, q], groups: [ParameterGroup("g", selecting: .trainable, transform: ScaleByLearningRate(1))])
        p.parameter.gradient = tensor([2], [5, 5])
        q.parameter.gradient = tensor([2], [1, 1])
        try o.step()
        #expect(p.parameter.value.scalars == [1, 2])
        #expect(q.parameter.value.scalars == [0, 1])
    }

    // MARK: The sign flips only in ScaleByLearningRate

    static let gradientLikeTransforms: [(String, AnyGradientTransform)] = {
        func make<T: GradientTransform>(_ f: () throws -> T) -> AnyGradientTransform { AnyGradientTransform(try! f()) }
        return [
            ("identity", make { Identity() }),
            ("scale", make { try Scale(0.5) }),
            ("momentum", make { try Momentum(momentum: 0.9) }),
            ("nesterov", make { try Momentum(momentum: 0.9, nesterov: true) }),
            ("adam", make { try ScaleByAdam() }),
            ("amsgrad", make { try ScaleByAdam(amsgrad: true) }),
            ("clip", make { try ClipByGlobalNorm(maxNorm: 0.1) }),
            ("decay", make { try AddDecayedWeights(0.01) }),
            ("anchor_decay", make { try AnchorDecay(alpha: 0.3, beta: 0.01) }),
            ("digrap", make { try DirectionalProjection(omega: .fixed(1)) }),
            ("adam+digrap", make { try chain { try ScaleByAdam(); try DirectionalProjection(omega: .learned(mu: 1)) } }),
        ]
    }()

    static let gradientLikeNames = gradientLikeTransforms.map(\.0)

    /// Without `ScaleByLearningRate` a chain moves θ along the gradient (θ ← θ + u with u
    /// gradient-like); appending it turns the same update into `−α u`.
    @Test("the sign flips only in ScaleByLearningRate", arguments: gradientLikeNames)
    func signFlipsOnlyInScaleByLearningRate(_ name: String) throws {
        let transform = Self.gradientLikeTransforms.first { $0.0 == name }!.1
        // θ ≠ θ0 for the anchor-based members: start from explicit anchors.
        func run(_ t: some GradientTransform) throws -> [String: [Float]] {
            let params = makeProblemParameters()
            let anchors = Dictionary(uniqueKeysWithValues: params.prefix(2).map { p in
                (p.path, p.parameter.value.map { x in x * 0.5 })
            })
            let optimizer = try Optimizer(parameters: params, groups: [ParameterGroup("g", selecting: .all, transform: t)], anchors: anchors)
            try optimizer.step(objectives: [makeGradients(for: params, step: 1)])
            return snapshot(params)
        }
        let start = snapshot(makeProblemParameters())
        let g = makeGradients(for: makeProblemParameters(), step: 1)
        let without = try run(transform)
        let with = try run(chain { transform; try ScaleByLearningRate(0.01) })
        var along = 0.0, against = 0.0
        for (path, s) in start {
            let u = minus(without[path]!, s), v = minus(with[path]!, s)
            along += dot(u, g[path]!.scalars)
            against += dot(v, g[path]!.scalars)
            for i in u.indices { #expect(abs(v[i] + 0.01 * u[i]) <= 1e-6 + 1e-3 * abs(0.01 * u[i]), "\(path)[\(i)]") }
        }
        #expect(along > 0, "\(name) without ScaleByLearningRate should move along the gradient")
        #expect(against < 0, "\(name) with ScaleByLearningRate should move against the gradient")
    }

    @Test func scaleByLearningRateIsMinusLearningRateTimesScale() throws {
        let p = named("w", tensor([3], [0, 0, 0]))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("g", selecting: .all, transform: ScaleByLearningRate(0.25))])
        try o.step(objectives: [["w": tensor([3], [4, -8, 1])]], learningRateScale: 2)
        #expect(p.parameter.value.scalars == [-2, 4, -0.5])
        // A zero learning rate is valid and freezes the values.
        let q = named("w", tensor([1], [3]))
        let z = try Optimizer(parameters: [q], groups: [ParameterGroup("g", selecting: .all, transform: ScaleByLearningRate(0))])
        try z.step(objectives: [["w": tensor([1], [4])]])
        #expect(q.parameter.value.scalars == [3])
    }

    // MARK: Every recipe descends

    struct RecipeCase: Sendable, CustomStringConvertible {
        let name: String
        /// The final loss must fall below this share of the initial loss.
        let maxRatio: Double
        let make: @Sendable () throws -> (AnyGradientAggregator, AnyGradientTransform)
        var description: String { name }

        init<T: GradientTransform>(_ name: String, maxRatio: Double = 0.8, _ make: @escaping @Sendable () throws -> T) {
            self.name = name
            self.maxRatio = maxRatio
            self.make = { (AnyGradientAggregator(SumAggregator()), AnyGradientTransform(try make())) }
        }
        init(pcgrad name: String, _ make: @escaping @Sendable () throws -> (aggregator: PCGrad, transform: AnyGradientTransform)) {
            self.name = name
            self.maxRatio = 0.8
            self.make = { let r = try make(); return (AnyGradientAggregator(r.aggregator), r.transform) }
        }
    }

    static let recipes: [RecipeCase] = [
        RecipeCase("sgd") { try Recipes.sgd(learningRate: 0.1) },
        RecipeCase("momentum") { try Recipes.sgd(learningRate: 0.03, momentum: 0.9, weightDecay: 1e-3) },
        RecipeCase("nesterov") { try Recipes.sgd(learningRate: 0.03, momentum: 0.9, nesterov: true) },
        RecipeCase("adam") { try Recipes.adam(learningRate: 0.05) },
        RecipeCase("amsgrad") { try Recipes.adam(learningRate: 0.05, weightDecay: 1e-3, amsgrad: true) },
        RecipeCase("adamW") { try Recipes.adamW(learningRate: 0.05) },
        RecipeCase("l2sp-sgd") { try Recipes.l2sp(learningRate: 0.1, alpha: 0.05, beta: 0.01) },
        RecipeCase("l2sp-adam") { try Recipes.l2sp(learningRate: 0.05, alpha: 0.05, base: .adam()) },
        RecipeCase("digrap-learned") { try Recipes.digrap(learningRate: 0.05, omega: .learned(mu: 0.5)) },
        RecipeCase("digrap-fixed") { try Recipes.digrap(learningRate: 0.05, omega: .fixed(1)) },
        RecipeCase("digrap-update-placement") { try Recipes.digrap(learningRate: 0.05, omega: .learned(mu: 0.5), placement: .update) },
        // ω = 1 on Adam's step forbids every move away from θ0, and the targets lie away from
        // θ0, so this one only descends a little (by design).
        RecipeCase("digrap-fixed-update-placement", maxRatio: 0.9) { try Recipes.digrap(learningRate: 0.05, omega: .fixed(1), placement: .update) },
        RecipeCase("digrap-flat") { try Recipes.digrap(learningRate: 0.05, omega: .learned(mu: 0.5), hypergradient: .flat) },
        RecipeCase(pcgrad: "pcgrad") { try Recipes.pcgrad(learningRate: 0.05) },
        RecipeCase(pcgrad: "pcgrad-tensor-mean-adam") {
            try Recipes.pcgrad(learningRate: 0.05, granularity: .tensor, reduction: .mean, order: .shuffled(seed: 3), base: .adam())
        },
        RecipeCase("ftp") { try Recipes.ftp(learningRate: 0.05, mu: 0.1) },
        RecipeCase("ftp-sgd") { try Recipes.ftp(learningRate: 0.05, k: 0.5, mu: 0.1, base: .sgd(momentum: 0.9)) },
        RecipeCase("spd") { try Recipes.spd(learningRate: 0.05, lambda: 0.5) },
    ]

    /// Every recipe minimises a sum of two quadratics (two objectives: PCGrad gets both, the
    /// others their sum): the first step moves against the gradient and the loss falls.
    @Test("every recipe decreases a quadratic", arguments: recipes)
    func recipeDecreasesQuadratic(_ recipe: RecipeCase) throws {
        let params = makeProblemParameters()
        let q1 = Quadratic(params: params, seed: 5), q2 = Quadratic(params: params, seed: 6)
        func loss() -> Double { q1.loss(params) + q2.loss(params) }
        let (aggregator, transform) = try recipe.make()
        let optimizer = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, aggregator: aggregator, transform: transform)])
        let initial = loss()
        let start = snapshot(params)
        let g1 = q1.gradients(params)[0], g2 = q2.gradients(params)[0]
        try optimizer.step(objectives: [g1, g2])
        var firstStep = 0.0
        for p in params {
            let total = zip(g1[p.path]!.scalars, g2[p.path]!.scalars).map { $0 + $1 }
            firstStep += dot(minus(p.parameter.value.scalars, start[p.path]!), total)
        }
        #expect(firstStep < 0, "\(recipe.name): the first step should move against the gradient")
        for _ in 2...40 {
            try optimizer.step(objectives: [q1.gradients(params)[0], q2.gradients(params)[0]])
        }
        let final = loss()
        #expect(final.isFinite)
        #expect(final < recipe.maxRatio * initial, "\(recipe.name): loss \(initial) → \(final)")
    }

    // MARK: Named members

    @Test func namedMemberStateIsReadable() throws {
        let params = makeProblemParameters()
        let optimizer = try Optimizer(parameters: params, groups: [
            try ParameterGroup("body", selecting: .prefix("body."), transform: try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5))),
            try ParameterGroup("head", selecting: .all) {
                try Momentum(momentum: 0.9).named("mom")
                try ScaleByLearningRate(0.1)
            },
        ])
        let g = makeGradients(for: params, step: 1)
        try optimizer.step(objectives: [g])

        // Adam's moments after one step: m = (1 − β1) g, v = (1 − β2) g².
        let adam = try #require(optimizer.state(of: "adam", for: "body.weight", as: ScaleByAdam.TensorState.self))
        let gw = g["body.weight"]!.scalars
        let c1: Float = 1 - 0.9, c2: Float = 1 - 0.999
        #expect(adam.m.scalars == gw.map { c1 * $0 })
        #expect(adam.v.scalars == gw.map { c2 * $0 * $0 })
        #expect(adam.vMax == nil)

        // DiGraP: θ = θ0 at t = 1, so no conflict is possible and ω is still 0.
        let digrap = try #require(optimizer.state(of: "digrap", for: "body.bias", as: DirectionalProjection.TensorState.self))
        #expect(digrap.omega == 0 && digrap.projectedSteps == 0 && digrap.isActive)
        #expect(optimizer.telemetry(for: "body.bias")["omega"] == 0)

        let momentum = try #require(optimizer.state(of: "mom", for: "head.weight", as: Momentum.TensorState.self))
        #expect(momentum.buffer.scalars == g["head.weight"]!.scalars)

        // Wrong member, wrong group, wrong type, unknown path: nil.
        #expect(optimizer.state(of: "mom", for: "body.weight") == nil)
        #expect(optimizer.state(of: "adam", for: "head.weight") == nil)
        #expect(optimizer.state(of: "nope", for: "body.weight") == nil)
        #expect(optimizer.state(of: "adam", for: "body.weight", as: Momentum.TensorState.self) == nil)
        #expect(optimizer.state(of: "adam", for: "no.such.path") == nil)

        // More steps: ω is learned and the state follows.
        for t in 2...6 { try optimizer.step(objectives: [makeGradients(for: params, step: t)]) }
        let later = try #require(optimizer.state(of: "digrap", for: "body.weight", as: DirectionalProjection.TensorState.self))
        #expect(later.previousDirection != nil)
        #expect(Double(later.omega) == optimizer.telemetry(for: "body.weight")["omega"])
        #expect(Double(later.projectedSteps) == optimizer.telemetry(for: "body.weight")["projected_steps"])
    }

    @Test func memberNamesListTheNamedMembers() throws {
        #expect(try Recipes.digrap(learningRate: 0.1, omega: .fixed(1)).memberNames == ["digrap", "adam"])
        #expect(try Recipes.digrap(learningRate: 0.1, omega: .fixed(1), placement: .update).memberNames == ["adam", "digrap"])
        #expect(try Recipes.adamW(learningRate: 0.1).memberNames == ["adam", "weight_decay"])
        #expect(try Recipes.sgd(learningRate: 0.1).memberNames == [])
        #expect(try Recipes.spd(learningRate: 0.1, lambda: 1).memberNames == ["adam", "spd"])
        #expect(try Recipes.ftp(learningRate: 0.1).memberNames == ["adam", "ftp"])
        #expect(try Recipes.l2sp(learningRate: 0.1, alpha: 1).memberNames == ["l2sp"])
    }
}
