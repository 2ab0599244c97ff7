import Foundation
import GraftOptim
import GraftTensor
import GraftTesting
import Testing

/// The step rules of issue 14 (RMSprop, Adagrad, RAdam, NAdam, Lion) checked with the same
/// transform laws as the example's `GradientNoise` (they live in this target until they become
/// a library): the fused recipe equals its members run one by one, two threads equal one, and
/// the state survives a snapshot round trip bit for bit. Each case uses non-default settings
/// so every state tensor of the rule is exercised.
@Suite("Step rules obey the transform laws")
struct StepRuleLawTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        /// The recipe, fused.
        let recipe: @Sendable () throws -> AnyGradientTransform
        /// The same members, each erased (so `SequenceTransform` runs them one after another).
        let members: @Sendable () throws -> [AnyGradientTransform]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "rmsprop centered momentum", recipe: {
            AnyGradientTransform(try Recipes.rmsprop(learningRate: 0.01, alpha: 0.9, weightDecay: 0.01, momentum: 0.5, centered: true))
        }, members: {
            [.init(try AddDecayedWeights(0.01)), .init(try ScaleByRMS(alpha: 0.9, momentum: 0.5, centered: true)),
             .init(try ScaleByLearningRate(0.01))]
        }),
        Case(name: "rmsprop plain", recipe: { AnyGradientTransform(try Recipes.rmsprop(learningRate: 0.01)) },
             members: { [.init(try ScaleByRMS()), .init(try ScaleByLearningRate(0.01))] }),
        Case(name: "adagrad", recipe: {
            AnyGradientTransform(try Recipes.adagrad(learningRate: 0.1, learningRateDecay: 0.1, weightDecay: 0.05, initialAccumulator: 0.5))
        }, members: {
            [.init(try AddDecayedWeights(0.05)), .init(try ScaleByAdagrad(learningRateDecay: 0.1, initialAccumulator: 0.5)),
             .init(try ScaleByLearningRate(0.1))]
        }),
        Case(name: "radam decoupled", recipe: {
            AnyGradientTransform(try Recipes.radam(learningRate: 0.01, beta2: 0.99, weightDecay: 0.1, decoupledWeightDecay: true))
        }, members: {
            [.init(try ScaleByRAdam(beta2: 0.99)), .init(try AddDecayedWeights(0.1)), .init(try ScaleByLearningRate(0.01))]
        }),
        Case(name: "nadam", recipe: {
            AnyGradientTransform(try Recipes.nadam(learningRate: 0.01, weightDecay: 0.05, momentumDecay: 0.01))
        }, members: {
            [.init(try AddDecayedWeights(0.05)), .init(try ScaleByNAdam(momentumDecay: 0.01)), .init(try ScaleByLearningRate(0.01))]
        }),
        Case(name: "lion", recipe: {
            AnyGradientTransform(try Recipes.lion(learningRate: 0.003, beta1: 0.95, beta2: 0.98, weightDecay: 0.1))
        }, members: {
            [.init(try ScaleByLion(beta1: 0.95, beta2: 0.98)), .init(try AddDecayedWeights(0.1)), .init(try ScaleByLearningRate(0.003))]
        }),
        Case(name: "lamb", recipe: {
            AnyGradientTransform(try Recipes.lamb(learningRate: 0.01, beta1: 0.8, beta2: 0.99, weightDecay: 0.1))
        }, members: {
            [.init(try ScaleByAdam(beta1: 0.8, beta2: 0.99, epsilon: 1e-6)), .init(try AddDecayedWeights(0.1)),
             .init(try ScaleByTrustRatio()), .init(try ScaleByLearningRate(0.01))]
        }),
    ]

    @Test("fused recipe = its members one by one", arguments: cases)
    func fusedEqualsMembers(_ c: Case) throws {
        try TransformLaws.fusedEqualsUnfused(try c.recipe(), members: try c.members())
        // The law could not fail if nothing moved.
        #expect(try fixtureMoved(c), "\(c.name) did not move the parameters")
    }

    @Test("two threads = one", arguments: cases)
    func parallelEqualsSerial(_ c: Case) throws {
        try TransformLaws.parallelEqualsSerial(c.recipe)
    }

    @Test("snapshot round trip resumes bit-exactly", arguments: cases)
    func roundTrip(_ c: Case) throws {
        try TransformLaws.roundTripsState(c.recipe)
        try TransformLaws.isDeterministic(c.recipe)
    }

    func fixtureMoved(_ c: Case) throws -> Bool {
        let fixture = LawFixture()
        return try fixture.runOptimizer(try c.recipe(), steps: 1...2) != fixture.initialValues
    }

    /// Muon is a per-tensor (unfused) member: two threads equal one and its state (momentum
    /// buffers for matrices, Adam moments for the rest) round-trips.
    @Test func muonLaws() throws {
        let make = { AnyGradientTransform(try Recipes.muon(learningRate: 0.02, weightDecay: 0.1, adamLearningRateScale: 0.1)) }
        try TransformLaws.parallelEqualsSerial(make)
        try TransformLaws.roundTripsState(make)
        try TransformLaws.isDeterministic(make)
        let fixture = LawFixture()
        #expect(try fixture.runOptimizer(try make(), steps: 1...2) != fixture.initialValues)
        // Inspection: a momentum buffer for matrices ((1 − μ) g after one step), Adam moments for the rest.
        let (o, _) = try fixture.optimizer(try make())
        let g = fixture.gradients(step: 1)
        try o.step(objectives: [Dictionary(uniqueKeysWithValues: zip(fixture.infos.map(\.path), g))])
        let w = try #require(o.state(of: "muon", for: "body.0.weight", as: ScaleByMuon.TensorState.self))
        let mu: Float = 0.95
        #expect(w.momentumBuffer?.scalars == g[0].scalars.map { Float(0) + (1 - mu) * ($0 - 0) })
        #expect(w.m == nil)
        let b = try #require(o.state(of: "muon", for: "body.0.bias", as: ScaleByMuon.TensorState.self))
        #expect(b.momentumBuffer == nil && b.m?.shape == [6] && b.v?.shape == [6])
    }

    /// Adafactor is per tensor too: two threads equal one; its factored state round-trips and
    /// is O(R + C) per matrix.
    @Test func adafactorLaws() throws {
        let make = { AnyGradientTransform(try Recipes.adafactor(learningRate: 0.05, weightDecay: 0.01)) }
        try TransformLaws.parallelEqualsSerial(make)
        try TransformLaws.roundTripsState(make)
        try TransformLaws.isDeterministic(make)
        // Inspection: factored statistics for a matrix, V for a vector; at t = 1 (β̂ = 1) they are the means of g².
        let (o, _) = try LawFixture().optimizer(try Recipes.adafactor(learningRate: 0.05))
        let g = LawFixture().gradients(step: 1)
        try o.step(objectives: [Dictionary(uniqueKeysWithValues: zip(LawFixture().infos.map(\.path), g))])
        let w = try #require(o.state(of: "adafactor", for: "body.0.weight", as: ScaleByAdafactor.TensorState.self))
        let g0 = g[0].scalars
        let row0 = (0..<5).reduce(Float(0)) { $0 + g0[$1] * g0[$1] } / 5
        #expect(w.rowVariance?.shape == [6] && w.columnVariance?.shape == [5] && w.variance == nil)
        #expect(abs((w.rowVariance?.scalars[0] ?? 0) - row0) <= 1e-5 * max(1, row0))
        #expect(o.state(of: "adafactor", for: "body.0.bias", as: ScaleByAdafactor.TensorState.self)?.variance?.shape == [6])
        let layout = try ScaleByAdafactor(learningRate: 0.1).stateLayout(for: ParameterInfo(path: "w", shape: [2, 6, 5], anchor: .initial))
        #expect(layout.tensors.map(\.shape) == [[2, 6], [2, 5]])
        #expect(throws: OptimizerError.self) { _ = try ScaleByAdafactor(learningRate: 0.1, clipThreshold: 0.5) }
    }

    /// Lion's sign(0) = 0: with m = 0 and a zero gradient nothing moves (optax's `jnp.sign`).
    @Test func lionSignOfZeroIsZero() throws {
        let p = NamedParameter(path: "w", parameter: Parameter(try Tensor(shape: [3], scalars: [1, -2, 3])))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.lion(learningRate: 0.1))])
        try o.step(objectives: [["w": try Tensor(shape: [3], scalars: [0, 5, -5])]])
        #expect(p.parameter.value.scalars == [1, -2.1, 3.1])
    }

    /// LAMB's trust ratio is ‖θ‖ / ‖u‖ per tensor (reported as telemetry), and 1 for a zero
    /// tensor, where LAMB is Adam.
    @Test func trustRatioIsTheNormRatioAndOneAtZero() throws {
        let w = NamedParameter(path: "w", parameter: Parameter(try Tensor(shape: [2, 2], scalars: [3, 0, 0, 4])))
        let z = NamedParameter(path: "z", parameter: Parameter(Tensor(zeros: [3])))
        let o = try Optimizer(parameters: [w, z], groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.lamb(learningRate: 0.1))])
        try o.step(objectives: [["w": try Tensor(shape: [2, 2], scalars: [1, -1, 2, 0.5]), "z": try Tensor(shape: [3], scalars: [1, -2, 0])]])
        // At t = 1 Adam's update is g / (|g| + ε) ≈ sign(g): ‖u‖ ≈ 2 for w, ‖θ‖ = 5.
        let ratio = try #require(o.telemetry(for: "w")["trust_ratio"])
        #expect(abs(ratio - 2.5) < 1e-5)
        #expect(o.telemetry(for: "z")["trust_ratio"] == 1)
        let zv = z.parameter.value.scalars
        #expect(abs(zv[0] + 0.1) < 1e-6 && abs(zv[1] - 0.1) < 1e-6 && zv[2] == 0)
    }

    /// A restore into a rule of another configuration (centered vs plain RMSprop, another
    /// Adagrad S0) is refused: `kind` and `configuration` are checked.
    @Test func restoreIntoAnotherConfigurationIsRefused() throws {
        let fixture = LawFixture()
        let pairs: [(AnyGradientTransform, AnyGradientTransform)] = [
            (.init(try Recipes.rmsprop(learningRate: 0.01, centered: true)), .init(try Recipes.rmsprop(learningRate: 0.01))),
            (.init(try Recipes.adagrad(learningRate: 0.1, initialAccumulator: 0.5)), .init(try Recipes.adagrad(learningRate: 0.1))),
            (.init(try Recipes.radam(learningRate: 0.01)), .init(try Recipes.nadam(learningRate: 0.01))),
            (.init(try Recipes.lion(learningRate: 0.01)), .init(try Recipes.adam(learningRate: 0.01))),
        ]
        for (a, b) in pairs {
            let (source, _) = try fixture.optimizer(a)
            try source.step(objectives: [Dictionary(uniqueKeysWithValues: zip(fixture.infos.map(\.path), fixture.gradients(step: 1)))])
            let (target, _) = try fixture.optimizer(b)
            #expect(throws: (any Error).self) { try target.restore(try source.snapshot()) }
        }
    }
}
