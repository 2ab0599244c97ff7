import GraftBenchmarking
import GraftOptim
import Testing

/// Debug-build refusal through the injectable check, so both answers are exercised in any build.
@Suite("GraftBenchmarking: debug-build refusal")
struct BuildGuardTests {
    static let refusing = BuildGuard(isDebugBuild: { true })

    @Test("a guard that reports a debug build throws BenchmarkError.debugBuild")
    func refuses() {
        #expect(throws: BenchmarkError.debugBuild) { try Self.refusing.requireOptimizedBuild() }
        #expect(throws: Never.self) { try BuildGuard.allowingDebugBuilds.requireOptimizedBuild() }
        #expect(BenchmarkError.debugBuild.description.contains("debug build"))
    }

    @Test("the real guard answers as this build was compiled")
    func current() {
        #if DEBUG
        #expect(BuildGuard.current.isDebugBuild())
        #expect(throws: BenchmarkError.debugBuild) { try BuildGuard.current.requireOptimizedBuild() }
        #else
        #expect(!BuildGuard.current.isDebugBuild())
        #endif
    }

    @Test("run, run(on:) and comparisons refuse before doing any work")
    func entryPoints() throws {
        let layout = try ParameterLayout(shapes: [[8, 4]])
        var built = 0
        let bench = TransformBenchmark(name: "sgd", layout: layout, bytesPerParameter: .sgd, usesAnchors: false) {
            built += 1
            return try ParameterGroup("all", selecting: .all, transform: Recipes.sgd(learningRate: 0.1))
        }
        #expect(throws: BenchmarkError.debugBuild) { try bench.run(policy: .minimal, bandwidth: .none, buildGuard: Self.refusing) }
        let data = try LayoutData(layout, seed: 1)
        #expect(throws: BenchmarkError.debugBuild) { try bench.run(on: data, policy: .minimal, bandwidth: [], buildGuard: Self.refusing) }
        let comparison = try BenchmarkComparison(baseline: bench, candidate: bench)
        #expect(throws: BenchmarkError.debugBuild) { try comparison.run(policy: .minimal, bandwidth: .none, buildGuard: Self.refusing) }
        #expect(built == 0)
    }
}
