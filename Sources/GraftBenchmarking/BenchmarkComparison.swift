/// The spread of a ratio over rounds: percentiles of the per-round ratios
/// `candidate median / baseline median` (both measured in the same round, interleaved).
public struct RatioSpread: Sendable, Equatable {
    /// 10th percentile of the per-round ratios.
    public var p10: Double
    /// Median of the per-round ratios.
    public var p50: Double
    /// 90th percentile of the per-round ratios.
    public var p90: Double
    /// The per-round ratios, in round order.
    public var rounds: [Double]

    /// The spread of `ratios` (at least one).
    public init(ratios: [Double]) {
        let s = ratios.sorted()
        p10 = Statistics.percentile(sorted: s, 0.1)
        p50 = Statistics.percentile(sorted: s, 0.5)
        p90 = Statistics.percentile(sorted: s, 0.9)
        rounds = ratios
    }
}

/// Two transforms measured interleaved in one run — a custom transform against the built-in it
/// replaces, one recipe at two settings — on the same layout, the same data and the same
/// threads: each round runs both (round-robin, the first alternating; ``InterleavedSchedule``),
/// so drift and load from other processes hit both alike.
///
/// It reports both results and the ratio `candidate ns/param ÷ baseline ns/param` of the
/// medians over all samples, with its spread over rounds (``RatioSpread``): a ratio whose p10–p90
/// range contains 1 is not a difference this run can resolve.
public struct BenchmarkComparison {
    /// The reference (e.g. the built-in rule).
    public var baseline: TransformBenchmark
    /// The transform compared with it.
    public var candidate: TransformBenchmark

    /// A comparison of two benchmarks on the same layout and thread count.
    /// - Throws: `BenchmarkError.mismatchedComparison` when layouts or threads differ.
    public init(baseline: TransformBenchmark, candidate: TransformBenchmark) throws {
        guard baseline.layout == candidate.layout else { throw BenchmarkError.mismatchedComparison("layout") }
        guard baseline.threads == candidate.threads else { throw BenchmarkError.mismatchedComparison("threads") }
        self.baseline = baseline
        self.candidate = candidate
    }

    /// Measures both, interleaved.
    /// - Throws: `BenchmarkError.debugBuild` in a debug build (unless `buildGuard` allows it),
    ///   and what a step throws (naming the benchmark).
    public func run(policy: TimingPolicy = .comparison, bandwidth: BandwidthReference = .measure(),
                    buildGuard: BuildGuard = .current) throws -> BenchmarkComparisonResult {
        try buildGuard.requireOptimizedBuild()
        try baseline.validate()
        try candidate.validate()
        return try withThreads(baseline.threads) {
            var machine = MachineInfo.current()
            let probe = TransformBenchmark.probe(bandwidth, threads: baseline.threads)
            let data = try LayoutData(baseline.layout, seed: baseline.seed)
            let cases = [baseline, candidate]
            let prepared = try cases.map { try $0.prepare(data) }
            var current = 0
            let measured: InterleavedMeasurement
            do {
                measured = try measureInterleaved(policy, prepared.enumerated().map { index, p in
                    { current = index; try p.step() }
                })
            } catch {
                throw BenchmarkError.stepFailed(benchmark: cases[current].name, underlying: "\(error)")
            }
            machine.loadAverageAtEnd = MachineInfo.loadAverage()
            var results = cases.indices.map {
                cases[$0].result(prepared[$0], data, timing: measured.statistics[$0], policy: policy, bandwidth: probe,
                                floor: cases[$0].floor)
            }
            for i in results.indices { results[i].machine = machine }
            let ratios = zip(measured.roundMedians[1], measured.roundMedians[0]).map { $0 / $1 }
            return BenchmarkComparisonResult(baseline: results[0], candidate: results[1], spread: RatioSpread(ratios: ratios))
        }
    }
}

/// What a ``BenchmarkComparison`` measured.
public struct BenchmarkComparisonResult: Sendable {
    /// The baseline's result.
    public var baseline: BenchmarkResult
    /// The candidate's result.
    public var candidate: BenchmarkResult
    /// Per-round ratios (candidate ÷ baseline) and their percentiles.
    public var spread: RatioSpread

    /// `candidate ns/param ÷ baseline ns/param` at the medians over all samples (> 1: the
    /// candidate is slower).
    public var ratio: Double { candidate.nsPerParameter / baseline.nsPerParameter }

    /// Both rows as one `graft-bench/1` document; the candidate's telemetry also carries the
    /// comparison: `ratio_to_baseline` (medians over all samples) and `ratio_p10`, `ratio_p50`,
    /// `ratio_p90` (over the per-round ratios).
    public func report() -> BenchmarkReport {
        var candidate = self.candidate
        candidate.row.telemetry["ratio_to_baseline"] = ratio
        candidate.row.telemetry["ratio_p10"] = spread.p10
        candidate.row.telemetry["ratio_p50"] = spread.p50
        candidate.row.telemetry["ratio_p90"] = spread.p90
        return BenchmarkResult.report([baseline, candidate])
    }

    /// A Markdown table: one row per case (ns/param p50 and p90, GB/s, ×update, fused) and the
    /// ratio to the baseline with the per-round median and p10–p90.
    public func markdown() -> String {
        func row(_ r: BenchmarkResult, ratio: String) -> [String] {
            ["`\(r.row.workload)`", Format.fixed(r.nsPerParameter, 3), Format.fixed(r.nsPerParameter("p90") ?? .nan, 3),
             Format.fixed(r.gbPerSecond, 1), Format.ratio(r.ratioToUpdate), r.isFused.map { $0 ? "yes" : "**no**" } ?? "—", ratio]
        }
        let text = Format.fixed(ratio, 3) + " (rounds: p50 " + Format.fixed(spread.p50, 3) + ", p10–p90 "
            + Format.fixed(spread.p10, 3) + "–" + Format.fixed(spread.p90, 3) + ")"
        return Format.markdown(["transform", "ns/param p50", "ns/param p90", "GB/s", "×update", "fused", "× baseline"],
                               [row(baseline, ratio: "1"), row(candidate, ratio: text)])
    }
}
