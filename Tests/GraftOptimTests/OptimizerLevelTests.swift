import Foundation
import Testing
import GraftOptim
import GraftTensor
import GraftTestSupport

/// Issue 14, items 4 and 5: clipping by the norm of all gradients across groups (PyTorch's
/// `clip_grad_norm_`) and PyTorch's missing-gradient semantics (`grad is None`: the parameter
/// and its state stay untouched), against fixtures recorded by
/// `Tools/fixtures/record_optimizer_level.py`.
@Suite("Optimizer-level: global clipping and missing gradients")
struct OptimizerLevelTests {
    struct Fixture: Decodable {
        struct Initial: Decodable { var shape: [Int]; var value: [Float] }
        struct Expected: Decodable {
            var norms: [Double]?
            var parameters: [String: [Double]]?
            var after_each_step: [[String: [Double]]]?
        }
        var max_norm: Float?
        var parameters: [String: Initial]
        var gradients: [[String: [Float]]]
        var expected: Expected

        func makeParameters() throws -> [NamedParameter] {
            try parameters.keys.sorted().map { path in
                let p = parameters[path]!
                return NamedParameter(path: path, parameter: Parameter(try Tensor(shape: p.shape, scalars: p.value)))
            }
        }
    }

    func check(_ ps: [NamedParameter], _ expected: [String: [Double]], _ label: String) {
        for p in ps {
            let want = expected[p.path]!
            let got = p.parameter.value.scalars
            let bad = zip(got, want).filter { !withinParity(Double($0), $1) }
            #expect(bad.isEmpty && got.count == want.count, "\(label) \(p.path): \(got) vs \(want)")
        }
    }

    // MARK: Global clipping

    @Test func clippingAcrossGroupsMatchesPyTorch() throws {
        let f = try loadJSONFixture("optimizer-level/global_clip.json", as: Fixture.self)
        let ps = try f.makeParameters()
        let o = try Optimizer(parameters: ps, groups: [
            try ParameterGroup("body", selecting: .prefix("body."), transform: try Recipes.sgd(learningRate: 0.1, momentum: 0.9)),
            try ParameterGroup("head", selecting: .prefix("head."), transform: try Recipes.adam(learningRate: 0.01)),
        ])
        for (t, grads) in f.gradients.enumerated() {
            for p in ps { p.parameter.gradient = try Tensor(shape: p.parameter.shape, scalars: grads[p.path]!) }
            let norm = try o.clipGradientNorm(maxNorm: f.max_norm!)
            #expect(withinParity(Double(norm), f.expected.norms![t]), "norm at step \(t + 1): \(norm)")
            try o.step()
        }
        check(ps, f.expected.parameters!, "after 3 clipped steps")
    }

    @Test func clippingScalesOnlyAboveTheBoundAndByPyTorchsCoefficient() throws {
        let a = Parameter(try Tensor(shape: [2], scalars: [0, 0])), b = Parameter(try Tensor(shape: [1], scalars: [0]))
        let o = try Optimizer(parameters: [NamedParameter(path: "a", parameter: a), NamedParameter(path: "b", parameter: b)],
                              groups: [try ParameterGroup("a", selecting: .path("a"), transform: try Recipes.sgd(learningRate: 1)),
                                       try ParameterGroup("b", selecting: .path("b"), transform: try Recipes.sgd(learningRate: 1))])
        a.gradient = try Tensor(shape: [2], scalars: [3, 0])
        b.gradient = try Tensor(shape: [1], scalars: [4])
        #expect(try o.clipGradientNorm(maxNorm: 10) == 5)
        #expect(a.gradient.scalars == [3, 0] && b.gradient.scalars == [4], "below the bound nothing changes")
        #expect(try o.clipGradientNorm(maxNorm: 1) == 5)
        let c = Float(1) / (Float(5) + 1e-6)
        let scaledA: [Float] = [3 * c, 0], scaledB: [Float] = [4 * c]
        #expect(a.gradient.scalars == scaledA && b.gradient.scalars == scaledB)
        // The infinity norm is the largest |g|.
        b.gradient = try Tensor(shape: [1], scalars: [-8])
        #expect(try o.clipGradientNorm(maxNorm: 100, norm: .infinity) == 8)
    }

    @Test func clippingRefusesBadBoundsAndLeavesNonFiniteGradientsToTheStep() throws {
        let a = Parameter(try Tensor(shape: [2], scalars: [1, 1]))
        let o = try Optimizer(parameters: [NamedParameter(path: "a", parameter: a)],
                              groups: [try ParameterGroup("all", selecting: .all, transform: try Recipes.sgd(learningRate: 1))])
        for bad: Float in [0, -1, .infinity, .nan] {
            #expect(throws: OptimizerError.self) { try o.clipGradientNorm(maxNorm: bad) }
        }
        a.gradient = try Tensor(shape: [2], scalars: [.nan, 100])
        #expect(try o.clipGradientNorm(maxNorm: 1).isNaN)
        #expect(a.gradient.scalars[1] == 100, "gradients are not scaled by a non-finite norm")
        #expect(throws: OptimizerError.nonFiniteGradient(path: "a", group: "all", step: 1)) { try o.step() }
    }

    @Test func clippingKeepsAbsentGradientsAbsent() throws {
        let a = Parameter(try Tensor(shape: [1], scalars: [0])), b = Parameter(try Tensor(shape: [1], scalars: [0]))
        let o = try Optimizer(parameters: [NamedParameter(path: "a", parameter: a), NamedParameter(path: "b", parameter: b)],
                              groups: [try ParameterGroup("all", selecting: .all, transform: try Recipes.sgd(learningRate: 1))],
                              missingGradients: .skip)
        a.gradient = try Tensor(shape: [1], scalars: [10])
        #expect(!b.hasGradient)
        #expect(try o.clipGradientNorm(maxNorm: 1) == 10)
        #expect(!b.hasGradient)
        try o.step()
        #expect(b.value.scalars == [0] && abs(a.value.scalars[0] + 1) < 1e-5)
    }

    // MARK: Missing gradients

    func sgdWithDecay() throws -> some GradientTransform { try Recipes.sgd(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01) }

    @Test func skipMatchesPyTorchsGradNone() throws {
        let f = try loadJSONFixture("optimizer-level/missing_gradients.json", as: Fixture.self)
        let ps = try f.makeParameters()
        let o = try Optimizer(parameters: ps, groups: [try ParameterGroup("all", selecting: .all, transform: try sgdWithDecay())],
                              missingGradients: .skip)
        for (t, grads) in f.gradients.enumerated() {
            for p in ps {
                p.parameter.clearGradient()
                if let g = grads[p.path] { p.parameter.gradient = try Tensor(shape: p.parameter.shape, scalars: g) }
            }
            try o.step()
            check(ps, f.expected.after_each_step![t], "step \(t + 1)")
        }
    }

    @Test func skipMatchesPyTorchThroughObjectivesToo() throws {
        let f = try loadJSONFixture("optimizer-level/missing_gradients.json", as: Fixture.self)
        let ps = try f.makeParameters()
        let o = try Optimizer(parameters: ps, groups: [try ParameterGroup("all", selecting: .all, transform: try sgdWithDecay())],
                              missingGradients: .skip)
        for (t, grads) in f.gradients.enumerated() {
            var objective: [String: Tensor] = [:]
            for p in ps { if let g = grads[p.path] { objective[p.path] = try Tensor(shape: p.parameter.shape, scalars: g) } }
            try o.step(objectives: [objective])
            check(ps, f.expected.after_each_step![t], "step \(t + 1)")
        }
    }

    @Test func theDefaultStepsAParameterWithoutGradientWithZero() throws {
        let p = Parameter(try Tensor(shape: [2], scalars: [1, -1]))
        #expect(!p.hasGradient, "a new parameter has no gradient")
        let o = try Optimizer(parameters: [NamedParameter(path: "p", parameter: p)],
                              groups: [try ParameterGroup("all", selecting: .all, transform: try sgdWithDecay())])
        #expect(o.missingGradients == .zero)
        try o.step()
        let decay: Float = 0.1 * 0.01
        let expected: [Float] = [1 - decay, -1 + decay]
        #expect(p.value.scalars == expected, "weight decay moves it under .zero")
    }

    /// Adam in a fused group and a clipped (unfused) chain in another: under `.skip`, a
    /// parameter without a gradient keeps its value and every state tensor bit for bit while
    /// the others move; with a gradient again it moves.
    @Test(arguments: [false, true])
    func skipLeavesValueAndStateUntouched(unfused: Bool) throws {
        let ps = (0..<3).map { NamedParameter(path: "p\($0)", parameter: Parameter(Tensor(repeating: Float($0) + 1, shape: [5]))) }
        let group = unfused
            ? try ParameterGroup("all", selecting: .all) {
                try ClipByGlobalNorm(maxNorm: 10)
                try ScaleByAdam().named("adam")
                try ScaleByLearningRate(0.1)
            }
            : try ParameterGroup("all", selecting: .all) {
                try ScaleByAdam().named("adam")
                try AddDecayedWeights(0.1)
                try ScaleByLearningRate(0.1)
            }
        let o = try Optimizer(parameters: ps, groups: [group], missingGradients: .skip)
        #expect(o.isFused(group: "all") == !unfused)
        func fill(_ which: [Int]) {
            for (k, p) in ps.enumerated() {
                p.parameter.clearGradient()
                if which.contains(k) { p.parameter.gradient = Tensor(repeating: Float(k) - 0.5, shape: [5]) }
            }
        }
        fill([0, 1, 2])
        try o.step()
        let before = ps.map(\.parameter.value)
        let stateBefore = try ps.map { "\(try o.requireState(of: "adam", for: $0.path))" }
        fill([0, 2])
        try o.step()
        #expect(ps[1].parameter.value == before[1])
        #expect(try "\(o.requireState(of: "adam", for: "p1"))" == stateBefore[1])
        #expect(ps[0].parameter.value != before[0] && ps[2].parameter.value != before[2])
        #expect(o.stepCount(ofGroup: "all") == 2)
        fill([1])
        try o.step()
        #expect(ps[1].parameter.value != before[1])
    }

    @Test func aGroupWithoutAnyGradientDoesNotStepAndGroupsOverrideThePolicy() throws {
        let body = Parameter(Tensor(repeating: 1, shape: [3])), head = Parameter(Tensor(repeating: 2, shape: [2]), anchor: .none)
        let o = try Optimizer(parameters: [NamedParameter(path: "body.w", parameter: body), NamedParameter(path: "head.w", parameter: head)],
                              groups: [try ParameterGroup("head", selecting: .prefix("head."), transform: try sgdWithDecay()).missingGradients(.skip),
                                       try ParameterGroup("body", selecting: .all, transform: try sgdWithDecay())])
        body.gradient = Tensor(repeating: 1, shape: [3])
        head.clearGradient()
        try o.step()
        #expect(head.value == Tensor(repeating: 2, shape: [2]) && o.stepCount(ofGroup: "head") == 0)
        #expect(body.value != Tensor(repeating: 1, shape: [3]) && o.stepCount(ofGroup: "body") == 1)
        // The body group keeps the optimizer's default (.zero): without a gradient it still decays.
        body.clearGradient()
        let b = body.value
        try o.step()
        #expect(body.value != b && o.stepCount(ofGroup: "body") == 2)
    }

    @Test func gradientPresenceFollowsWritesAndClears() throws {
        let p = Parameter(Tensor(repeating: 0, shape: [2]))
        #expect(!p.hasGradient)
        p.gradient.withUnsafeMutableBufferPointer { $0[0] += 1 }   // what a backward pass does
        #expect(p.hasGradient)
        p.clearGradient()
        #expect(!p.hasGradient && p.gradient.scalars == [0, 0])
        p.zeroGradient()
        #expect(p.hasGradient, "zeroGradient is set_to_none=False: a zero gradient is a gradient")
        _ = p.gradient.scalars   // reading does not count as a write
        p.clearGradient()
        _ = p.gradient.scalars
        #expect(!p.hasGradient)
    }
}
