import Foundation
import Testing
import GraftOptim
import GraftTensor

/// Every validation path: hyperparameters are checked when a transform, schedule, group or
/// optimizer is built, and a step checks all its inputs before changing anything. Each error
/// names the key (or path, group) and the offending value and allowed range.
@Suite("Validation")
struct ValidationTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        /// Substrings the error's description must contain.
        let fragments: [String]
        let build: @Sendable () throws -> Void
        var description: String { name }

        init(_ name: String, _ fragments: [String], _ build: @escaping @Sendable () throws -> Void) {
            self.name = name
            self.fragments = fragments
            self.build = build
        }
    }

    static let nan = Float.nan
    static let inf = Float.infinity

    /// Hyperparameter checks of transforms, recipes and schedules.
    static let hyperparameterCases: [Case] = [
        // Learning rate.
        Case("negative lr", ["lr", "-0.1", "[0, ∞)"]) { _ = try ScaleByLearningRate(-0.1) },
        Case("NaN lr", ["lr", "nan"]) { _ = try ScaleByLearningRate(.constant(nan)) },
        Case("infinite lr", ["lr", "inf"]) { _ = try ScaleByLearningRate(.constant(inf)) },
        Case("schedule going negative", ["lr(t=1000)", "[0, ∞)"]) {
            _ = try ScaleByLearningRate(try Schedule(.cosine(initial: 0.1, totalSteps: 10, final: -0.1)))
        },
        // Going negative only after step 1000: caught exactly, not by sampling a few steps.
        Case("cosine schedule negative late", ["lr", "cosine", "stays ≥ 0"]) {
            _ = try ScaleByLearningRate(try Schedule(.cosine(initial: 0.1, totalSteps: 5_000, final: -0.1)))
        },
        Case("warm-up cosine schedule negative late", ["lr", "warmupCosine", "stays ≥ 0"]) {
            _ = try ScaleByLearningRate(try Schedule(.warmupCosine(peak: 0.1, warmupSteps: 10, totalSteps: 20_000, final: -0.01)))
        },
        Case("weight decay schedule negative late", ["weight_decay", "cosine", "stays ≥ 0"]) {
            _ = try AddDecayedWeights(try Schedule(.cosine(initial: 0.1, totalSteps: 5_000, final: -0.1)))
        },
        Case("negative lr in a recipe", ["lr", "-1"]) { _ = try Recipes.adam(learningRate: -1) },
        Case("negative lr in a step rule", ["lr"]) { _ = try StepRule.sgd().transform(learningRate: -0.5) },
        // Adam.
        Case("beta1 = 1", ["betas[0]", "1.0", "[0, 1)"]) { _ = try ScaleByAdam(beta1: 1) },
        Case("beta1 NaN", ["betas[0]", "nan"]) { _ = try ScaleByAdam(beta1: nan) },
        Case("beta2 < 0", ["betas[1]", "-0.1", "[0, 1)"]) { _ = try ScaleByAdam(beta2: -0.1) },
        Case("beta2 > 1 in adamW", ["betas[1]", "1.5"]) { _ = try Recipes.adamW(learningRate: 0.1, beta2: 1.5) },
        Case("eps = 0", ["eps", "0.0", "(0, ∞)"]) { _ = try ScaleByAdam(epsilon: 0) },
        Case("eps < 0", ["eps", "-1e-08"]) { _ = try Recipes.adam(learningRate: 0.1, epsilon: -1e-8) },
        // SGD.
        Case("momentum < 0", ["momentum", "-0.5", "[0, ∞)"]) { _ = try Momentum(momentum: -0.5) },
        Case("momentum < 0 in sgd", ["momentum", "-0.5"]) { _ = try Recipes.sgd(learningRate: 0.1, momentum: -0.5) },
        Case("Nesterov without momentum", ["nesterov", "momentum"]) { _ = try Momentum(momentum: 0, nesterov: true) },
        Case("Nesterov without momentum in sgd", ["nesterov", "momentum > 0"]) {
            _ = try Recipes.sgd(learningRate: 0.1, nesterov: true)
        },
        Case("Nesterov with dampening", ["nesterov", "dampening"]) { _ = try Momentum(momentum: 0.9, dampening: 0.1, nesterov: true) },
        Case("dampening > 1", ["dampening", "1.5", "[0, 1]"]) { _ = try Momentum(momentum: 0.9, dampening: 1.5) },
        Case("dampening < 0 in sgd", ["dampening", "-0.1", "[0, 1]"]) { _ = try Recipes.sgd(learningRate: 0.1, dampening: -0.1) },
        // Decays and clipping.
        Case("negative weight decay", ["weight_decay", "-0.01", "[0, ∞)"]) { _ = try AddDecayedWeights(-0.01) },
        Case("negative weight decay in adamW", ["weight_decay", "-1"]) { _ = try Recipes.adamW(learningRate: 0.1, weightDecay: -1) },
        Case("negative weight decay in sgd", ["weight_decay"]) { _ = try Recipes.sgd(learningRate: 0.1, weightDecay: -1) },
        Case("NaN weight decay in adam", ["weight_decay", "nan"]) { _ = try Recipes.adam(learningRate: 0.1, weightDecay: nan) },
        Case("clip max_norm = 0", ["max_norm", "0.0", "(0, ∞)"]) { _ = try ClipByGlobalNorm(maxNorm: 0) },
        Case("clip max_norm < 0", ["max_norm", "-1.0"]) { _ = try ClipByGlobalNorm(maxNorm: -1) },
        Case("clip max_norm NaN", ["max_norm", "nan"]) { _ = try ClipByGlobalNorm(maxNorm: nan) },
        Case("scale not finite", ["scale", "inf", "finite"]) { _ = try Scale(inf) },
        // Schedules, one per family and parameter.
        Case("constant NaN", ["lr", "nan", "finite"]) { _ = try Schedule(.constant(nan), key: "lr") },
        Case("step initial", ["lr.initial", "nan"]) { _ = try Schedule(.step(initial: nan, factor: 0.5, every: 2), key: "lr") },
        Case("step factor", ["lr.factor", "-0.5", "[0, ∞)"]) { _ = try Schedule(.step(initial: 1, factor: -0.5, every: 2), key: "lr") },
        Case("step every", ["lr.every", "0", "integer ≥ 1"]) { _ = try Schedule(.step(initial: 1, factor: 0.5, every: 0), key: "lr") },
        Case("warm-up peak", ["lr.peak", "inf"]) { _ = try Schedule(.linearWarmup(peak: inf, warmupSteps: 3), key: "lr") },
        Case("warm-up steps", ["lr.warmupSteps", "0", "integer ≥ 1"]) { _ = try Schedule(.linearWarmup(peak: 1, warmupSteps: 0), key: "lr") },
        Case("cosine initial", ["lr.initial", "nan"]) { _ = try Schedule(.cosine(initial: nan, totalSteps: 5, final: 0), key: "lr") },
        Case("cosine final", ["lr.final", "inf"]) { _ = try Schedule(.cosine(initial: 1, totalSteps: 5, final: inf), key: "lr") },
        Case("cosine total", ["lr.totalSteps", "-3"]) { _ = try Schedule(.cosine(initial: 1, totalSteps: -3, final: 0), key: "lr") },
        Case("warm-up cosine peak", ["lr.peak", "nan"]) {
            _ = try Schedule(.warmupCosine(peak: nan, warmupSteps: 2, totalSteps: 10, final: 0), key: "lr")
        },
        Case("warm-up cosine final", ["lr.final", "nan"]) {
            _ = try Schedule(.warmupCosine(peak: 1, warmupSteps: 2, totalSteps: 10, final: nan), key: "lr")
        },
        Case("warm-up cosine warm-up", ["lr.warmupSteps", "-1", "≥ 0"]) {
            _ = try Schedule(.warmupCosine(peak: 1, warmupSteps: -1, totalSteps: 10, final: 0), key: "lr")
        },
        Case("warm-up cosine total", ["lr.totalSteps", "5", "> warmupSteps (5)"]) {
            _ = try Schedule(.warmupCosine(peak: 1, warmupSteps: 5, totalSteps: 5, final: 0), key: "lr")
        },
        Case("one-cycle peak", ["lr.peak", "nan"]) {
            _ = try Schedule(.oneCycle(peak: nan, totalSteps: 10, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4), key: "lr")
        },
        Case("one-cycle total", ["lr.totalSteps", "0"]) {
            _ = try Schedule(.oneCycle(peak: 1, totalSteps: 0, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4), key: "lr")
        },
        Case("one-cycle pctStart = 0", ["lr.pctStart", "0.0", "(0, 1)"]) {
            _ = try Schedule(.oneCycle(peak: 1, totalSteps: 10, pctStart: 0, divFactor: 25, finalDivFactor: 1e4), key: "lr")
        },
        Case("one-cycle pctStart = 1", ["lr.pctStart", "1.0"]) {
            _ = try Schedule(.oneCycle(peak: 1, totalSteps: 10, pctStart: 1, divFactor: 25, finalDivFactor: 1e4), key: "lr")
        },
        Case("one-cycle divFactor", ["lr.divFactor", "0.0", "(0, ∞)"]) {
            _ = try Schedule(.oneCycle(peak: 1, totalSteps: 10, pctStart: 0.3, divFactor: 0, finalDivFactor: 1e4), key: "lr")
        },
        Case("one-cycle finalDivFactor", ["lr.finalDivFactor", "-1.0"]) {
            _ = try Schedule(.oneCycle(peak: 1, totalSteps: 10, pctStart: 0.3, divFactor: 25, finalDivFactor: -1), key: "lr")
        },
        Case("default schedule key", ["schedule.every"]) { _ = try Schedule(.step(initial: 1, factor: 0.5, every: 0)) },
        // Robust methods.
        Case("DiGraP μ < 0", ["mu", "-0.1", "[0, ∞)"]) { _ = try DirectionalProjection(omega: .learned(mu: -0.1)) },
        Case("DiGraP κ = 0", ["kappa", "0.0", "(0, ∞)"]) { _ = try DirectionalProjection(omega: .learned(mu: 1, kappa: 0)) },
        Case("DiGraP κ < 0 in the recipe", ["kappa", "-1.0"]) { _ = try Recipes.digrap(learningRate: 0.1, omega: .learned(mu: 1, kappa: -1)) },
        Case("DiGraP fixed ω < 0", ["omega", "-0.5", "[0, ∞)"]) { _ = try DirectionalProjection(omega: .fixed(-0.5)) },
        Case("DiGraP fixed ω NaN", ["omega", "nan"]) { _ = try Recipes.digrap(learningRate: 0.1, omega: .fixed(nan)) },
        Case("DiGraP inner Adam", ["betas[0]"]) { _ = try Recipes.digrap(learningRate: 0.1, omega: .fixed(1), beta1: 1) },
        Case("FTP k > 1", ["k", "1.5", "[0, 1]"]) { _ = try TrainableProjection(k: 1.5) },
        Case("FTP k < 0", ["k", "-0.1"]) { _ = try Recipes.ftp(learningRate: 0.1, k: -0.1) },
        Case("FTP μ < 0", ["mu", "-1.0"]) { _ = try TrainableProjection(mu: -1) },
        Case("SPD λ < 0", ["lambda", "-0.1", "[0, ∞)"]) { _ = try SelectiveProjectionDecay(lambda: -0.1) },
        Case("SPD λ < 0 in the recipe", ["lambda"]) { _ = try Recipes.spd(learningRate: 0.1, lambda: -1) },
        Case("L2-SP α < 0", ["alpha", "-1.0"]) { _ = try Recipes.l2sp(learningRate: 0.1, alpha: -1) },
        Case("L2-SP β < 0", ["beta", "-2.0"]) { _ = try AnchorDecay(alpha: 1, beta: -2) },
        Case("PCGrad base rule", ["momentum"]) { _ = try Recipes.pcgrad(learningRate: 0.1, base: .sgd(momentum: -1)) },
    ]

    static let hyperparameterNames = hyperparameterCases.map(\.name)

    @Test("invalid hyperparameters throw a message naming key, value and range", arguments: hyperparameterNames)
    func invalidHyperparameter(_ name: String) {
        let c = Self.hyperparameterCases.first { $0.name == name }!
        do {
            try c.build()
            Issue.record("\(name): no error thrown")
        } catch let e as OptimizerError {
            switch e {
            case .invalidHyperparameter, .incompatibleHyperparameters: break
            default: Issue.record("\(name): unexpected case \(e)")
            }
            for f in c.fragments { #expect(e.description.contains(f), "\(name): '\(e.description)' lacks '\(f)'") }
        } catch {
            Issue.record("\(name): not an OptimizerError: \(error)")
        }
    }

    @Test func validValuesAtTheBoundsAreAccepted() throws {
        _ = try ScaleByLearningRate(0)
        _ = try ScaleByAdam(beta1: 0, beta2: 0, epsilon: 1e-30)
        _ = try Momentum(momentum: 0, dampening: 1)
        _ = try Recipes.sgd(learningRate: 0.1, dampening: 0.5)  // dampening without momentum is valid (PyTorch)
        _ = try AddDecayedWeights(0)
        _ = try TrainableProjection(k: 0, mu: 0)
        _ = try TrainableProjection(k: 1)
        _ = try DirectionalProjection(omega: .fixed(0))
        _ = try DirectionalProjection(omega: .learned(mu: 0, kappa: 5))
        _ = try SelectiveProjectionDecay(lambda: 0)
        _ = try Schedule(.warmupCosine(peak: 1, warmupSteps: 0, totalSteps: 1, final: 0))
        _ = try Schedule(.step(initial: 1, factor: 0, every: 1))
        // Schedules that stay ≥ 0 over every step are valid learning rates and decays.
        _ = try ScaleByLearningRate(try Schedule(.cosine(initial: 0.1, totalSteps: 5_000, final: 0)))
        _ = try ScaleByLearningRate(try Schedule(.oneCycle(peak: 0.1, totalSteps: 5_000, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4)))
        _ = try AddDecayedWeights(try Schedule(.warmupCosine(peak: 0.1, warmupSteps: 10, totalSteps: 20_000, final: 0)))
    }

    // MARK: Groups and optimizer construction

    func expectError(_ expected: OptimizerError, fragments: [String] = [], _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected \(expected), nothing thrown")
        } catch let e as OptimizerError {
            #expect(e == expected)
            for f in fragments { #expect(e.description.contains(f), "'\(e.description)' lacks '\(f)'") }
        } catch {
            Issue.record("not an OptimizerError: \(error)")
        }
    }

    @Test func emptyGroups() throws {
        expectError(.emptyGroup(group: "g"), fragments: ["'g'"]) {
            _ = try ParameterGroup("g", selecting: [], transform: Identity())
        }
        expectError(.emptyGroup(group: "f")) { _ = try ParameterGroup.frozen("f") }
        // A group whose selectors match nothing.
        expectError(.emptyGroup(group: "ghost"), fragments: ["ghost", "selects no parameter"]) {
            _ = try Optimizer(parameters: makeProblemParameters(), groups: [
                try ParameterGroup("ghost", selecting: .prefix("decoder."), transform: Identity()),
                try ParameterGroup("all", selecting: .all, transform: Identity()),
            ])
        }
        // A group that only selects untrainable parameters says so (issue 14), naming them.
        let params = makeProblemParameters()
        params[2].parameter.isTrainable = false
        expectError(.onlyFrozenParameters(group: "head", paths: [params[2].path]), fragments: ["only frozen", params[2].path]) {
            _ = try Optimizer(parameters: params, groups: [
                try ParameterGroup("head", selecting: .prefix("head."), transform: Identity()),
                try ParameterGroup("all", selecting: .all, transform: Identity()),
            ])
        }
    }

    @Test func shadowedAndDuplicateGroups() throws {
        expectError(.shadowedGroup(group: "body", by: "all"), fragments: ["'body'", "'all'", "first match wins"]) {
            _ = try Optimizer(parameters: makeProblemParameters(), groups: [
                try ParameterGroup("all", selecting: .all, transform: Identity()),
                try ParameterGroup("body", selecting: .prefix("body."), transform: Identity()),
            ])
        }
        expectError(.duplicateGroup(group: "g"), fragments: ["'g'"]) {
            _ = try Optimizer(parameters: makeProblemParameters(), groups: [
                try ParameterGroup("g", selecting: .prefix("body."), transform: Identity()),
                try ParameterGroup("g", selecting: .all, transform: Identity()),
            ])
        }
        // The default group counts too.
        expectError(.duplicateGroup(group: "g")) {
            _ = try Optimizer(parameters: makeProblemParameters(), groups: [try ParameterGroup("g", selecting: .prefix("body."), transform: Identity())],
                              defaultGroup: try ParameterGroup("g", selecting: .all, transform: Identity()))
        }
    }

    @Test func duplicateAndUnassignedParameters() throws {
        expectError(.duplicateParameter(path: "w"), fragments: ["'w'"]) {
            _ = try Optimizer(parameters: [named("w", tensor([1], [0])), named("w", tensor([1], [1]))],
                              groups: [try ParameterGroup("g", selecting: .all, transform: Identity())])
        }
        expectError(.unassignedParameter(path: "head.weight"), fragments: ["'head.weight'", "no group"]) {
            _ = try Optimizer(parameters: makeProblemParameters(), groups: [try ParameterGroup("body", selecting: .prefix("body."), transform: Identity())])
        }
        // A default group takes the rest, even when it then selects nothing at all.
        let o = try Optimizer(parameters: makeProblemParameters(), groups: [try ParameterGroup("body", selecting: .prefix("body."), transform: Identity())],
                              defaultGroup: try ParameterGroup("rest", selecting: .all, transform: Identity()))
        #expect(o.group(of: "head.weight") == "rest")
        _ = try Optimizer(parameters: makeProblemParameters(), groups: [try ParameterGroup("all", selecting: .all, transform: Identity())],
                          defaultGroup: try ParameterGroup("rest", selecting: .all, transform: Identity()))
    }

    @Test func explicitAnchorsAreChecked() throws {
        expectError(.unknownPath(path: "nope"), fragments: ["'nope'"]) {
            _ = try Optimizer(parameters: makeProblemParameters(), groups: [try ParameterGroup("all", selecting: .all, transform: Identity())],
                              anchors: ["nope": tensor([1], [0])])
        }
        expectError(.shapeMismatch(path: "body.bias", expected: [4], actual: [2, 2]), fragments: ["'body.bias'", "[4]", "[2, 2]"]) {
            _ = try Optimizer(parameters: makeProblemParameters(), groups: [try ParameterGroup("all", selecting: .all, transform: Identity())],
                              anchors: ["body.bias": Tensor(zeros: [2, 2])])
        }
    }

    // MARK: Step inputs

    func adamOptimizer(_ params: [NamedParameter], policy: NonFinitePolicy = .throw) throws -> Optimizer {
        try Optimizer(parameters: params, groups: [
            try ParameterGroup("body", selecting: .prefix("body."), transform: try Recipes.adam(learningRate: 0.1)),
            try ParameterGroup("head", selecting: .all, transform: try Recipes.sgd(learningRate: 0.1, momentum: 0.9)),
        ], nonFinitePolicy: policy)
    }

    @Test func stepInputErrorsChangeNothing() throws {
        let params = makeProblemParameters()
        let o = try adamOptimizer(params)
        try o.step(objectives: [makeGradients(for: params, step: 1)])
        let before = snapshot(params)
        let adamBefore = o.state(of: "adam", for: "body.weight", as: ScaleByAdam.TensorState.self)

        var g = makeGradients(for: params, step: 2)
        g["body.bias"] = Tensor(zeros: [5])
        expectError(.shapeMismatch(path: "body.bias", expected: [4], actual: [5]), fragments: ["'body.bias'", "[4]", "[5]"]) {
            try o.step(objectives: [makeGradients(for: params, step: 2), g])
        }
        expectError(.unknownPath(path: "body.wieght"), fragments: ["'body.wieght'"]) {
            try o.step(objectives: [["body.wieght": Tensor(zeros: [3, 4])]])
        }
        expectError(.noObjectives) { try o.step(objectives: []) }
        expectError(.invalidHyperparameter(key: "lr_scale", value: "-1.0", allowed: "[0, ∞)")) {
            try o.step(objectives: [makeGradients(for: params, step: 2)], learningRateScale: -1)
        }
        do {
            try o.step(objectives: [makeGradients(for: params, step: 2)], learningRateScale: .nan)
            Issue.record("a NaN lr_scale was accepted")
        } catch let e as OptimizerError {
            #expect(e.description.contains("lr_scale"))
        }
        expectError(.unknownPath(path: "x"), fragments: ["'x'"]) {
            try o.step(objectives: [makeGradients(for: params, step: 2)], providedGradients: ["x": Tensor(zeros: [1])])
        }
        expectError(.shapeMismatch(path: "head.weight", expected: [2, 3], actual: [6])) {
            try o.step(objectives: [makeGradients(for: params, step: 2)], providedGradients: ["head.weight": Tensor(zeros: [6])])
        }
        // `step()` with a parameter's own gradient of the wrong shape.
        params[0].parameter.gradient = Tensor(zeros: [4, 3])
        expectError(.shapeMismatch(path: "body.weight", expected: [3, 4], actual: [4, 3]), fragments: ["[3, 4]", "[4, 3]"]) { try o.step() }

        #expect(snapshot(params) == before)
        #expect(o.state(of: "adam", for: "body.weight", as: ScaleByAdam.TensorState.self) == adamBefore)
        #expect(o.stepCount == 1 && o.stepCount(ofGroup: "body") == 1 && o.stepCount(ofGroup: "head") == 1)
    }

    /// Under `.throw`, a NaN or Inf gradient throws before anything changes: parameters, state and
    /// step counts are as before, and the run continues exactly as if the bad step never happened.
    @Test("non-finite gradient under .throw", arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteGradientThrows(_ bad: Float) throws {
        let params = makeProblemParameters(), reference = makeProblemParameters()
        let o = try adamOptimizer(params), r = try adamOptimizer(reference)
        try o.step(objectives: [makeGradients(for: params, step: 1)])
        try r.step(objectives: [makeGradients(for: reference, step: 1)])
        let before = snapshot(params)
        let adamBefore = o.state(of: "adam", for: "body.weight", as: ScaleByAdam.TensorState.self)
        var g = makeGradients(for: params, step: 2)
        var head = g["head.weight"]!.scalars
        head[4] = bad
        g["head.weight"] = tensor([2, 3], head)
        expectError(.nonFiniteGradient(path: "head.weight", group: "head", step: 2), fragments: ["'head.weight'", "'head'", "step 2"]) {
            try o.step(objectives: [makeGradients(for: params, step: 2), g])
        }
        #expect(snapshot(params) == before)
        #expect(o.state(of: "adam", for: "body.weight", as: ScaleByAdam.TensorState.self) == adamBefore)
        #expect(o.stepCount == 1 && o.stepCount(ofGroup: "body") == 1 && o.skippedSteps == 0)
        // A bad provided gradient is caught the same way.
        var provided = makeGradients(for: params, step: 2)
        provided["body.bias"] = tensor([4], [0, bad, 0, 0])
        expectError(.nonFiniteGradient(path: "body.bias", group: "body", step: 2)) {
            try o.step(objectives: [makeGradients(for: params, step: 2)], providedGradients: provided)
        }
        for t in 2...3 {
            try o.step(objectives: [makeGradients(for: params, step: t)])
            try r.step(objectives: [makeGradients(for: reference, step: t)])
        }
        #expect(snapshot(params) == snapshot(reference))
    }

    /// `.unchecked` does not scan the gradients: with finite ones it steps bitwise as `.throw`
    /// does; a NaN or an infinity reaches θ (by request) and the step throws `nonFiniteUpdate`
    /// naming the first tensor whose new θ is not finite, after the other groups stepped.
    @Test func uncheckedPolicy() throws {
        let params = makeProblemParameters(), reference = makeProblemParameters()
        let o = try adamOptimizer(params, policy: .unchecked), r = try adamOptimizer(reference)
        for t in 1...3 {
            try o.step(objectives: [makeGradients(for: params, step: t)])
            try r.step(objectives: [makeGradients(for: reference, step: t)])
        }
        #expect(snapshot(params) == snapshot(reference))

        var g = makeGradients(for: params, step: 4)
        g["body.weight"]![1, 2] = .nan
        let before = snapshot(params)
        #expect(throws: OptimizerError.nonFiniteUpdate(path: "body.weight", group: "body", step: 4)) {
            try o.step(objectives: [g])
        }
        #expect(params[0].parameter.value[1, 2].isNaN, "unchecked: the NaN reached θ")
        #expect(params[2].parameter.value.scalars != before["head.weight"]!, "the other group stepped")

        let fresh = makeProblemParameters()
        let p = try adamOptimizer(fresh, policy: .unchecked)
        var h = makeGradients(for: fresh, step: 1)
        h["head.weight"]![0, 1] = -.infinity
        #expect(throws: OptimizerError.nonFiniteUpdate(path: "head.weight", group: "head", step: 1)) {
            try p.step(objectives: [h])
        }
    }

    /// Under `.skipStep`, the group with a bad gradient skips the step (nothing of it changes, its
    /// step count stays), the other groups step, and `skippedSteps` counts the call.
    @Test func skipStepPolicy() throws {
        let params = makeProblemParameters(), reference = makeProblemParameters()
        let o = try adamOptimizer(params, policy: .skipStep), r = try adamOptimizer(reference)
        try o.step(objectives: [makeGradients(for: params, step: 1)])
        try r.step(objectives: [makeGradients(for: reference, step: 1)])
        let before = snapshot(params)
        let adamBefore = o.state(of: "adam", for: "body.weight", as: ScaleByAdam.TensorState.self)
        var g = makeGradients(for: params, step: 2)
        g["body.weight"] = Tensor(repeating: .nan, shape: [3, 4])
        try o.step(objectives: [g])
        #expect(o.skippedSteps == 1)
        #expect(o.stepCount == 2, "the head group stepped")
        #expect(o.stepCount(ofGroup: "body") == 1 && o.stepCount(ofGroup: "head") == 2)
        #expect(params[0].parameter.value.scalars == before["body.weight"]! && params[1].parameter.value.scalars == before["body.bias"]!)
        #expect(params[2].parameter.value.scalars != before["head.weight"]!)
        #expect(o.state(of: "adam", for: "body.weight", as: ScaleByAdam.TensorState.self) == adamBefore)

        // Every group bad: nothing steps, the step count does not advance.
        var all = makeGradients(for: params, step: 3)
        all["body.bias"] = Tensor(repeating: .infinity, shape: [4])
        all["head.weight"] = Tensor(repeating: .nan, shape: [2, 3])
        let mid = snapshot(params)
        try o.step(objectives: [all])
        #expect(o.skippedSteps == 2 && o.stepCount == 2)
        #expect(snapshot(params) == mid)

        // The body group then continues as the reference's second step (its state never saw the NaN).
        try o.step(objectives: [makeGradients(for: params, step: 2)])
        try r.step(objectives: [makeGradients(for: reference, step: 2)])
        #expect(params[0].parameter.value.scalars == reference[0].parameter.value.scalars)
        #expect(params[1].parameter.value.scalars == reference[1].parameter.value.scalars)
    }

    @Test func missingProvidedGradient() throws {
        let params = makeProblemParameters()
        let o = try Optimizer(parameters: params, groups: [
            try ParameterGroup("body", selecting: .prefix("body."),
                               transform: try Recipes.digrap(learningRate: 0.1, omega: .learned(mu: 1), source: .provided)),
            try ParameterGroup("head", selecting: .all, transform: try Recipes.sgd(learningRate: 0.1)),
        ])
        let before = snapshot(params)
        expectError(.missingProvidedGradient(group: "body", step: 1), fragments: ["'body'", "step 1"]) {
            try o.step(objectives: [makeGradients(for: params, step: 1)])
        }
        #expect(snapshot(params) == before && o.stepCount == 0)
        // A provided gradient may omit paths (zeros), and then the step goes through.
        try o.step(objectives: [makeGradients(for: params, step: 1)], providedGradients: [:])
        #expect(o.stepCount == 1)
    }
}

@Suite struct RequireStateTests {
    @Test func unknownMemberAndPathAreTyped() throws {
        let p = NamedParameter(path: "w", parameter: Parameter(Tensor(repeating: 1, shape: [2])))
        let opt = try Optimizer(parameters: [p], groups: [try ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: 0.1))])
        #expect(try opt.requireState(of: "adam", for: "w") is ScaleByAdam.TensorState)
        #expect(throws: OptimizerError.unknownMember(name: "nope")) { try opt.requireState(of: "nope", for: "w") }
        #expect(throws: OptimizerError.unknownPath(path: "x")) { try opt.requireState(of: "adam", for: "x") }
    }
}
