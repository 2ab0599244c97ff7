/// What a ``TransformBenchmark`` run measured: its `graft-bench/1` row, whether the group ran
/// fused, and the context (machine, bandwidth, policy).
public struct BenchmarkResult: Sendable {
    /// The row (ids, timing, ns/param percentiles, GB/s, ratios, telemetry).
    public var row: OptimizerResult
    /// `Optimizer.isFused(group:)`: whether the chain ran as one fused kernel.
    public var isFused: Bool?
    /// The layout timed.
    public var layout: ParameterLayout
    /// The machine (load averages at start and end); nil for rows timed by ``TransformBenchmark/run(on:policy:bandwidth:buildGuard:)``.
    public var machine: MachineInfo?
    /// The bandwidth probe's results the ratios refer to.
    public var bandwidth: [MemoryProbeResult]
    /// The policy used.
    public var policy: TimingPolicy
    /// Graft threads.
    public var threads: Int
    /// The floor timed interleaved with this benchmark, when it was run with one
    /// (``TransformBenchmark/run(on:pairedWithFloor:floorStep:policy:bandwidth:buildGuard:)``); nil otherwise.
    public var pairedFloor: PairedFloor? = nil

    /// Per-step wall time statistics, ns.
    public var timing: Statistics { row.timing }
    /// Median ns per parameter per step.
    public var nsPerParameter: Double { row.nsPerParameter["p50"] ?? .nan }
    /// ns per parameter at percentile p0, p50, p90 or p100 (`"p50"`, …).
    public func nsPerParameter(_ percentile: String) -> Double? { row.nsPerParameter[percentile] }
    /// GB/s under the byte model at the median step.
    public var gbPerSecond: Double { row.gbPerSecond }
    /// GB/s over the probe's best triad at the same thread count.
    public var ratioToTriad: Double? { row.ratioToTriad }
    /// GB/s over the probe's best in-place update (`a = a + s·b`) at the same thread count.
    public var ratioToUpdate: Double? { row.ratioToUpdate }
    /// Median ns/param over the floor's, when a floor was given.
    public var ratioToFloor: Double? { row.ratioToFloor }

    /// The `graft-bench/1` document of this result alone.
    public func report() -> BenchmarkReport {
        BenchmarkResult.report([self])
    }

    /// One `graft-bench/1` document for several results of one run (the first result's machine,
    /// policy, threads and bandwidth; `bandwidthBufferMegabytes` is 0 when no probe ran).
    public static func report(_ results: [BenchmarkResult]) -> BenchmarkReport {
        var layouts: [ParameterLayout] = []
        for r in results where !layouts.contains(r.layout) { layouts.append(r.layout) }
        let first = results.first
        var report = BenchmarkReport(machine: first?.machine ?? MachineInfo.current(),
                                     settings: .init(policy: first?.policy ?? .standard, layouts: layouts, threads: first?.threads ?? 1,
                                                     bandwidthBufferMegabytes: (first?.bandwidth.first?.bufferBytes ?? 0) / 1_048_576))
        report.bandwidth = first?.bandwidth ?? []
        report.layouts = layouts
        report.optimizer = results.map(\.row)
        return report
    }
}
