import GraftBenchmarking
import GraftOptim
import GraftTensor
import Testing

/// Tiny runs through the whole API with a minimal policy (debug builds allowed through the
/// injected guard: the numbers are meaningless, the fields are checked for sanity).
@Suite("GraftBenchmarking: end to end")
struct EndToEndTests {
    static let layout = try! ParameterLayout(name: "tiny", tensors: [TensorSpec(path: "w", shape: [64, 32]),
                                                                      TensorSpec(path: "b", shape: [32], anchored: false)])

    @Test("a TransformBenchmark run produces a consistent row")
    func single() throws {
        let bench = TransformBenchmark(name: "adam", transform: try Recipes.adam(learningRate: 1e-3), layout: Self.layout, bytesPerParameter: .adam,
                                       floor: FloorReference(name: "floor.test", nsPerParameter: 0.5))
        let policy = TimingPolicy(warmupSeconds: 0, warmupIterations: 3, roundSeconds: 0, rounds: 3)
        let r = try bench.run(policy: policy, bandwidth: .none, buildGuard: .allowingDebugBuilds)
        let n = Double(2080)
        #expect(r.row.id == "optimizer/adam/tiny/2080")
        #expect(r.row.parameters == 2080 && r.row.tensors == 2 && r.row.objectives == 1 && r.row.kind == "graft")
        #expect(r.timing.samples == 3 && r.timing.rounds == 3)
        #expect(r.nsPerParameter > 0 && r.nsPerParameter.isFinite)
        #expect(abs(r.nsPerParameter - r.timing.p50 / n) < 1e-9 * r.nsPerParameter)
        #expect(abs(r.gbPerSecond - 28 * n / r.timing.p50) < 1e-9 * r.gbPerSecond)
        #expect(abs((r.ratioToFloor ?? 0) - r.nsPerParameter / 0.5) < 1e-9 * r.nsPerParameter)
        #expect(r.ratioToTriad == nil && r.ratioToUpdate == nil)
        #expect(r.isFused == true)
        #expect(r.row.telemetry == ["fused": 1])
        #expect(r.machine?.loadAverageAtEnd != nil)
        let p = ["p0", "p50", "p90", "p100"].compactMap { r.nsPerParameter($0) }
        #expect(p.count == 4 && p == p.sorted())
    }

    @Test("the bandwidth probe gives the ×triad and ×update ratios")
    func bandwidth() throws {
        let bench = TransformBenchmark(name: "sgd", transform: try Recipes.sgd(learningRate: 0.1), layout: Self.layout, bytesPerParameter: .sgd)
        let r = try bench.run(policy: .minimal, bandwidth: .measure(bufferMegabytes: 1, policy: .minimal), buildGuard: .allowingDebugBuilds)
        #expect(r.bandwidth.filter { $0.threads == 1 }.map(\.kernel) == ["copy", "triad", "update"])
        let triad = try #require(MemoryProbe.best("triad", threads: bench.threads, in: r.bandwidth))
        #expect(abs((r.ratioToTriad ?? 0) - r.gbPerSecond / triad) < 1e-9 * r.gbPerSecond / triad)
        #expect(r.ratioToUpdate != nil)
    }

    @Test("a comparison measures both interleaved and reports the ratio with its spread")
    func comparison() throws {
        let adam = TransformBenchmark(name: "adam", transform: try Recipes.adam(learningRate: 1e-3), layout: Self.layout, bytesPerParameter: .adam)
        let adamw = TransformBenchmark(name: "adamw", transform: try Recipes.adamW(learningRate: 1e-3, weightDecay: 0.01),
                                       layout: Self.layout, bytesPerParameter: .adam)
        let policy = TimingPolicy(warmupSeconds: 0, warmupIterations: 3, roundSeconds: 0, rounds: 5)
        let c = try BenchmarkComparison(baseline: adam, candidate: adamw).run(policy: policy, bandwidth: .none, buildGuard: .allowingDebugBuilds)
        #expect(c.baseline.row.workload == "adam" && c.candidate.row.workload == "adamw")
        #expect(c.spread.rounds.count == 5 && c.spread.rounds.allSatisfy { $0 > 0 && $0.isFinite })
        #expect(c.spread.p10 <= c.spread.p50 && c.spread.p50 <= c.spread.p90)
        #expect(abs(c.ratio - c.candidate.nsPerParameter / c.baseline.nsPerParameter) < 1e-12)
        let report = c.report()
        #expect(report.optimizer.count == 2 && report.optimizer[1].telemetry["ratio_to_baseline"] == c.ratio)
        #expect(c.markdown().contains("| `adamw` |"))
    }

    @Test("PCGrad steps with K objectives through its aggregator")
    func objectives() throws {
        let recipe = try Recipes.pcgrad(learningRate: 1e-3, granularity: .global, base: .adam())
        let bench = TransformBenchmark(name: "pcgrad", transform: recipe.transform, aggregator: recipe.aggregator, layout: Self.layout, bytesPerParameter: .pcgrad(objectives: 3), objectives: 3)
        let r = try bench.run(policy: .minimal, bandwidth: .none, buildGuard: .allowingDebugBuilds)
        #expect(r.row.objectives == 3 && r.row.bytesPerParameter == 48)
    }

    @Test("a recipe from trace JSON benchmarks like the built-in; bad settings are typed errors")
    func recipesAndErrors() throws {
        let recipe = try TraceRecipe(json: #"{"method": "digrap", "lr": 1e-3, "mu": 0.01}"#)
        let bench = TransformBenchmark(name: "digrap", transform: recipe.transform, layout: Self.layout,
                                       bytesPerParameter: .digrap(learnedOmega: true, updatePlacement: false))
        #expect(bench.usesAnchors)
        let r = try bench.run(policy: .minimal, bandwidth: .none, buildGuard: .allowingDebugBuilds)
        #expect(r.row.bytesPerParameter == 52 && r.nsPerParameter > 0)
        #expect(throws: TraceError.self) { try TraceRecipe(json: #"{"method": "adam"}"#) }
        #expect(throws: TraceError.self) { try TraceRecipe(json: #"{"method": "adam", "lr": 1} trailing"#) }

        var bad = bench
        bad.threads = 0
        #expect(throws: BenchmarkError.invalidThreads(0)) { try bad.run(policy: .minimal, bandwidth: .none, buildGuard: .allowingDebugBuilds) }
        bad = bench
        bad.objectives = 5
        #expect(throws: BenchmarkError.invalidObjectives(5)) { try bad.run(policy: .minimal, bandwidth: .none, buildGuard: .allowingDebugBuilds) }
        let other = TransformBenchmark(name: "x", transform: recipe.transform, layout: try ParameterLayout(shapes: [[4]]),
                                       bytesPerParameter: .adam)
        #expect(throws: BenchmarkError.mismatchedComparison("layout")) { try BenchmarkComparison(baseline: bench, candidate: other) }
    }
}
