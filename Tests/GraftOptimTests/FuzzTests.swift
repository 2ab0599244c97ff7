import Testing
import GraftOptim
import GraftTensor

/// A seeded, bounded fuzz test: random chains of transforms over random shapes (empty and
/// one-element tensors included) and gradient scales from 1e-30 to 1e30, zeros, NaN and
/// Inf. Checks: no crash, finite parameters after steps with finite gradients, and the
/// non-finite policy (throw or skip) leaves parameters and optimizer state untouched.
@Suite struct FuzzTests {
    static let scales: [Float] = [0, 1e-30, 1e-10, 1e-3, 1, 1e3, 1e10, 1e30]

    static func randomShape(_ g: inout SeededGenerator) -> [Int] {
        (0..<g.next(below: 4)).map { _ in g.next(below: 6) }  // rank 0…3, dims 0…5
    }

    static func randomMember(_ g: inout SeededGenerator, _ kinds: inout [Int]) throws -> AnyGradientTransform {
        let kind = g.next(below: 10)
        kinds.append(kind)
        switch kind {
        case 0: return AnyGradientTransform(try Momentum(momentum: g.nextFloat() * 0.99, nesterov: false))
        case 1: return AnyGradientTransform(try ScaleByAdam(amsgrad: g.next(below: 2) == 0))
        case 2: return AnyGradientTransform(try AddDecayedWeights(.constant(g.nextFloat())))
        case 3: return AnyGradientTransform(try AnchorDecay(alpha: g.nextFloat(), beta: g.nextFloat()))
        case 4: return AnyGradientTransform(try DirectionalProjection(omega: .learned(mu: g.nextFloat() * 10),
                                                                      hypergradient: g.next(below: 2) == 0 ? .rows : .flat))
        case 5: return AnyGradientTransform(try DirectionalProjection(omega: .fixed(g.nextFloat())))
        case 6: return AnyGradientTransform(try ClipByGlobalNorm(maxNorm: 0.1 + g.nextFloat()))
        case 7: return AnyGradientTransform(try TrainableProjection(k: g.nextFloat(), mu: g.nextFloat() * 0.1))
        case 8: return AnyGradientTransform(try SelectiveProjectionDecay(lambda: g.nextFloat()))
        default: return AnyGradientTransform(try Scale(g.nextFloat() * 4 - 2))
        }
    }

    static func randomAggregator(_ g: inout SeededGenerator) -> AnyGradientAggregator {
        switch g.next(below: 4) {
        case 0: return AnyGradientAggregator(SumAggregator())
        case 1: return AnyGradientAggregator(MeanAggregator())
        case 2: return AnyGradientAggregator(PCGrad(granularity: .global, order: .shuffled(seed: g.next())))
        default: return AnyGradientAggregator(PCGrad(granularity: .tensor, reduction: .mean))
        }
    }

    @Test func randomChainsNeverCorruptState() throws {
        var g = SeededGenerator(seed: 2026)
        var finiteSteps = 0, rejected = 0, skipped = 0
        for case_ in 0..<600 {
            let params = (0..<(1 + g.next(below: 3))).map { i -> NamedParameter in
                let anchor: AnchorKind = [.initial, .zero, .none][g.next(below: 3)]
                return NamedParameter(path: "p\(i)", parameter: Parameter(Tensor.randomNormal(shape: randomShapeOf(&g), generator: &g), anchor: anchor))
            }
            var kinds: [Int] = []
            var members = try (0..<g.next(below: 4)).map { _ in try Self.randomMember(&g, &kinds) }
            members.append(AnyGradientTransform(try ScaleByLearningRate(.constant(g.nextFloat()))))
            if g.next(below: 3) == 0 { members.append(AnyGradientTransform(try TrainableProjection())) }
            let policy: NonFinitePolicy = g.next(below: 2) == 0 ? .throw : .skipStep
            let optimizer = try Optimizer(parameters: params, groups: [
                try ParameterGroup("all", selecting: .all, aggregator: Self.randomAggregator(&g), transform: SequenceTransform(members)),
            ], nonFinitePolicy: policy)
            let k = 1 + g.next(below: 3)
            for _ in 0..<5 {
                let scale = Self.scales[g.next(below: Self.scales.count)]
                var poisoned = false
                var objectives: [[String: Tensor]] = []
                for _ in 0..<k {
                    var o: [String: Tensor] = [:]
                    for p in params {
                        var t = Tensor.randomNormal(shape: p.parameter.shape, generator: &g) * scale
                        if t.count > 0 && g.next(below: 12) == 0 {
                            t[flat: g.next(below: t.count)] = [Float.nan, .infinity, -.infinity][g.next(below: 3)]
                            poisoned = true
                        }
                        o[p.path] = t
                    }
                    objectives.append(o)
                }
                let before = params.map(\.parameter.value)
                let snapshot = try optimizer.snapshot()
                let skippedBefore = optimizer.skippedSteps
                do {
                    try optimizer.step(objectives: objectives)
                    if poisoned {
                        #expect(policy == .skipStep, "case \(case_): a poisoned step must throw under .throw")
                        #expect(optimizer.skippedSteps == skippedBefore + 1)
                        skipped += 1
                    } else {
                        finiteSteps += 1
                        for p in params {
                            #expect(p.parameter.value.isFinite, "case \(case_) kinds \(kinds) k \(k): \(p.path) \(p.parameter.shape) \(p.parameter.anchor) became non-finite at scale \(scale)")
                        }
                    }
                } catch let e as OptimizerError {
                    guard case .nonFiniteGradient = e, poisoned, policy == .throw else {
                        Issue.record("case \(case_): unexpected error \(e)")
                        continue
                    }
                    rejected += 1
                }
                if poisoned {
                    #expect(params.map(\.parameter.value) == before, "case \(case_): parameters changed on a poisoned step")
                    let after = try optimizer.snapshot()
                    #expect(after.groups == snapshot.groups && after.anchors == snapshot.anchors && after.stepCount == snapshot.stepCount,
                            "case \(case_) kinds \(kinds) k \(k) policy \(policy): state changed on a poisoned step")
                }
            }
        }
        #expect(finiteSteps > 1500 && rejected > 30 && skipped > 30, "coverage: \(finiteSteps) finite, \(rejected) rejected, \(skipped) skipped")
    }
}

private func randomShapeOf(_ g: inout SeededGenerator) -> [Int] { FuzzTests.randomShape(&g) }
