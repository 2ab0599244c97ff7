import Foundation
import Testing
import GraftOptim
import GraftTensor

/// Explicit anchors θ0 ≠ θ for the anchored problem parameters (so DiGraP, FTP and SPD act from t = 1).
func shiftedAnchors(_ params: [NamedParameter], by shift: Float = 0.7) -> [String: Tensor] {
    var g = SeededGenerator(seed: 99)
    return Dictionary(uniqueKeysWithValues: params.filter { $0.parameter.anchor != .none }.map { p in
        (p.path, p.parameter.value.map { x in x - shift * g.nextFloat(in: -1, 1) })
    })
}

/// Properties of the robust fine-tuning transforms (issue 5).
@Suite("Robust methods: properties")
struct RobustPropertyTests {
    // MARK: DiGraP

    @Test("ω = 0 (fixed, or learned with μ = 0) is plain Adam", arguments: [ProjectionPlacement.gradient, .update])
    func digrapOmegaZeroIsAdam(_ placement: ProjectionPlacement) throws {
        let params = makeProblemParameters()
        let anchors = shiftedAnchors(params)
        let adam = try runOneGroup(try Recipes.adam(learningRate: 0.01), params: makeProblemParameters(), steps: 6, anchors: anchors)
        for omega in [DirectionalProjection.Omega.fixed(0), .learned(mu: 0)] {
            let digrap = try runOneGroup(try Recipes.digrap(learningRate: 0.01, omega: omega, placement: placement),
                                         params: makeProblemParameters(), steps: 6, anchors: anchors)
            #expect(digrap == adam, "\(omega), \(placement)")
        }
        // Sanity: ω = 1 does change the result on this problem.
        let projected = try runOneGroup(try Recipes.digrap(learningRate: 0.01, omega: .fixed(1), placement: placement),
                                        params: makeProblemParameters(), steps: 6, anchors: anchors)
        #expect(projected != adam)
    }

    /// ω = 1 removes every component that moves θ away from θ0. The running update before
    /// `ScaleByLearningRate` is gradient-like (θ moves by −α·ĝ), so "no component moving away"
    /// is `<ĝ, θ − θ0> ≥ −tol`, and after the sign flip `<Δθ, θ − θ0> ≤ tol`.
    @Test func digrapOmegaOneProjectedGradientNeverPointsAwayFromTheAnchor() throws {
        let params = makeProblemParameters()
        let anchors = shiftedAnchors(params)
        let harness = Harness(infos: params.map { ParameterInfo(path: $0.path, shape: $0.parameter.shape, anchor: $0.parameter.anchor) },
                              values: params.map { $0.parameter.value.scalars },
                              anchorValues: params.map { anchors[$0.path]?.scalars })
        let projection = try DirectionalProjection(omega: .fixed(1))
        let lr = try ScaleByLearningRate(0.05)
        var state = projection.makeState(for: harness.infos)
        var lrState = lr.makeState(for: harness.infos)
        var conflicts = 0
        for t in 1...12 {
            let g = makeGradients(for: params, step: t)
            harness.load(g)
            let group = harness.group(step: t)
            projection.update(group, state: state)
            for k in 0..<2 {  // the anchored tensors
                let c = minus(harness.value(k), anchors[harness.infos[k].path]!.scalars)
                let raw = g[harness.infos[k].path]!.scalars
                let projected = harness.update(k)
                let d = dot(raw, c), dHat = dot(projected, c)
                let scale = (dot(projected, projected) * dot(c, c)).squareRoot() + 1e-12
                if d < 0 {
                    conflicts += 1
                    #expect(abs(dHat) <= 1e-5 * scale + 1e-7, "t = \(t): <ĝ, c> = \(dHat) after projecting d = \(d)")
                } else {
                    #expect(projected == raw, "t = \(t): a non-conflicting gradient must pass unchanged")
                }
                #expect(dHat >= -1e-5 * scale - 1e-7)
            }
            lr.update(group, state: lrState)
            for k in 0..<2 {
                let c = minus(harness.value(k), anchors[harness.infos[k].path]!.scalars)
                let step = harness.update(k)
                let scale = (dot(step, step) * dot(c, c)).squareRoot() + 1e-12
                #expect(dot(step, c) <= 1e-5 * scale + 1e-7, "t = \(t): Δθ moves away from θ0")
            }
            harness.apply()
        }
        #expect(conflicts >= 4, "the random gradients should conflict with θ − θ0 at several steps (\(conflicts))")
    }

    /// The same property end to end: SGD + DiGraP (ω = 1) and Adam + DiGraP with update
    /// placement never move θ away from θ0; plain SGD does, on the same gradients.
    @Test func digrapOmegaOneStepsNeverMoveAwayFromTheAnchor() throws {
        let sgdDigrap = try chain {
            try DirectionalProjection(omega: .fixed(1))
            try ScaleByLearningRate(0.05)
        }
        let cases: [(String, AnyGradientTransform, Bool)] = [
            ("sgd+digrap", AnyGradientTransform(sgdDigrap), true),
            ("adam, update placement", AnyGradientTransform(try Recipes.digrap(learningRate: 0.05, omega: .fixed(1), placement: .update)), true),
            ("plain sgd", AnyGradientTransform(try Recipes.sgd(learningRate: 0.05)), false),
        ]
        for (name, transform, holds) in cases {
            let params = makeProblemParameters()
            let anchors = shiftedAnchors(params)
            let optimizer = try Optimizer(parameters: params, groups: [ParameterGroup("g", selecting: .all, transform: transform)], anchors: anchors)
            var worst = -Double.infinity
            for t in 1...12 {
                let before = snapshot(params)
                try optimizer.step(objectives: [makeGradients(for: params, step: t)])
                for p in params.prefix(2) {
                    let c = minus(before[p.path]!, anchors[p.path]!.scalars)
                    let step = minus(p.parameter.value.scalars, before[p.path]!)
                    let scale = (dot(step, step) * dot(c, c)).squareRoot() + 1e-12
                    worst = max(worst, dot(step, c) / scale)
                }
            }
            if holds { #expect(worst <= 1e-4, "\(name): normalised <Δθ, θ − θ0> reached \(worst)") }
            else { #expect(worst > 1e-2, "\(name) should move away from θ0 at some step (\(worst))") }
        }
    }

    @Test("a non-conflicting gradient passes unchanged", arguments: [Float(0.5), 1, 3])
    func digrapNonConflictingPassesUnchanged(_ omega: Float) throws {
        let info = ParameterInfo(path: "w", shape: [2, 2], anchor: .initial)
        // c = θ − θ0 = [1, 0, 0, 2]; g1: d > 0; g2: d = 0 exactly (orthogonal); g3: d < 0.
        let harness = Harness(infos: [info], values: [[2, 1, 1, 3]], anchorValues: [[1, 1, 1, 1]])
        let transform = try DirectionalProjection(omega: .fixed(omega))
        let state = transform.makeState(for: [info])
        for g: [Float] in [[1, 5, -7, 0.5], [0, 4, -3, 0]] {
            harness.load(["w": tensor([2, 2], g)])
            transform.update(harness.group(step: 1), state: state)
            #expect(harness.update(0) == g)
        }
        #expect(digrapState(state).projectedSteps == 0)
        let g3: [Float] = [-1, 5, 0, -1]  // d = −3, ‖c‖² = 5
        harness.load(["w": tensor([2, 2], g3)])
        transform.update(harness.group(step: 2), state: state)
        let k = omega * (-3 / 5)
        let expected = [g3[0] - k * 1, g3[1], g3[2], g3[3] - k * 2]
        #expect(maxDifference(harness.update(0), expected) <= 1e-6)
        #expect(digrapState(state).projectedSteps == 1 && digrapState(state).lastConflict)
    }

    /// θ = θ0 at the first step: c = 0, so nothing is projected (no 0/0) and the step is Adam's.
    @Test("θ = θ0 at the first step does not project", arguments: ["fixed", "learned", "learned-flat", "update"])
    func digrapFirstStepAtTheAnchor(_ variant: String) throws {
        func digrap() throws -> AnyGradientTransform {
            switch variant {
            case "fixed": return AnyGradientTransform(try Recipes.digrap(learningRate: 0.01, omega: .fixed(1)))
            case "learned": return AnyGradientTransform(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 2)))
            case "learned-flat": return AnyGradientTransform(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 2), hypergradient: .flat))
            default: return AnyGradientTransform(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 2), placement: .update))
            }
        }
        let adamOneStep = try runOneGroup(try Recipes.adam(learningRate: 0.01), params: makeProblemParameters(), steps: 1)
        let params = makeProblemParameters()
        let optimizer = try Optimizer(parameters: params, groups: [ParameterGroup("g", selecting: .all, transform: try digrap())])
        try optimizer.step(objectives: [makeGradients(for: params, step: 1)])
        #expect(snapshot(params) == adamOneStep)
        let state = try #require(optimizer.state(of: "digrap", for: "body.weight", as: DirectionalProjection.TensorState.self))
        #expect(state.projectedSteps == 0 && state.lastCosine == 0 && !state.lastConflict)
        if let p = state.previousDirection { #expect(p.scalars.allSatisfy { $0 == 0 }) }
        for t in 2...8 { try optimizer.step(objectives: [makeGradients(for: params, step: t)]) }
        #expect(params.allSatisfy { $0.parameter.value.isFinite })
        let later = try #require(optimizer.state(of: "digrap", for: "body.bias", as: DirectionalProjection.TensorState.self))
        #expect(later.omega.isFinite && later.lastHypergradient.isFinite)
    }

    /// The rows hypergradient at t = 2 with a zero row in g and a zero row in p_1 (c's row was 0):
    /// h is the sum of the other rows' cosines (zero rows contribute 0), and ω follows the
    /// ω-Adam rule with the global step t = 2 in the bias corrections.
    @Test("rows hypergradient with zero rows", arguments: [DirectionalProjection.Hypergradient.rows, .flat])
    func digrapZeroRows(_ mode: DirectionalProjection.Hypergradient) throws {
        let info = ParameterInfo(path: "w", shape: [3, 4], anchor: .initial)
        let theta: [Float] = [0.5, -1, 2, 0.3, 1, 1, 1, 1, -0.4, 0.8, 1.2, -2]
        var anchor = theta.map { $0 - 0.25 }
        for i in 4..<8 { anchor[i] = theta[i] }          // row 1 of c is zero
        anchor[8] = theta[8] + 1                          // row 2 of c: [-1, .25, .25, .25]
        let harness = Harness(infos: [info], values: [theta], anchorValues: [anchor])
        let mu: Float = 0.5
        let transform = try DirectionalProjection(omega: .learned(mu: mu), hypergradient: mode)
        let state = transform.makeState(for: [info])
        let g1: [Float] = [-1, -1, -1, -1, 3, -2, 1, 0, 2, 0, 0, 0]
        harness.load(["w": tensor([3, 4], g1)])
        transform.update(harness.group(step: 1), state: state)
        #expect(digrapState(state).omega == 0)
        let c1 = minus(theta, anchor)
        let d1 = dot(g1, c1)
        #expect(d1 < 0)
        let p1 = c1.map { Double($0) * d1 / (dot(c1, c1) + 1e-8) }
        #expect(maxDifference(digrapState(state).previousDirection!.scalars, p1.map(Float.init)) <= 1e-6)
        harness.apply()

        // g2: row 0 zero, row 1 arbitrary (p's row 1 is zero), row 2 = −p1's row 2.
        var g2 = [Float](repeating: 0, count: 12)
        g2[4] = 1; g2[5] = -3
        for i in 8..<12 { g2[i] = -Float(p1[i]) }
        harness.load(["w": tensor([3, 4], g2)])
        transform.update(harness.group(step: 2), state: state)

        func cosine(_ x: ArraySlice<Double>, _ y: ArraySlice<Double>) -> Double {
            let xy = zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
            let xx = x.reduce(0) { $0 + $1 * $1 }.squareRoot(), yy = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return xy / (max(xx, 1e-12) * max(yy, 1e-12))
        }
        let g2d = g2.map(Double.init)
        let h = mode == .rows
            ? (0..<3).reduce(0.0) { $0 + cosine(g2d[($1 * 4)..<($1 * 4 + 4)], p1[($1 * 4)..<($1 * 4 + 4)]) }
            : cosine(g2d[...], p1[...])
        if mode == .rows { #expect(abs(h + 1) < 1e-6, "only row 2 contributes, with cosine −1") }
        #expect(abs(Double(digrapState(state).lastHypergradient) - h) <= 1e-5, "h = \(digrapState(state).lastHypergradient), expected \(h)")
        let mHat = 0.1 * h / (1 - 0.9 * 0.9), vHat = 0.001 * h * h / (1 - 0.999 * 0.999)
        let omega = min(max(-Double(mu) * mHat / (vHat.squareRoot() + 1e-8), 0), 1)
        #expect(abs(Double(digrapState(state).omega) - omega) <= 1e-5, "ω = \(digrapState(state).omega), expected \(omega)")
        #expect(digrapState(state).omega > 0)
        #expect(harness.update(0).allSatisfy { $0.isFinite })
    }

    /// Rank-1 tensors: `.rows` is the flattened cosine, so both modes agree bitwise; on a matrix they differ.
    @Test func digrapRankOneRowsEqualsFlat() throws {
        func run(_ mode: DirectionalProjection.Hypergradient, shape: [Int]) throws -> ([Float], DirectionalProjection.TensorState) {
            let p = named("v", randomTensor(shape, seed: 4))
            let anchors = ["v": p.parameter.value.map { x in x * 0.5 }]
            let o = try Optimizer(parameters: [p], groups: [ParameterGroup("g", selecting: .all,
                transform: try Recipes.digrap(learningRate: 0.05, omega: .learned(mu: 1), hypergradient: mode))], anchors: anchors)
            for t in 1...8 { try o.step(objectives: [["v": randomTensor(shape, seed: 500 + UInt64(t))]]) }
            return (p.parameter.value.scalars, o.state(of: "digrap", for: "v", as: DirectionalProjection.TensorState.self)!)
        }
        let rows = try run(.rows, shape: [12]), flat = try run(.flat, shape: [12])
        #expect(rows.0 == flat.0 && rows.1 == flat.1)
        #expect(rows.1.lastHypergradient != 0 && abs(rows.1.lastHypergradient) <= 1, "a rank-1 h is one cosine")
        let matrixRows = try run(.rows, shape: [3, 4]), matrixFlat = try run(.flat, shape: [3, 4])
        #expect(matrixRows.1.lastHypergradient != matrixFlat.1.lastHypergradient)
    }

    /// A provided gradient equal to the training gradient gives the training-source result exactly.
    @Test func digrapProvidedSourceEqualsTrainingWhenGivenTheSameGradient() throws {
        func run(_ source: DirectionalProjection.HypergradientSource) throws -> [String: [Float]] {
            let params = makeProblemParameters()
            let o = try Optimizer(parameters: params, groups: [ParameterGroup("g", selecting: .all,
                transform: try Recipes.digrap(learningRate: 0.05, omega: .learned(mu: 1), source: source))], anchors: shiftedAnchors(params))
            for t in 1...6 {
                let g = makeGradients(for: params, step: t)
                try o.step(objectives: [g], providedGradients: source == .provided ? g : nil)
            }
            return snapshot(params)
        }
        #expect(try run(.provided) == run(.training))
    }

    // MARK: PCGrad

    /// Runs `aggregator` on objectives given as `[objective][parameter] = values` for `steps` steps
    /// (the same objectives each step) and returns the last aggregate per parameter.
    func aggregate<A: GradientAggregator>(_ aggregator: A, _ objectives: [[[Float]]], steps: Int = 1) -> (out: [[Float]], state: A.State) {
        let infos = objectives[0].indices.map { ParameterInfo(path: "p\($0)", shape: [objectives[0][$0].count], anchor: .none) }
        var state = aggregator.makeState(for: infos)
        let inputs = objectives.map { $0.map { v -> UnsafeMutableBufferPointer<Float> in
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: v.count); _ = b.initialize(from: v); return b } }
        let outputs = infos.map { info -> UnsafeMutableBufferPointer<Float> in
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: info.count); b.initialize(repeating: .nan); return b }
        defer { for b in inputs.joined() { b.deallocate() }; for b in outputs { b.deallocate() } }
        for t in 1...steps {
            aggregator.aggregate(inputs.map { $0.map { UnsafeBufferPointer($0) } }, into: outputs, state: &state, step: StepInfo(step: t))
        }
        return (outputs.map { Array($0) }, state)
    }

    static let pcgradVariants: [PCGrad] = [
        PCGrad(), PCGrad(granularity: .tensor), PCGrad(reduction: .mean), PCGrad(order: .shuffled(seed: 7)),
    ]

    @Test("PCGrad without conflict is the sum (or mean)", arguments: pcgradVariants.indices)
    func pcgradNoConflictIsTheSum(_ variant: Int) {
        let pc = Self.pcgradVariants[variant]
        // Non-negative entries: every pairwise dot product is ≥ 0, globally and per tensor.
        let objectives: [[[Float]]] = (0..<3).map { k in
            [[1, 2, 0.5, Float(k)], [0.25 * Float(k + 1), 3]]
        }
        let plain: [[Float]] = pc.reduction == .mean ? aggregate(MeanAggregator(), objectives).out : aggregate(SumAggregator(), objectives).out
        let (out, state) = aggregate(pc, objectives)
        #expect(out == plain)
        #expect(pc.telemetry(state, index: 0)["projections"] == 0)
    }

    @Test("PCGrad of two exactly opposed gradients is zero", arguments: [PCGrad.Granularity.global, .tensor])
    func pcgradOpposedGradientsCancel(_ granularity: PCGrad.Granularity) {
        let g: [[Float]] = [[0.3, -1.7, 2.2, 0.01], [5, -0.5]]
        let (out, state) = aggregate(PCGrad(granularity: granularity), [g, g.map { $0.map { -$0 } }])
        #expect(out.allSatisfy { $0.allSatisfy { abs($0) <= 1e-7 } }, "\(out)")
        #expect(PCGrad().telemetry(state, index: 0)["projections"] == 2)
        #expect(PCGrad().telemetry(state, index: 1)["last_projections"] == 2)
    }

    @Test func pcgradFollowsTheRule() {
        // Three conflicting objectives, global granularity, fixed order; checked against the rule in Double.
        let objectives: [[[Float]]] = [
            [[1, 0, 2], [0.5]], [[-2, 1, 0.5], [1]], [[0.3, -3, -1], [-2]],
        ]
        let flat = objectives.map { $0.joined().map(Double.init) }
        func d(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var expected = [Double](repeating: 0, count: 4)
        for i in 0..<3 {
            var gi = flat[i]
            for j in 0..<3 where j != i {
                let o = d(gi, flat[j])
                if o < 0 { gi = zip(gi, flat[j]).map { $0 - o / d(flat[j], flat[j]) * $1 } }
            }
            expected = zip(expected, gi).map(+)
        }
        let out = aggregate(PCGrad(), objectives).out.joined().map(Double.init)
        #expect(zip(out, expected).allSatisfy { abs($0 - $1) <= 1e-5 }, "\(out) vs \(expected)")
        #expect(zip(out, flat.reduce([0, 0, 0, 0]) { zip($0, $1).map(+) }).contains { abs($0 - $1) > 1e-3 },
                "the objectives conflict, so PCGrad should differ from the sum")
    }

    @Test func pcgradTwoObjectivesDoNotDependOnOrder() {
        var gen = SeededGenerator(seed: 21)
        for _ in 0..<5 {
            let a: [[Float]] = [(0..<6).map { _ in gen.nextNormal() }, (0..<3).map { _ in gen.nextNormal() }]
            let b: [[Float]] = [(0..<6).map { _ in gen.nextNormal() }, (0..<3).map { _ in gen.nextNormal() }]
            for granularity in [PCGrad.Granularity.global, .tensor] {
                let reference = aggregate(PCGrad(granularity: granularity), [a, b]).out
                #expect(aggregate(PCGrad(granularity: granularity), [b, a]).out == reference)
                for seed: UInt64 in [1, 2, 3] {
                    #expect(aggregate(PCGrad(granularity: granularity, order: .shuffled(seed: seed)), [a, b], steps: 3).out == reference)
                }
            }
        }
    }

    @Test func pcgradShuffledOrderIsDeterministicForASeed() {
        var gen = SeededGenerator(seed: 8)
        let objectives: [[[Float]]] = (0..<5).map { _ in [(0..<8).map { _ in gen.nextNormal() }] }
        let fixed = aggregate(PCGrad(), objectives).out
        var differs = false
        for seed: UInt64 in 1...6 {
            let first = aggregate(PCGrad(order: .shuffled(seed: seed)), objectives, steps: 4).out
            let second = aggregate(PCGrad(order: .shuffled(seed: seed)), objectives, steps: 4).out
            #expect(first == second, "seed \(seed)")
            if first != fixed { differs = true }
        }
        #expect(differs, "with five conflicting objectives some shuffled order should change the result")
    }

    // MARK: L2-SP, FTP, SPD

    @Test("L2-SP with α = β = 0 is the plain step rule", arguments: [StepRule.sgd(momentum: 0.9, weightDecay: 0.01), .adam(amsgrad: true), .adamW()])
    func l2spZeroIsThePlainRule(_ base: StepRule) throws {
        let anchors = shiftedAnchors(makeProblemParameters())
        let plain = try runOneGroup(try base.transform(learningRate: 0.05), params: makeProblemParameters(), steps: 5, anchors: anchors)
        let l2sp = try runOneGroup(try Recipes.l2sp(learningRate: 0.05, alpha: 0, beta: 0, base: base), params: makeProblemParameters(),
                                   steps: 5, anchors: anchors)
        #expect(l2sp == plain)
        // β alone changes only the unanchored head; α alone only the anchored tensors.
        let headOnly = try runOneGroup(try Recipes.l2sp(learningRate: 0.05, alpha: 0, beta: 0.5, base: base), params: makeProblemParameters(),
                                       steps: 5, anchors: anchors)
        #expect(headOnly["body.weight"] == plain["body.weight"] && headOnly["head.weight"] != plain["head.weight"])
        let bodyOnly = try runOneGroup(try Recipes.l2sp(learningRate: 0.05, alpha: 0.5, beta: 0, base: base), params: makeProblemParameters(),
                                       steps: 5, anchors: anchors)
        #expect(bodyOnly["head.weight"] == plain["head.weight"] && bodyOnly["body.weight"] != plain["body.weight"])
    }

    @Test func l2spPullsTowardTheAnchor() throws {
        // With a zero task gradient, anchor decay alone moves θ straight toward θ0: θ ← θ − αλ(θ − θ0).
        let p = named("w", tensor([2], [3, -1]))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("g", selecting: .all,
            transform: try Recipes.l2sp(learningRate: 0.5, alpha: 0.2))], anchors: ["w": tensor([2], [1, 1])])
        try o.step(objectives: [[:]])
        #expect(maxDifference(p.parameter.value.scalars, [3 - 0.1 * 2, -1 + 0.1 * 2]) <= 1e-6)
    }

    static let unanchoredCases: [String] = ["ftp-adam", "ftp-sgd", "ftp-adamw", "spd"]

    @Test("FTP and SPD leave unanchored parameters to the base step", arguments: unanchoredCases)
    func unanchoredParametersTakeTheBaseStep(_ name: String) throws {
        let (robust, base): (AnyGradientTransform, AnyGradientTransform)
        switch name {
        case "ftp-adam": (robust, base) = (.init(try Recipes.ftp(learningRate: 0.05, mu: 0.1)), .init(try Recipes.adam(learningRate: 0.05)))
        case "ftp-sgd": (robust, base) = (.init(try Recipes.ftp(learningRate: 0.05, k: 0.3, base: .sgd(momentum: 0.9))),
                                          .init(try Recipes.sgd(learningRate: 0.05, momentum: 0.9)))
        case "ftp-adamw": (robust, base) = (.init(try Recipes.ftp(learningRate: 0.05, base: .adamW(weightDecay: 0.1))),
                                            .init(try Recipes.adamW(learningRate: 0.05, weightDecay: 0.1)))
        default: (robust, base) = (.init(try Recipes.spd(learningRate: 0.05, lambda: 1)), .init(try Recipes.adam(learningRate: 0.05)))
        }
        let anchors = shiftedAnchors(makeProblemParameters())
        let a = try runOneGroup(robust, params: makeProblemParameters(), steps: 6, anchors: anchors)
        let b = try runOneGroup(base, params: makeProblemParameters(), steps: 6, anchors: anchors)
        #expect(a["head.weight"] == b["head.weight"], "the unanchored head must take exactly the base step")
        #expect(a["body.weight"] != b["body.weight"], "the anchored tensors should be changed by \(name)")
    }

    @Test func ftpFirstStepReturnsToTheAnchor() throws {
        // γ = 1e-8 at t = 1 pulls an anchored tensor (almost exactly) back to θ0; a zero anchor zeroes it.
        let params = [named("w", randomTensor([2, 3], seed: 1)), named("lora", randomTensor([3], seed: 2), anchor: .zero)]
        let anchors = ["w": randomTensor([2, 3], seed: 3)]
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("g", selecting: .all, transform: try Recipes.ftp(learningRate: 0.1))],
                              anchors: anchors)
        try o.step(objectives: [["w": randomTensor([2, 3], seed: 4), "lora": randomTensor([3], seed: 5)]])
        #expect(maxDifference(params[0].parameter.value.scalars, anchors["w"]!.scalars) <= 1e-6)
        #expect(params[1].parameter.value.scalars.allSatisfy { abs($0) <= 1e-6 })
        #expect(o.telemetry(for: "w")["gamma"] == Double(Float(1e-8)))
    }

    /// FTP's γ at t = 2 against the rule: `gγ = Σ_rows <g_row, ĉ_{1,row}> / N_{1,row}`, scaled by k
    /// only when positive, one Adam step (lr μ, global t = 2), clamp to [1e-8, max N_2]; then
    /// `θ ← θ0 + clamp(γ / N, 0, 1) ĉ` per row. A large μ reaches the upper clamp.
    @Test("FTP γ follows the rule", arguments: [Float(0), 0.5, 1], [Float(0.05), 10])
    func ftpGammaFollowsTheRule(_ k: Float, _ mu: Float) throws {
        let info = ParameterInfo(path: "w", shape: [2, 3], anchor: .initial)
        let theta: [Float] = [0.5, -1, 2, 0.3, 1, -0.7], anchor: [Float] = [0.2, -0.5, 1.5, 0.1, 1.1, -0.2]
        for sign: Float in [-1, 1] {  // gγ < 0 (γ grows; k does not apply) and gγ > 0 (scaled by k)
            let harness = Harness(infos: [info], values: [theta], anchorValues: [anchor])
            let ftp = try TrainableProjection(k: k, mu: mu)
            let state = ftp.makeState(for: [info])
            // Step 1: the incoming update u1 (as after ScaleByLearningRate); γ = 1e-8.
            let u1: [Float] = [0.1, -0.2, 0.05, 0.3, 0.1, -0.1]
            harness.load(["w": tensor([2, 3], u1)])
            ftp.update(harness.group(step: 1), state: state)
            let chat1 = (0..<6).map { theta[$0] + u1[$0] - anchor[$0] }
            let n1 = (0..<2).map { r in (0..<3).reduce(Float(0)) { $0 + abs(chat1[r * 3 + $1]) } + 1e-8 }
            #expect(ftpState(state).gamma == 1e-8)
            harness.apply()
            let theta2 = harness.value(0)
            for i in 0..<6 { #expect(abs(theta2[i] - anchor[i]) <= 1e-6, "t = 1 returns to θ0") }

            // Step 2: g2 = sign · ĉ1 gives gγ = sign · Σ_rows ‖ĉ_row‖² / N_row.
            let g2 = chat1.map { sign * $0 }
            harness.load(["w": tensor([2, 3], g2)])
            ftp.update(harness.group(step: 2), state: state)
            var gg = 0.0
            for r in 0..<2 { gg += (0..<3).reduce(0.0) { $0 + Double(g2[r * 3 + $1]) * Double(chat1[r * 3 + $1]) } / Double(n1[r]) }
            #expect((gg > 0) == (sign > 0))
            if gg > 0 { gg *= Double(k) }
            let m = 0.1 * gg, v = 0.001 * gg * gg
            let step = Double(mu) * (m / (1 - 0.81)) / ((v / (1 - 0.999 * 0.999)).squareRoot() + 1e-8)
            let chat2 = (0..<6).map { theta2[$0] + g2[$0] - anchor[$0] }
            let n2 = (0..<2).map { r in (0..<3).reduce(Float(0)) { $0 + abs(chat2[r * 3 + $1]) } + 1e-8 }
            let gamma = min(max(1e-8 - step, 1e-8), Double(n2.max()!))
            #expect(abs(Double(ftpState(state).gamma) - gamma) <= 1e-7 + 1e-5 * gamma, "k = \(k), sign \(sign): γ = \(ftpState(state).gamma), expected \(gamma)")
            if sign < 0 { #expect(ftpState(state).gamma > 1e-3, "a negative γ-gradient grows γ whatever k is") }
            if sign < 0 && mu > 1 { #expect(Double(ftpState(state).gamma) == Double(n2.max()!), "γ is clamped to the largest N") }
            if sign > 0 { #expect(ftpState(state).gamma == 1e-8, "a positive γ-gradient can only shrink γ, which is clamped at 1e-8") }
            // θ3 = θ0 + clamp(γ / N, 0, 1) ĉ per row.
            let u = harness.update(0)
            for r in 0..<2 {
                let s = min(max(Float(gamma) / n2[r], 0), 1)
                for j in 0..<3 {
                    let i = r * 3 + j
                    #expect(abs(theta2[i] + u[i] - (anchor[i] + s * chat2[i])) <= 1e-6)
                }
            }
        }
    }

    /// k scales positive γ-gradients only, so k = 0 and k = 1 differ once such a gradient occurs.
    @Test func ftpKMattersOnlyThroughPositiveGradients() throws {
        func gamma(_ k: Float) throws -> Float {
            let params = makeProblemParameters()
            let o = try Optimizer(parameters: params, groups: [ParameterGroup("g", selecting: .all,
                transform: try Recipes.ftp(learningRate: 0.1, k: k, mu: 0.1, base: .sgd()))], anchors: shiftedAnchors(params))
            for t in 1...8 { try o.step(objectives: [makeGradients(for: params, step: t)]) }
            return o.state(of: "ftp", for: "body.weight", as: TrainableProjection.TensorState.self)!.gamma
        }
        let g0 = try gamma(0), g1 = try gamma(1)
        #expect(g0 != g1, "the run has positive γ-gradients, which k = 0 ignores")
    }

    // MARK: Anchors: LoRA adapters anchored at zero without a copy

    @Test func digrapLoRAAdaptersHaveNoAnchorCopy() throws {
        func parameters() -> [NamedParameter] {
            [named("enc.weight", randomTensor([3, 4], seed: 1)),
             named("enc.lora_a", randomTensor([2, 4], seed: 2, scale: 0.1), anchor: .zero),
             named("enc.lora_b", randomTensor([3, 2], seed: 3, scale: 0.1), anchor: .zero),
             named("head.bias", randomTensor([4], seed: 4), anchor: .none)]
        }
        let log = SlotProbeLog()
        let params = parameters()
        let optimizer = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all) {
            SlotProbe(log: log)
            try DirectionalProjection(omega: .learned(mu: 1)).named("digrap")
            try ScaleByAdam()
            try ScaleByLearningRate(0.05)
        }])
        for t in 1...4 { try optimizer.step(objectives: [makeGradients(for: params, step: t)]) }

        let byPath = Dictionary(grouping: log.entries, by: \.path)
        #expect(byPath.count == 4 && log.entries.count == 16)
        for entry in log.entries {
            switch entry.path {
            case "enc.weight": #expect(entry.anchor == .initial && entry.hasAnchorValues, "a pre-trained tensor keeps its θ0 copy")
            case "head.bias": #expect(entry.anchor == .none && !entry.hasAnchorValues)
            default: #expect(entry.anchor == .zero && !entry.hasAnchorValues, "\(entry.path): no θ0 buffer for a zero anchor")
            }
        }
        // The public view: a zero anchor reads as zeros, the initial anchor as the snapshot.
        #expect(optimizer.anchor(for: "enc.lora_a") == Tensor(zeros: [2, 4]))
        #expect(optimizer.anchor(for: "enc.weight") == parameters()[0].parameter.value)
        #expect(optimizer.anchor(for: "head.bias") == nil)

        // DiGraP acts on the adapters with c = θ: the same as an explicit all-zero anchor (a stored copy).
        let explicit = parameters()
        let withCopies = try Optimizer(parameters: explicit, groups: [ParameterGroup("all", selecting: .all,
            transform: try Recipes.digrap(learningRate: 0.05, omega: .learned(mu: 1)))],
            anchors: ["enc.lora_a": Tensor(zeros: [2, 4]), "enc.lora_b": Tensor(zeros: [3, 2])])
        for t in 1...4 { try withCopies.step(objectives: [makeGradients(for: explicit, step: t)]) }
        #expect(snapshot(params) == snapshot(explicit))
        let state = try #require(optimizer.state(of: "digrap", for: "enc.lora_a", as: DirectionalProjection.TensorState.self))
        #expect(state.isActive && state.projectedSteps > 0, "the adapter is projected toward 0 (projected \(state.projectedSteps))")
        #expect(optimizer.telemetry(for: "head.bias")["omega"] == nil)
    }

    @Test func anchorsAreSnapshotOnlyForGroupsThatUseThem() throws {
        let params = makeProblemParameters()
        let initial = params[0].parameter.value
        let optimizer = try Optimizer(parameters: params, groups: [
            try ParameterGroup("weights", selecting: .path("body.weight"), transform: try Recipes.l2sp(learningRate: 0.1, alpha: 1)),
            try ParameterGroup("rest", selecting: .all, transform: try Recipes.adam(learningRate: 0.1)),
        ])
        for t in 1...3 { try optimizer.step(objectives: [makeGradients(for: params, step: t)]) }
        // The snapshot is a copy: updating the parameter in place leaves θ0 as it was.
        #expect(optimizer.anchor(for: "body.weight") == initial)
        #expect(params[0].parameter.value != initial)
        #expect(optimizer.anchor(for: "body.bias") == nil, "Adam uses no anchor, so none is stored")
    }
}

/// ω learned from a configured start (issue 19): ω at t = 1 is the start, the clamp [0, κ]
/// holds, and a start outside it is refused.
@Suite("DiGraP: learned ω from a configured start")
struct LearnedOmegaStartTests {
    @Test func omegaStartsAtTheConfiguredValue() throws {
        let params = makeProblemParameters()
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all,
            transform: try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5, kappa: 1, initial: 1)))])
        let before = try #require(o.state(of: "digrap", for: "body.weight", as: DirectionalProjection.TensorState.self))
        #expect(before.omega == 1)
        try o.step(objectives: [makeGradients(for: params, step: 1)])
        let after1 = try #require(o.state(of: "digrap", for: "body.weight", as: DirectionalProjection.TensorState.self))
        #expect(after1.omega == 1, "ω is not updated at t = 1")
        for t in 2...6 { try o.step(objectives: [makeGradients(for: params, step: t)]) }
        let later = try #require(o.state(of: "digrap", for: "body.weight", as: DirectionalProjection.TensorState.self))
        #expect(later.omega >= 0 && later.omega <= 1)
        // Snapshot/restore carries ω and its moments.
        let snapshot = try o.snapshot()
        let (fresh, _) = (try Optimizer(parameters: makeProblemParameters(), groups: [ParameterGroup("all", selecting: .all,
            transform: try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5, kappa: 1, initial: 1)))]), 0)
        try fresh.restore(snapshot)
        #expect(fresh.state(of: "digrap", for: "body.weight", as: DirectionalProjection.TensorState.self) == later)
    }

    @Test func startOutsideTheClampIsRefused() {
        #expect(throws: OptimizerError.self) { try DirectionalProjection(omega: .learned(mu: 0.5, kappa: 1, initial: 1.5)) }
        #expect(throws: OptimizerError.self) { try DirectionalProjection(omega: .learned(mu: 0.5, initial: -0.1)) }
        #expect(throws: OptimizerError.self) { try DirectionalProjection(omega: .learned(mu: 0.5, initial: .nan)) }
    }
}
