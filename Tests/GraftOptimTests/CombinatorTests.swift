import Foundation
import Testing
import GraftOptim
import GraftTensor
import GraftTesting

/// Laws, edge cases and construction errors of the combinators (Masked, MultiSteps,
/// Lookahead, ParameterEMA, StepConditioned) and of scheduled hyperparameters.
@Suite("CombinatorTests")
struct CombinatorTests {
    static let nothing = ParameterSelector("nothing") { _ in false }

    /// Tensors with rows of 8 and more (the default law fixture's rows are narrower than one
    /// SIMD lane), every anchor kind, ranks 1 to 3.
    let wide: LawFixture

    init() throws {
        wide = try LawFixture(infos: [
            ParameterInfo(path: "body.0.weight", shape: [5, 19], anchor: .initial),
            ParameterInfo(path: "body.0.bias", shape: [21], anchor: .initial),
            ParameterInfo(path: "adapter.a", shape: [2, 3, 9], anchor: .zero),
            ParameterInfo(path: "head.weight", shape: [3, 10], anchor: .none),
            ParameterInfo(path: "head.bias", shape: [3], anchor: .none),
        ])
    }

    // MARK: - Laws (GraftTesting)

    @Test func emptyMaskIsTheIdentity() throws {
        try TransformLaws.isIdentity(try Masked(Self.nothing, ScaleByAdam()), fixture: wide)
        try TransformLaws.isIdentity(try Masked(Self.nothing, AddDecayedWeights(0.5).erased()), fixture: wide)
        try TransformLaws.isIdentity(try StepConditioned(switchingAfter: 3, first: Identity(), then: Identity()), fixture: wide)
    }

    @Test func chainsEqualTheirPieces() throws {
        let adam = try ScaleByAdam(), lr = try ScaleByLearningRate(1e-2)
        let masked = try Masked(.rank(atLeast: 2), AddDecayedWeights(0.1))
        try TransformLaws.chainEqualsPieces(chain { adam; masked; lr }, pieces: [.init(adam), .init(masked), .init(lr)], fixture: wide)
        let multi = try MultiSteps(every: 2, chain { try ScaleByAdam(); try ScaleByLearningRate(1e-2) })
        let clip = try ClipByGlobalNorm(maxNorm: 1)
        try TransformLaws.chainEqualsPieces(chain { clip; multi }, pieces: [.init(clip), .init(multi)], fixture: wide)
    }

    @Test func fusedEqualsUnfused() throws {
        let adam = try ScaleByAdam(), lr = try ScaleByLearningRate(1e-2)
        let masked = try Masked(.suffix(".bias"), AddDecayedWeights(0.1))
        try TransformLaws.fusedEqualsUnfused(chain { adam; masked; lr }, members: [.init(adam), .init(masked), .init(lr)], fixture: wide)
        // Each combinator fused (static inner) against the same combinator around an erased inner.
        let inner = try chain { try ScaleByAdam(); try ScaleByLearningRate(1e-2) }
        try TransformLaws.fusedEqualsUnfused(try MultiSteps(every: 2, inner), members: [.init(try MultiSteps(every: 2, inner.erased()))], fixture: wide)
        try TransformLaws.fusedEqualsUnfused(try Lookahead(syncPeriod: 2, slowStepSize: 0.5, inner),
                                             members: [.init(try Lookahead(syncPeriod: 2, slowStepSize: 0.5, inner.erased()))], fixture: wide)
        try TransformLaws.fusedEqualsUnfused(try ParameterEMA(decay: 0.9, inner), members: [.init(try ParameterEMA(decay: 0.9, inner.erased()))], fixture: wide)
        let sgd = try chain { try Momentum(momentum: 0.9); try ScaleByLearningRate(0.1) }
        try TransformLaws.fusedEqualsUnfused(try StepConditioned(switchingAfter: 3, first: sgd, then: inner),
                                             members: [.init(try StepConditioned(switchingAfter: 3, first: sgd.erased(), then: inner.erased()))], fixture: wide)
        // Reductions inside: DiGraP's projection masked, and as the first member of a switch.
        let projection = try DirectionalProjection(omega: .learned(mu: 0.5))
        try TransformLaws.fusedEqualsUnfused(chain { try Masked(.rank(atLeast: 2), projection); adam; lr },
                                             members: [.init(try Masked(.rank(atLeast: 2), projection.erased())), .init(adam), .init(lr)], fixture: wide)
        let digrap = try chain { projection; try ScaleByAdam(); try ScaleByLearningRate(1e-2) }
        try TransformLaws.fusedEqualsUnfused(try StepConditioned(switchingAfter: 3, first: inner, then: digrap),
                                             members: [.init(try StepConditioned(switchingAfter: 3, first: inner.erased(), then: digrap.erased()))], fixture: wide)
        try TransformLaws.fusedEqualsUnfused(try MultiSteps(every: 2, digrap), members: [.init(try MultiSteps(every: 2, digrap.erased()))], fixture: wide)
    }

    @Test func snapshotsRoundTrip() throws {
        try TransformLaws.roundTripsState({ try chain { try ScaleByAdam(); try Masked(.rank(atLeast: 2), ScaleByAdam()); try ScaleByLearningRate(1e-2) } }, fixture: wide)
        try TransformLaws.roundTripsState({ try MultiSteps(every: 2, chain { try ScaleByAdam(); try ScaleByLearningRate(1e-2) }) }, fixture: wide)
        try TransformLaws.roundTripsState({ try Lookahead(syncPeriod: 4, slowStepSize: 0.5, chain { try ScaleByAdam(); try ScaleByLearningRate(1e-2) }) }, fixture: wide)
        try TransformLaws.roundTripsState({ try ParameterEMA(decay: 0.9, debias: false, chain { try ScaleByAdam(); try ScaleByLearningRate(1e-2) }) }, fixture: wide)
        try TransformLaws.roundTripsState({
            try StepConditioned(switchingAfter: 2, first: Recipes.sgd(learningRate: 0.1, momentum: 0.9), then: Recipes.adam(learningRate: 1e-2))
        }, fixture: wide)
    }

    @Test func parallelEqualsSerialAndDeterministic() throws {
        try TransformLaws.parallelEqualsSerial({ try chain { try ScaleByAdam(); try Masked(.rank(atMost: 1), AddDecayedWeights(0.1)); try ScaleByLearningRate(1e-2) } }, fixture: wide)
        try TransformLaws.parallelEqualsSerial({ try MultiSteps(every: 3, Recipes.adam(learningRate: 1e-2)) }, fixture: wide)
        try TransformLaws.parallelEqualsSerial({ try Lookahead(syncPeriod: 2, slowStepSize: 0.5, Recipes.adam(learningRate: 1e-2)) }, fixture: wide)
        try TransformLaws.parallelEqualsSerial({ try ParameterEMA(decay: 0.99, Recipes.adam(learningRate: 1e-2)) }, fixture: wide)
        try TransformLaws.parallelEqualsSerial({ try StepConditioned(switchingAfter: 2, first: Recipes.sgd(learningRate: 0.1), then: Recipes.adam(learningRate: 1e-2)) }, fixture: wide)
        try TransformLaws.isDeterministic({ try Lookahead(syncPeriod: 2, slowStepSize: 0.5, Recipes.adam(learningRate: 1e-2)) }, fixture: wide)
    }

    // MARK: - Masked

    @Test func maskedKeepsStateOnlyForSelectedTensorsAndStaysFused() throws {
        let params = makeProblemParameters()   // body.weight [3, 4], body.bias [4], head.weight [2, 3]
        let masked = try chain { try Masked(.rank(atLeast: 2), ScaleByAdam()); try ScaleByLearningRate(1e-2) }
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: masked)])
        #expect(o.isFused(group: "all") == true)
        // Adam's m and v for the two matrices only, plus the mask's one scalar (8 B) per selected tensor.
        #expect(o.stateDescription().totalBytes == 8 * (12 + 6) + 2 * 8, "Adam state for the two matrices only")
        let erased = try Optimizer(parameters: makeProblemParameters(), groups: [
            ParameterGroup("all", selecting: .all, transform: try Masked(.rank(atLeast: 2), Recipes.adam(learningRate: 1e-2).erased())),
        ])
        #expect(erased.isFused(group: "all") == false)
        #expect(erased.stateDescription().totalBytes == 8 * (12 + 6) + 2 * 8)
    }

    @Test func maskedLeavesUnselectedUpdatesAlone() throws {
        // Masked decay: the bias gets plain Adam, the matrices Adam + decay, as two separate groups would.
        let a = try runOneGroup(try chain { try ScaleByAdam(); try Masked(.rank(atLeast: 2), AddDecayedWeights(0.5)); try ScaleByLearningRate(0.1) },
                                params: makeProblemParameters(), steps: 4)
        let params = makeProblemParameters()
        let o = try Optimizer(parameters: params, groups: [
            ParameterGroup("matrices", selecting: .rank(atLeast: 2), transform: try chain { try ScaleByAdam(); try AddDecayedWeights(0.5); try ScaleByLearningRate(0.1) }),
            ParameterGroup("vectors", selecting: .rank(atMost: 1), transform: try chain { try ScaleByAdam(); try ScaleByLearningRate(0.1) }),
        ])
        for t in 1...4 { try o.step(objectives: [makeGradients(for: params, step: t)]) }
        for p in params { #expect(a[p.path] == p.parameter.value.scalars, "\(p.path)") }
    }

    @Test func maskingAWholeGroupMemberIsRefused() {
        #expect(throws: OptimizerError.self) { try Masked(.all, ClipByGlobalNorm(maxNorm: 1)) }
        #expect(throws: OptimizerError.self) { try Masked(.all, ClipByGlobalNorm(maxNorm: 1).erased()) }
        #expect(throws: OptimizerError.self) { try Masked(.rank(atLeast: 2), Recipes.muon(learningRate: 0.02)) }   // per tensor, unfused
        #expect(throws: OptimizerError.self) { try Masked(.all, SequenceTransform([try ScaleByAdam().erased(), try Scale(2).erased()])) }
    }

    @Test func rankSelectors() {
        let matrix = ParameterInfo(path: "w", shape: [2, 3], anchor: .initial), vector = ParameterInfo(path: "b", shape: [3], anchor: .initial)
        #expect(ParameterSelector.rank(atLeast: 2).matches(matrix) && !ParameterSelector.rank(atLeast: 2).matches(vector))
        #expect(ParameterSelector.rank(atMost: 1).matches(vector) && !ParameterSelector.rank(atMost: 1).matches(matrix))
    }

    // MARK: - MultiSteps

    /// θ0 = 0, gradients 1, 3, 5, 7, k = 2, lr 1·0.5^(s−1) at optimizer step s: θ = 0, −2, −2, −5.
    @Test(arguments: [false, true])
    func multiStepsAppliesTheMeanAndSchedulesCountOptimizerSteps(erased: Bool) throws {
        let lr = try Schedule(.step(initial: 1, factor: 0.5, every: 1))
        let inner = try chain { try ScaleByLearningRate(lr) }
        let transform = erased ? AnyGradientTransform(try MultiSteps(every: 2, inner.erased())) : AnyGradientTransform(try MultiSteps(every: 2, inner))
        let p = named("w", tensor([1], [0]))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("all", selecting: .all, transform: transform)])
        #expect(o.isFused(group: "all") == !erased)
        var seen: [Float] = []
        for g: Float in [1, 3, 5, 7] {
            try o.step(objectives: [["w": tensor([1], [g])]])
            seen.append(p.parameter.value.scalars[0])
        }
        #expect(seen == [0, -2, -2, -5])
        #expect(o.stateDescription().totalBytes == 4, "the running mean: 4 B per parameter")
    }

    @Test func multiStepsOfOneIsTheInner() throws {
        let a = try runOneGroup(try MultiSteps(every: 1, Recipes.adam(learningRate: 1e-2)), params: makeProblemParameters(), steps: 4)
        let b = try runOneGroup(try Recipes.adam(learningRate: 1e-2), params: makeProblemParameters(), steps: 4)
        #expect(a == b)
    }

    // MARK: - Lookahead

    @Test func lookaheadWithUnitSlowStepIsTheFastTransform() throws {
        let a = try runOneGroup(try Lookahead(syncPeriod: 3, slowStepSize: 1, Recipes.adam(learningRate: 1e-2)), params: makeProblemParameters(), steps: 7)
        let b = try runOneGroup(try Recipes.adam(learningRate: 1e-2), params: makeProblemParameters(), steps: 7)
        #expect(a == b)
    }

    @Test func lookaheadSynchronisesFastAndSlow() throws {
        let params = makeProblemParameters()
        let initial = snapshot(params)
        let o = try Optimizer(parameters: params, groups: [
            ParameterGroup("all", selecting: .all, transform: try Lookahead(syncPeriod: 2, slowStepSize: 0.5, Recipes.sgd(learningRate: 0.1)).named("la")),
        ])
        try o.step(objectives: [makeGradients(for: params, step: 1)])
        // The slow weights start as θ at the first step.
        let slow = try #require(o.state(of: "la.0", for: "body.weight", as: LookaheadSlowWeights.self))
        #expect(slow.slow?.scalars == initial["body.weight"])
        try o.step(objectives: [makeGradients(for: params, step: 2)])
        let synced = try #require(o.state(of: "la.0", for: "body.weight", as: LookaheadSlowWeights.self)?.slow)
        // After a synchronisation θ = s up to the rounding of θ + u (optax rounds alike).
        #expect(maxDifference(synced.scalars, params[0].parameter.value.scalars) <= 2.5e-7, "after a synchronisation θ = s")
        // After the synchronisation: θ = θ0 + 0.5 (fast − θ0), where fast = θ0 − 0.1 (g1 + g2).
        for p in params {
            let g1 = makeGradients(for: params, step: 1)[p.path]!.scalars, g2 = makeGradients(for: params, step: 2)[p.path]!.scalars
            let expected = zip(initial[p.path]!, zip(g1, g2)).map { x0, g in x0 + 0.5 * ((x0 - 0.1 * g.0 - 0.1 * g.1) - x0) }
            #expect(maxDifference(p.parameter.value.scalars, expected) < 1e-6, "\(p.path)")
        }
    }

    // MARK: - ParameterEMA

    @Test func averagedParametersSwapInAndOut() throws {
        let params = makeProblemParameters()
        let o = try Optimizer(parameters: params, groups: [
            ParameterGroup("all", selecting: .all, transform: try ParameterEMA(decay: 0.5, debias: false, Recipes.sgd(learningRate: 0.1))),
        ])
        let before = try o.averagedParameters()
        #expect(before.mapValues(\.scalars) == snapshot(params), "before a step the average is the parameters")
        let theta0 = snapshot(params)
        try o.step(objectives: [makeGradients(for: params, step: 1)])
        let trained = snapshot(params)
        let averages = try o.averagedParameters()
        for p in params {
            let expected = zip(theta0[p.path]!, trained[p.path]!).map { 0.5 * $0 + 0.5 * $1 }
            #expect(averages[p.path]?.scalars == expected, "\(p.path)")
        }
        try o.loadAveragedParameters()
        #expect(o.averagedParametersAreLoaded)
        #expect(snapshot(params) == averages.mapValues(\.scalars))
        #expect(throws: OptimizerError.averagedParametersLoaded) { try o.step(objectives: [makeGradients(for: params, step: 2)]) }
        #expect(throws: OptimizerError.averagedParametersLoaded) { try o.loadAveragedParameters() }
        try o.restoreParameters()
        #expect(snapshot(params) == trained)
        #expect(throws: OptimizerError.nothingToRestore) { try o.restoreParameters() }
        try o.step(objectives: [makeGradients(for: params, step: 2)])
    }

    @Test func averagesNeedAnEMA() throws {
        let o = try Optimizer(parameters: makeProblemParameters(), groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: 1e-3))])
        #expect(throws: OptimizerError.noParameterAverage) { try o.averagedParameters() }
        #expect(throws: OptimizerError.noParameterAverage) { try o.loadAveragedParameters() }
    }

    @Test func emaSurvivesASnapshot() throws {
        func make() throws -> (Optimizer, [NamedParameter]) {
            let params = makeProblemParameters()
            return (try Optimizer(parameters: params, groups: [
                ParameterGroup("all", selecting: .all, transform: try ParameterEMA(decay: 0.9, Recipes.adam(learningRate: 1e-2))),
            ]), params)
        }
        let (a, pa) = try make()
        for t in 1...3 { try a.step(objectives: [makeGradients(for: pa, step: t)]) }
        let (b, pb) = try make()
        for (x, y) in zip(pb, pa) { x.parameter.value = y.parameter.value }
        try b.restore(try OptimizerSnapshot(decoding: try a.snapshot().encoded()))
        #expect(try b.averagedParameters().mapValues(\.scalars) == a.averagedParameters().mapValues(\.scalars))
    }

    // MARK: - StepConditioned

    @Test func stepConditionedStartsTheSecondMemberAfresh() throws {
        // Two recipes with the same member names are fine: they are prefixed first. / then.
        let twoAdams = try Optimizer(parameters: makeProblemParameters(), groups: [ParameterGroup("all", selecting: .all, transform:
            try StepConditioned(switchingAfter: 1, first: Recipes.adam(learningRate: 1e-3), then: Recipes.adam(learningRate: 1e-4)))])
        #expect(try twoAdams.requireState(of: "then.adam", for: "body.weight") is ScaleByAdam.TensorState)
        // Held still for 2 steps, then Adam: equals Adam run on steps 3 and 4 from the start.
        let a = makeProblemParameters()
        let o = try Optimizer(parameters: a, groups: [ParameterGroup("all", selecting: .all, transform:
            try StepConditioned(switchingAfter: 2, first: Scale(0), then: Recipes.adam(learningRate: 1e-2)))])
        for t in 1...4 { try o.step(objectives: [makeGradients(for: a, step: t)]) }
        let b = makeProblemParameters()
        let plain = try Optimizer(parameters: b, groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: 1e-2))])
        for t in 3...4 { try plain.step(objectives: [makeGradients(for: b, step: t)]) }
        #expect(snapshot(a) == snapshot(b))
    }

    /// The README's LP-FT: the body holds still for k steps while the head trains, then both move.
    @Test func lpftHoldsTheBodyStillForKSteps() throws {
        let head = ParameterSelector.prefix("head.")
        let lpft = try StepConditioned(switchingAfter: 2, first: chain {
            try Masked(head, Recipes.adam(learningRate: 1e-3))
            try Masked(!head, Scale(0))
        }, then: Recipes.adam(learningRate: 1e-5))
        let params = makeProblemParameters()
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: lpft)])
        #expect(o.isFused(group: "all") == true)
        let initial = snapshot(params)
        for t in 1...2 { try o.step(objectives: [makeGradients(for: params, step: t)]) }
        #expect(snapshot(params)["body.weight"] == initial["body.weight"] && snapshot(params)["body.bias"] == initial["body.bias"])
        #expect(snapshot(params)["head.weight"] != initial["head.weight"])
        try o.step(objectives: [makeGradients(for: params, step: 3)])
        #expect(snapshot(params)["body.weight"] != initial["body.weight"])
    }

    // MARK: - Construction errors

    @Test func invalidHyperparametersAreRefused() throws {
        let adam = try Recipes.adam(learningRate: 1e-3)
        #expect(throws: OptimizerError.invalidHyperparameter(key: "every_k", value: "0", allowed: "an integer ≥ 1")) { try MultiSteps(every: 0, adam) }
        #expect(throws: OptimizerError.invalidHyperparameter(key: "every_k", value: "0", allowed: "an integer ≥ 1")) { try MultiSteps(every: 0, adam.erased()) }
        #expect(throws: OptimizerError.invalidHyperparameter(key: "sync_period", value: "0", allowed: "an integer ≥ 1")) {
            try Lookahead(syncPeriod: 0, slowStepSize: 0.5, adam)
        }
        for alpha: Float in [0, -0.5, 1.5, .nan] {
            #expect(throws: OptimizerError.self) { try Lookahead(syncPeriod: 5, slowStepSize: alpha, adam) }
        }
        for decay: Float in [1, -0.1, 2, .infinity] {
            #expect(throws: OptimizerError.self) { try ParameterEMA(decay: decay, adam) }
            #expect(throws: OptimizerError.self) { try ParameterEMA(decay: decay, adam.erased()) }
        }
        #expect(throws: OptimizerError.invalidHyperparameter(key: "switch_after", value: "0", allowed: "an integer ≥ 1")) {
            try StepConditioned(switchingAfter: 0, first: adam, then: adam)
        }
        #expect(throws: OptimizerError.self) { try StepConditioned(switchingAfter: -3, first: adam.erased(), then: adam.erased()) }
    }

    // MARK: - Schedules for any hyperparameter

    @Test func constantSchedulesEqualTheFloatInitialisers() throws {
        let a = try runOneGroup(try chain { try ScaleByAdam(beta1: Schedule.constant(0.8), beta2: Schedule.constant(0.99)); try ScaleByLearningRate(1e-2) },
                                params: makeProblemParameters(), steps: 4)
        let b = try runOneGroup(try chain { try ScaleByAdam(beta1: 0.8, beta2: 0.99); try ScaleByLearningRate(1e-2) }, params: makeProblemParameters(), steps: 4)
        #expect(a == b)
        let c = try runOneGroup(try chain { try Momentum(momentum: Schedule.constant(0.9)); try ScaleByLearningRate(0.1) }, params: makeProblemParameters(), steps: 4)
        let d = try runOneGroup(try chain { try Momentum(momentum: 0.9); try ScaleByLearningRate(0.1) }, params: makeProblemParameters(), steps: 4)
        #expect(c == d)
        let e = try runOneGroup(try chain { try ScaleByLion(beta1: Schedule.constant(0.8), beta2: Schedule.constant(0.95)); try ScaleByLearningRate(1e-3) },
                                params: makeProblemParameters(), steps: 4)
        let f = try runOneGroup(try chain { try ScaleByLion(beta1: 0.8, beta2: 0.95); try ScaleByLearningRate(1e-3) }, params: makeProblemParameters(), steps: 4)
        #expect(e == f)
        let g = try runOneGroup(try chain { try AnchorDecay(alpha: Schedule.constant(0.1), beta: Schedule.constant(0.01)); try ScaleByLearningRate(0.1) },
                                params: makeProblemParameters(), steps: 4)
        let h = try runOneGroup(try chain { try AnchorDecay(alpha: 0.1, beta: 0.01); try ScaleByLearningRate(0.1) }, params: makeProblemParameters(), steps: 4)
        #expect(g == h)
        let l2spA = try runOneGroup(try Recipes.l2sp(learningRate: 0.1, alpha: Schedule.constant(0.1), beta: Schedule.constant(0.01), base: .adam()),
                                    params: makeProblemParameters(), steps: 4)
        let l2spB = try runOneGroup(try Recipes.l2sp(learningRate: 0.1, alpha: 0.1, beta: 0.01, base: .adam()), params: makeProblemParameters(), steps: 4)
        #expect(l2spA == l2spB)
        let i = try runOneGroup(try chain { try ScaleByRAdam(beta1: Schedule.constant(0.8), beta2: Schedule.constant(0.99)); try ScaleByLearningRate(1e-2) },
                                params: makeProblemParameters(), steps: 8)
        let j = try runOneGroup(try chain { try ScaleByRAdam(beta1: 0.8, beta2: 0.99); try ScaleByLearningRate(1e-2) }, params: makeProblemParameters(), steps: 8)
        #expect(i == j)
    }

    /// A scheduled μ is read at every step: μ(1) = 0.9, then 0 (plain SGD from step 2).
    @Test func scheduledMomentumIsEvaluatedPerStep() throws {
        let mu = try Schedule.custom(name: "drop") { t in t == 1 ? 0.9 : 0 }
        let p = named("w", tensor([1], [0]))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("all", selecting: .all, transform:
            try chain { try Momentum(momentum: mu); try ScaleByLearningRate(1) })])
        try o.step(objectives: [["w": tensor([1], [1])]])   // b = g = 1
        try o.step(objectives: [["w": tensor([1], [2])]])   // b = 0 · 1 + 2 = 2 (a constant 0.9 would give 2.9)
        #expect(p.parameter.value.scalars == [-3])
    }

    @Test func scheduledBeta1IsEvaluatedPerStep() throws {
        // β1(t): 0 at t = 1, 0.5 afterwards (β2 = 0: u = m̂ / |g|).
        let beta1 = try Schedule.custom(name: "jump") { t in t == 1 ? 0 : 0.5 }
        let p = named("w", tensor([1], [0]))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("all", selecting: .all, transform:
            try chain { try ScaleByAdam(beta1: beta1, beta2: 0); try ScaleByLearningRate(1) })])
        try o.step(objectives: [["w": tensor([1], [2])]])
        try o.step(objectives: [["w": tensor([1], [-4])]])
        // t = 1: m = 2, u = 2 / 2 = 1. t = 2: m = 0.5·2 + 0.5·(−4) = −1, bc1 = 1 − 0.5² → m̂ = −4/3, u = −1/3.
        // (A constant β1 = 0 would give θ = 0.)
        #expect(abs(p.parameter.value.scalars[0] - (-2.0 / 3)) < 1e-5)
    }

    @Test func scheduledClipThresholdAndAnchorDecay() throws {
        // Threshold 1 at t = 1, 10 afterwards: the first step is clipped, the second is not.
        let threshold = try Schedule.custom(name: "loosen") { t in t == 1 ? 1 : 10 }
        let p = named("w", tensor([2], [0, 0]))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("all", selecting: .all, transform:
            try chain { try ClipByGlobalNorm(maxNorm: threshold); try ScaleByLearningRate(1) })])
        try o.step(objectives: [["w": tensor([2], [3, 4])]])
        #expect(maxDifference(p.parameter.value.scalars, [-0.6, -0.8]) < 1e-5)
        try o.step(objectives: [["w": tensor([2], [3, 4])]])
        #expect(maxDifference(p.parameter.value.scalars, [-3.6, -4.8]) < 1e-5)
        #expect(throws: OptimizerError.self) { try ClipByGlobalNorm(maxNorm: Schedule.custom(name: "bad") { t in t > 50 ? 0 : 1 }) }
        #expect(throws: OptimizerError.self) { try AnchorDecay(alpha: Schedule(.linearWarmup(peak: -1, warmupSteps: 3))) }
        #expect(throws: OptimizerError.self) { try ScaleByAdam(beta1: Schedule(.linearWarmup(peak: 1.2, warmupSteps: 3))) }
        #expect(throws: OptimizerError.self) { try Momentum(momentum: Schedule.custom(name: "neg") { _ in -1 }) }
        #expect(throws: OptimizerError.self) { try Schedule.custom(name: "") { _ in 1 } }
        #expect(throws: OptimizerError.self) { try Schedule.custom(name: "nan") { t in t == 10 ? .nan : 1 } }
    }

    @Test func aCustomScheduleOfAnotherNameIsRefusedOnRestore() throws {
        func make(_ beta1: Schedule) throws -> Optimizer {
            try Optimizer(parameters: makeProblemParameters(), groups: [ParameterGroup("all", selecting: .all, transform:
                try chain { try ScaleByAdam(beta1: beta1).named("adam"); try ScaleByLearningRate(1e-3) })])
        }
        let ramp = try Schedule.custom(name: "ramp") { t in min(0.9, 0.5 + 0.1 * Float(t)) }
        let a = try make(ramp)
        try a.step(objectives: [makeGradients(for: makeProblemParameters(), step: 1)])
        let snapshot = try OptimizerSnapshot(decoding: try a.snapshot().encoded())
        try make(try Schedule.custom(name: "ramp") { t in min(0.9, 0.5 + 0.1 * Float(t)) }).restore(snapshot)
        for other in [try Schedule.custom(name: "other") { _ in 0.9 }, Schedule.constant(0.9), try Schedule(.linearWarmup(peak: 0.9, warmupSteps: 3))] {
            let b = try make(other)
            do {
                try b.restore(snapshot)
                Issue.record("restored a snapshot made with schedule ramp into \(other)")
            } catch let RestoreError.chainMismatch(group, member, _, found) {
                #expect(group == "all" && member == "adam")
                #expect(found.contains("beta1_schedule = custom:ramp"), "\(found)")
            }
        }
    }

    // MARK: - Snapshots across configurations

    @Test func aSnapshotIsRefusedByAnotherCombinatorConfiguration() throws {
        func run(_ t: AnyGradientTransform) throws -> Optimizer {
            let params = makeProblemParameters()
            let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: t)])
            try o.step(objectives: [makeGradients(for: params, step: 1)])
            return o
        }
        let adam = try Recipes.adam(learningRate: 1e-3)
        let pairs: [(AnyGradientTransform, AnyGradientTransform)] = [
            (try MultiSteps(every: 2, adam).erased(), try MultiSteps(every: 3, adam).erased()),
            (try Lookahead(syncPeriod: 2, slowStepSize: 0.5, adam).erased(), try Lookahead(syncPeriod: 2, slowStepSize: 0.8, adam).erased()),
            (try ParameterEMA(decay: 0.9, adam).erased(), try ParameterEMA(decay: 0.9, debias: false, adam).erased()),
            (try StepConditioned(switchingAfter: 2, first: adam, then: adam).erased(), try StepConditioned(switchingAfter: 5, first: adam, then: adam).erased()),
            (try Masked(.rank(atLeast: 2), AddDecayedWeights(0.1)).erased(), try Masked(.suffix(".weight"), AddDecayedWeights(0.1)).erased()),
        ]
        for (a, b) in pairs {
            let snapshot = try run(a).snapshot()
            try run(a).restore(snapshot)
            #expect(throws: RestoreError.self) { try run(b).restore(snapshot) }
        }
    }

    // MARK: - Several objectives and missing gradients

    @Test func combinatorsTakeTheAggregatedGradient() throws {
        // Two objectives are summed before the chain: MultiSteps accumulates their sum.
        let p = named("w", tensor([1], [0]))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("all", selecting: .all, transform:
            try MultiSteps(every: 2, chain { try ScaleByLearningRate(1) }))])
        try o.step(objectives: [["w": tensor([1], [1])], ["w": tensor([1], [2])]])
        try o.step(objectives: [["w": tensor([1], [3])], ["w": tensor([1], [4])]])
        #expect(p.parameter.value.scalars == [-5])   // mean of 3 and 7
    }

    @Test func aSkippedTensorKeepsItsCombinatorState() throws {
        // Under `.skip`, a tensor without a gradient keeps its value and every state tensor,
        // the slow weights and the shadow included.
        let params = makeProblemParameters()
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform:
            try ParameterEMA(decay: 0.5, debias: false, Lookahead(syncPeriod: 2, slowStepSize: 0.5, Recipes.adam(learningRate: 0.1))).named("ema"))],
            missingGradients: .skip)
        try o.step(objectives: [makeGradients(for: params, step: 1)])
        let before = try o.averagedParameters()["body.bias"]
        let value = params[1].parameter.value
        var grads = makeGradients(for: params, step: 2)
        grads["body.bias"] = nil
        try o.step(objectives: [grads])
        #expect(params[1].parameter.value == value)
        #expect(try o.averagedParameters()["body.bias"] == before)
        #expect(try o.averagedParameters()["body.weight"] != nil)
    }

    // MARK: - Trace recipes

    @Test func traceCombinatorsAreParsedStrictly() throws {
        let bad: [(String, String)] = [
            (#"{"method": "multi_steps", "every_k": 2, "inner": {"method": "adam", "lr": 0.1}, "extra": 1}"#, "recipe.extra"),
            (#"{"method": "multi_steps", "lr": 0.1, "every_k": 2, "inner": {"method": "adam", "lr": 0.1}}"#, "recipe.lr"),
            (#"{"method": "multi_steps", "every_k": 0, "inner": {"method": "adam", "lr": 0.1}}"#, "recipe.every_k"),
            (#"{"method": "multi_steps", "every_k": 2.5, "inner": {"method": "adam", "lr": 0.1}}"#, "recipe.every_k"),
            (#"{"method": "multi_steps", "every_k": 2}"#, "recipe.inner"),
            (#"{"method": "lookahead", "sync_period": 2, "slow_step_size": 1.5, "inner": {"method": "sgd", "lr": 0.1}}"#, "recipe"),
            (#"{"method": "lookahead", "sync_period": 2, "slow_step_size": 0.5, "inner": {"method": "sgd", "lr": 0.1, "x": 1}}"#, "recipe.inner.x"),
            (#"{"method": "parameter_ema", "decay": 1, "inner": {"method": "sgd", "lr": 0.1}}"#, "recipe"),
            (#"{"method": "step_conditioned", "switch_after": 2, "first": {"method": "sgd", "lr": 0.1}}"#, "recipe.then"),
            (#"{"method": "step_conditioned", "switch_after": 2, "first": {"method": "pcgrad", "lr": 0.1, "base": {"method": "sgd"}}, "then": {"method": "sgd", "lr": 0.1}}"#, "recipe.first"),
            (#"{"method": "chain", "lr": 0.1, "transforms": [{"transform": "masked", "transforms": [{"transform": "clip_by_global_norm", "max_norm": 1}]}]}"#, "recipe.transforms[0].transforms[0]"),
            (#"{"method": "chain", "lr": 0.1, "transforms": [{"transform": "masked", "rank_at_least": 2, "rank_at_most": 1, "transforms": [{"transform": "identity"}]}]}"#, "recipe.transforms[0].rank_at_most"),
            (#"{"method": "chain", "lr": 0.1, "transforms": [{"transform": "masked", "select": [], "transforms": [{"transform": "identity"}]}]}"#, "recipe.transforms[0].select"),
            (#"{"method": "chain", "lr": 0.1, "transforms": [{"transform": "masked", "transforms": []}]}"#, "recipe.transforms[0].transforms"),
            (#"{"method": "sgd", "lr": 0.1, "momentum": 0.9, "base": 1}"#, "recipe.base"),
        ]
        for (json, location) in bad {
            do {
                _ = try TraceRecipe(json: json)
                Issue.record("accepted \(json)")
            } catch let e as TraceError {
                #expect(e.location == location, "\(json): \(e)")
            }
        }
        let ok = try TraceRecipe(json: #"{"method": "parameter_ema", "decay": 0.9, "debias": false, "inner": {"method": "lookahead", "sync_period": 2, "slow_step_size": 0.5, "inner": {"method": "multi_steps", "every_k": 2, "inner": {"method": "adamw", "lr": 0.001}}}}"#)
        #expect(ok.transform.members.map(\.kind).prefix(3) == ["parameter_ema", "lookahead", "multi_steps"])
    }
}
