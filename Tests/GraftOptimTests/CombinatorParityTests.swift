import Foundation
import Testing
import GraftOptim
import GraftTensor

/// Parity of the combinators with optax (`Tools/fixtures/record_combinators.py`, fixtures in
/// `Tests/Fixtures/combinators`): every trace replays within |a − b| ≤ 1e-5 + 1e-4·|b| through
/// `graft replay`'s parser (erased members: the unfused path), and again through the same
/// combinators built statically in Swift (fused kernels); the ParameterEMA cases also compare
/// `averagedParameters()` with optax's `ema`.
@Suite("Combinator parity")
struct CombinatorParityTests {
    static let traces = traceNames(in: "combinators")

    /// The same recipes as the fixtures, written as static Swift chains (fused where the members are).
    static let staticRecipes: [String: @Sendable () throws -> AnyGradientTransform] = [
        "masked_adamw": {
            try chain {
                try ScaleByAdam()
                try Masked(.rank(atLeast: 2), AddDecayedWeights(0.1))
                try ScaleByLearningRate(0.01)
            }.erased()
        },
        "masked_adam_biases": {
            try chain {
                try Masked(.suffix(".bias"), ScaleByAdam())
                try ScaleByLearningRate(0.05)
            }.erased()
        },
        "multi_steps3_adam": { try MultiSteps(every: 3, Recipes.adam(learningRate: 0.01)).erased() },
        "multi_steps2_momentum": { try MultiSteps(every: 2, Recipes.sgd(learningRate: 0.1, momentum: 0.9)).erased() },
        "lookahead3_adam": { try Lookahead(syncPeriod: 3, slowStepSize: 0.5, Recipes.adam(learningRate: 0.01)).erased() },
        "lookahead2_sgd": { try Lookahead(syncPeriod: 2, slowStepSize: 0.8, Recipes.sgd(learningRate: 0.1)).erased() },
        "parameter_ema_sgd": { try ParameterEMA(decay: 0.9, Recipes.sgd(learningRate: 0.1)).erased() },
        "parameter_ema_plain_adam": { try ParameterEMA(decay: 0.8, debias: false, Recipes.adam(learningRate: 0.02)).erased() },
        "step_conditioned_sgd_adam": {
            try StepConditioned(switchingAfter: 3, first: Recipes.sgd(learningRate: 0.1), then: Recipes.adam(learningRate: 0.01)).erased()
        },
        "step_conditioned_lpft": {
            let head = ParameterSelector.glob("head.*"), body = ParameterSelector.glob("body.*")
            return try StepConditioned(switchingAfter: 2, first: chain {
                try Masked(head, chain { try ScaleByAdam(); try ScaleByLearningRate(0.05) })
                try Masked(body, Scale(0))
            }, then: Recipes.adam(learningRate: 0.01)).erased()
        },
    ]

    @Test func everyFixtureHasAStaticCounterpart() {
        #expect(Self.traces.count == 10, "combinator traces: \(Self.traces)")
        #expect(Set(Self.traces) == Set(Self.staticRecipes.keys))
    }

    @Test("graft replay matches optax", arguments: traces)
    func replay(_ name: String) throws {
        let trace = try GradientTrace(data: try fixtureData("combinators", name + ".json"))
        let replay = try TraceReplay(trace)
        let expected = try ExpectedResult(data: try fixtureData("combinators", name + ".expected.json"))
        var violations: [String] = []
        for (path, value) in replay.parameters {
            guard let reference = expected.parameters[path] else { violations.append("\(path): not expected"); continue }
            violations += parityViolations(value.scalars, reference, label: path)
        }
        #expect(violations.isEmpty, "\(name): \(violations.prefix(6).joined(separator: "; "))")
    }

    @Test("fused Swift combinators match optax", arguments: traces)
    func fused(_ name: String) throws {
        let trace = try GradientTrace(data: try fixtureData("combinators", name + ".json"))
        let make = try #require(Self.staticRecipes[name])
        let (optimizer, params) = try Self.optimizer(for: trace, transform: try make())
        #expect(optimizer.isFused(group: "all") == true, "\(name) should run as one kernel")
        for step in trace.steps { try optimizer.step(objectives: step.objectives) }
        let expected = try ExpectedResult(data: try fixtureData("combinators", name + ".expected.json"))
        var violations: [String] = []
        for p in params { violations += parityViolations(p.parameter.value.scalars, expected.parameters[p.path] ?? [], label: p.path) }
        #expect(violations.isEmpty, "\(name): \(violations.prefix(6).joined(separator: "; "))")

        // The averaged parameters of the ParameterEMA cases, fused and through the trace recipe.
        guard let data = try? fixtureData("combinators", name + ".averaged.json") else { return }
        let averaged = try ExpectedResult(data: data)
        let unfused = try Self.optimizer(for: trace, transform: trace.groups[0].recipe.transform).0
        #expect(unfused.isFused(group: "all") == false)
        for step in trace.steps { try unfused.step(objectives: step.objectives) }
        for (label, opt) in [("fused", optimizer), ("unfused", unfused)] {
            let got = try opt.averagedParameters()
            var bad: [String] = []
            for (path, reference) in averaged.parameters {
                bad += parityViolations(got[path]?.scalars ?? [], reference, label: path)
            }
            #expect(bad.isEmpty, "\(name) \(label) averages: \(bad.prefix(6).joined(separator: "; "))")
        }
    }

    /// An optimizer over a trace's parameters with one group of `transform`.
    static func optimizer(for trace: GradientTrace, transform: AnyGradientTransform) throws -> (Optimizer, [NamedParameter]) {
        let params = trace.parameters.map { NamedParameter(path: $0.path, parameter: Parameter($0.value, anchor: $0.anchor)) }
        let optimizer = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: transform)])
        return (optimizer, params)
    }
}

/// Scheduled hyperparameters against optax's `inject_hyperparams` (which evaluates a schedule at
/// the update count t − 1, as `Schedule.value(at: t)` does): `scheduled_hyperparameters.json`,
/// recorded by `Tools/fixtures/record_combinators.py`.
@Suite("Scheduled hyperparameter parity")
struct ScheduledHyperparameterParityTests {
    static let builders: [String: @Sendable () throws -> AnyGradientTransform] = [
        "adam_beta1_warmup": {
            try chain { try ScaleByAdam(beta1: Schedule(.linearWarmup(peak: 0.9, warmupSteps: 4))); try ScaleByLearningRate(0.01) }.erased()
        },
        "momentum_cosine": {
            try chain { try Momentum(momentum: Schedule(.cosine(initial: 0.9, totalSteps: 5, final: 0.5))); try ScaleByLearningRate(0.1) }.erased()
        },
        "adamw_weight_decay_warmup": {
            try chain {
                try ScaleByAdam()
                try AddDecayedWeights(Schedule(.linearWarmup(peak: 0.2, warmupSteps: 3)))
                try ScaleByLearningRate(0.01)
            }.erased()
        },
        "clip_threshold_warmup": {
            try chain { try ClipByGlobalNorm(maxNorm: Schedule(.linearWarmup(peak: 4, warmupSteps: 4))); try ScaleByLearningRate(0.1) }.erased()
        },
    ]

    struct Case {
        let name: String
        let shapes: [String: [Int]]
        let values: [String: [Float]]
        let gradients: [[String: [Float]]]
        let expected: [String: [Double]]
    }

    static func cases() throws -> [Case] {
        let data = try fixtureData("combinators", "scheduled_hyperparameters.json")
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              root["format"] as? String == "graft-scheduled-hyperparameters/1",
              let list = root["cases"] as? [[String: Any]] else { throw FixtureError.malformed("scheduled_hyperparameters.json") }
        return try list.map { c in
            guard let name = c["name"] as? String, let params = c["parameters"] as? [String: [String: Any]],
                  let grads = c["gradients"] as? [[String: [NSNumber]]], let expected = c["expected"] as? [String: [NSNumber]] else {
                throw FixtureError.malformed("a case of scheduled_hyperparameters.json")
            }
            return Case(name: name,
                        shapes: params.mapValues { ($0["shape"] as? [Int]) ?? [] },
                        values: params.mapValues { (($0["value"] as? [NSNumber]) ?? []).map(\.floatValue) },
                        gradients: grads.map { $0.mapValues { $0.map(\.floatValue) } },
                        expected: expected.mapValues { $0.map(\.doubleValue) })
        }
    }

    @Test func everyCaseHasABuilder() throws {
        #expect(Set(try Self.cases().map(\.name)) == Set(Self.builders.keys))
    }

    @Test("scheduled hyperparameters match optax's inject_hyperparams", arguments: builders.keys.sorted())
    func scheduled(_ name: String) throws {
        let c = try #require(try Self.cases().first { $0.name == name })
        let make = try #require(Self.builders[name])
        let params = try c.values.keys.sorted().map { path in
            NamedParameter(path: path, parameter: Parameter(try Tensor(shape: c.shapes[path] ?? [], scalars: c.values[path] ?? [])))
        }
        let optimizer = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: try make())])
        for g in c.gradients {
            try optimizer.step(objectives: [Dictionary(uniqueKeysWithValues: try g.map { path, values in
                (path, try Tensor(shape: c.shapes[path] ?? [], scalars: values))
            })])
        }
        var violations: [String] = []
        for p in params { violations += parityViolations(p.parameter.value.scalars, c.expected[p.path] ?? [], label: p.path) }
        #expect(violations.isEmpty, "\(name): \(violations.prefix(6).joined(separator: "; "))")
    }
}
