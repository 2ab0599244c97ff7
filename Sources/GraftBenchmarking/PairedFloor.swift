/// A floor timed together with a benchmark, in one interleaved measurement: what
/// ``TransformBenchmark/run(on:pairedWithFloor:floorStep:policy:bandwidth:buildGuard:)`` returns
/// in ``BenchmarkResult/pairedFloor``.
///
/// Why pair: on a shared machine the memory system's speed can change by a factor of two within
/// seconds (other tenants' traffic). A floor timed on its own, a few seconds or minutes before the
/// benchmark, met another machine state, so the ratio "benchmark ÷ floor" then measures that drift
/// as much as the code (the same Adam step has read as 0.67× and as 1.16× its floor in two runs).
/// Timed round by round with the benchmark (``measureInterleaved(_:_:)``: both cases in every
/// round, the first alternating), both see the same moments, and the ratio of their medians, and
/// of each round's medians, compares like with like.
public struct PairedFloor: Sendable, Equatable {
    /// The floor's name (`floor.adam`, a user's name, …): the row's `floor`.
    public var name: String
    /// The floor's per-step wall time, ns, over all rounds of the paired measurement.
    public var timing: Statistics
    /// The floor's median ns per parameter per step (the reference of the row's `ratioToFloor`).
    public var nsPerParameter: Double
    /// Per-round ratios benchmark ÷ floor (each round's medians), and their percentiles.
    public var spread: RatioSpread

    /// A paired floor from its timing over `parameters` parameters and the per-round ratios.
    public init(name: String, timing: Statistics, parameters: Int, spread: RatioSpread) {
        self.name = name
        self.timing = timing
        // A step is never faster than the clock's 1 ns: keeps every ratio finite (and JSON-encodable).
        self.nsPerParameter = max(1, timing.p50) / Double(max(1, parameters))
        self.spread = spread
    }

    /// Per-round ratios `benchmark round median ÷ floor round median`, round by round (a floor
    /// round median below the clock's 1 ns counts as 1 ns).
    public static func roundRatios(benchmark: [Double], floor: [Double]) -> [Double] {
        zip(benchmark, floor).map { $0 / max(1, $1) }
    }
}

extension TransformBenchmark {
    /// Times the benchmark's step and a floor's step **interleaved**, on data generated earlier,
    /// and reports ×floor over the floor as timed in that same measurement.
    ///
    /// Use it when the ratio to a floor is the figure that matters and the machine is shared:
    /// a floor timed separately met another memory speed (see ``PairedFloor``). Both steps go
    /// through ``measureInterleaved(_:_:)`` as `[benchmark step, floor step]`: each is warmed up
    /// and gets its own iterations per round, and every round runs both, the first alternating.
    /// Both sets of buffers (the optimizer's and the floor's) are alive during the whole run.
    ///
    /// The row's `floor` is `floorName`, its `ratioToFloor` the row's median ns/param over the
    /// paired floor's, and it records `floorPaired = true`, `floorNsPerParameter`, `floorTiming`
    /// and `ratioToFloorRoundsP50` (the median of the per-round ratios). The benchmark's own
    /// ``floor`` is not used. The result's ``BenchmarkResult/pairedFloor`` carries the floor's
    /// timing and the per-round ratios with their spread.
    /// - Parameters:
    ///   - data: the layout's data (of this benchmark's layout).
    ///   - floorName: the floor's name, as the row reports it.
    ///   - floorStep: one step of the floor over the same layout (its own buffers); called from
    ///     this thread, with `Parallel.threads` set to the benchmark's threads.
    ///   - policy: the timing policy of both cases.
    ///   - bandwidth: probe results measured earlier in the process (empty: no ×triad, ×update).
    ///   - buildGuard: refuses debug builds (``BuildGuard``).
    /// - Throws: `BenchmarkError.debugBuild` in a debug build (unless `buildGuard` allows it),
    ///   invalid settings or data of another layout, and what a step throws, as
    ///   `BenchmarkError.stepFailed` naming the benchmark or the floor.
    public func run(on data: LayoutData, pairedWithFloor floorName: String, floorStep: () throws -> Void,
                    policy: TimingPolicy, bandwidth: [MemoryProbeResult], buildGuard: BuildGuard = .current) throws -> BenchmarkResult {
        try buildGuard.requireOptimizedBuild()
        return try withThreads(threads) {
            let prepared = try prepare(data)
            let measured = try withoutActuallyEscaping(floorStep) { floorStep in
                try measurePair(prepared.step, floorStep, floorName: floorName, policy: policy)
            }
            let spread = RatioSpread(ratios: PairedFloor.roundRatios(benchmark: measured.roundMedians[0], floor: measured.roundMedians[1]))
            let paired = PairedFloor(name: floorName, timing: measured.statistics[1], parameters: layout.parameterCount, spread: spread)
            var out = self.result(prepared, data, timing: measured.statistics[0], policy: policy, bandwidth: bandwidth,
                                  floor: FloorReference(name: floorName, nsPerParameter: paired.nsPerParameter))
            out.row.recordPairedFloor(paired)
            out.pairedFloor = paired
            return out
        }
    }

    /// `measureInterleaved` over `[step, floorStep]`, a failing step reported by name.
    private func measurePair(_ step: @escaping () throws -> Void, _ floorStep: @escaping () throws -> Void, floorName: String,
                             policy: TimingPolicy) throws -> InterleavedMeasurement {
        var current = name
        do {
            return try measureInterleaved(policy, [{ current = name; try step() }, { current = floorName; try floorStep() }])
        } catch {
            throw BenchmarkError.stepFailed(benchmark: current, underlying: "\(error)")
        }
    }
}

extension OptimizerResult {
    /// Marks the row's floor as paired and records the paired floor's figures (`floorPaired`,
    /// `floorNsPerParameter`, `floorTiming`, `ratioToFloorRoundsP50`).
    mutating func recordPairedFloor(_ floor: PairedFloor) {
        floorPaired = true
        floorNsPerParameter = floor.nsPerParameter
        floorTiming = floor.timing
        ratioToFloorRoundsP50 = floor.spread.rounds.isEmpty ? nil : floor.spread.p50
    }
}
