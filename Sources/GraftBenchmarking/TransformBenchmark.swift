import GraftOptim
import GraftTensor

/// A floor to compare a benchmark with: the same step written as a plain fused loop (or any
/// reference), as its median ns per parameter on the same layout.
public struct FloorReference: Sendable, Equatable {
    /// Its name (`floor.adam`, …).
    public var name: String
    /// Its median ns per parameter per step.
    public var nsPerParameter: Double

    /// A floor measured elsewhere.
    public init(name: String, nsPerParameter: Double) {
        self.name = name
        self.nsPerParameter = nsPerParameter
    }
}

/// Where the memory bandwidth a result is compared with comes from.
public enum BandwidthReference: Sendable {
    /// Run the STREAM-style probe (``MemoryProbe``) in this run, with three buffers of
    /// `bufferMegabytes` MB each (far larger than the last-level cache; default 128).
    case measure(bufferMegabytes: Int = 128, policy: TimingPolicy = .probe)
    /// Use results measured earlier in the same process (graft-bench measures once for all rows).
    case given([MemoryProbeResult])
    /// No probe: the ×triad and ×update ratios stay empty.
    case none
}

/// A benchmark of one gradient transform — a built-in recipe, a chain, your own — as a
/// Graft `Optimizer` step over one parameter group that selects every tensor of a layout,
/// with fixed gradients (``LayoutData``), at a thread count, under a declared byte model.
///
/// ```swift
/// let myChain = try Recipes.adam(learningRate: 1e-3)   // or a chain of your own transforms
/// let bench = TransformBenchmark(name: "my-adam", transform: myChain,
///                                layout: .mixed(1_000_000), threads: 2, bytesPerParameter: .adam)
/// let result = try bench.run(policy: .quick)
/// print(result.nsPerParameter, result.gbPerSecond, result.ratioToUpdate ?? .nan, result.isFused ?? false)
/// ```
///
/// What a step includes is `Optimizer.step()` (or `step(objectives:)` for K > 1) as a user
/// calls it: input checks, the copy of the gradient into the running update, the chain, and
/// `θ ← θ + u`. A run refuses debug builds (``BuildGuard``), sets `Parallel.threads` for its
/// duration (restoring it after), and flushes subnormals to zero on the calling thread and so in
/// its kernels' workers (`FloatingPointEnvironment.withSubnormalsFlushed`, restored after), as the
/// examples do for a whole program.
public struct TransformBenchmark {
    /// The workload's name (the `workload` of its row; its id is `optimizer/<name>/<layout>/<size>`).
    public var name: String
    /// What is timed, in words.
    public var summary: String
    /// The parameter layout.
    public var layout: ParameterLayout
    /// Graft threads (`Parallel.threads`) during the run.
    public var threads: Int
    /// The byte model.
    public var byteModel: ByteModel
    /// Objectives per step (K > 1 steps with `step(objectives:)`; at most ``LayoutData/objectives``).
    public var objectives: Int
    /// Whether explicit anchors θ0 are passed to the optimizer (`θ + 0.01 e` for anchored tensors).
    public var usesAnchors: Bool
    /// A floor to report the ratio to, measured elsewhere. On a shared machine prefer a floor timed
    /// with the benchmark (``run(on:pairedWithFloor:floorStep:policy:bandwidth:buildGuard:)``, which
    /// ignores this one): a floor timed apart met another memory speed (``PairedFloor``).
    public var floor: FloorReference?
    /// graft-bench's C Adam floor on the same layout, for the `ratioToAdamFloor` column.
    public var adamFloorNsPerParameter: Double?
    /// The data seed (default: the layout's ``ParameterLayout/defaultSeed``, graft-bench's).
    public var seed: UInt64
    /// What the optimizer does with non-finite gradients (default `.throw`: every gradient is
    /// scanned before the step; `.unchecked` times the step without that read of g).
    public var nonFinitePolicy: NonFinitePolicy = .throw
    /// Telemetry to record after the run (graft-bench reports projection shares this way). When
    /// nil, the row's telemetry is `["fused": 1]` or `["fused": 0]` (`Optimizer.isFused(group:)`).
    public var telemetry: ((Optimizer, LayoutData) -> [String: Double])?
    /// The group's name in the optimizer.
    public static let groupName = "all"
    private let makeGroup: () throws -> ParameterGroup

    /// A benchmark of `transform` (with `aggregator` for K > 1 objectives).
    /// - Parameters:
    ///   - name: the workload's name.
    ///   - summary: what is timed (default: the name).
    ///   - transform: the chain to time; a fresh optimizer state is made for each run.
    ///   - layout: the parameter shapes.
    ///   - threads: Graft threads (default: `Parallel.threads` now).
    ///   - bytesPerParameter: the byte model.
    ///   - objectives: gradients per step (1–4).
    ///   - usesAnchors: pass explicit anchors (default: whether the transform reads anchors).
    ///   - floor: a floor to compare with.
    ///
    /// The initializer is `@inlinable` so the group (and the fused kernel the engine composes from
    /// the chain's lanes by generic specialisation) is built where `T` is a concrete type: built
    /// from an unspecialised generic `T`, the kernel would run about ten times slower.
    @inlinable
    public init<T: GradientTransform>(name: String, summary: String? = nil, transform: T,
                                      aggregator: some GradientAggregator = SumAggregator(), layout: ParameterLayout,
                                      threads: Int = Parallel.threads, bytesPerParameter: ByteModel, objectives: Int = 1,
                                      usesAnchors: Bool? = nil, floor: FloorReference? = nil) {
        let aggregator = AnyGradientAggregator(aggregator)
        self.init(name: name, summary: summary, layout: layout, threads: threads, bytesPerParameter: bytesPerParameter,
                  objectives: objectives, usesAnchors: usesAnchors ?? transform.usesAnchors, floor: floor) {
            try ParameterGroup(TransformBenchmark.groupName, selecting: .all, aggregator: aggregator, transform: transform)
        }
    }

    /// A benchmark whose group is built by `makeGroup` for every run (its name is replaced by
    /// ``groupName`` only in reporting: `isFused` asks for the group's own name).
    public init(name: String, summary: String? = nil, layout: ParameterLayout, threads: Int = Parallel.threads,
                bytesPerParameter: ByteModel, objectives: Int = 1, usesAnchors: Bool, floor: FloorReference? = nil,
                makeGroup: @escaping () throws -> ParameterGroup) {
        self.name = name
        self.summary = summary ?? name
        self.layout = layout
        self.threads = threads
        self.byteModel = bytesPerParameter
        self.objectives = objectives
        self.usesAnchors = usesAnchors
        self.floor = floor
        self.seed = layout.defaultSeed
        self.makeGroup = makeGroup
    }

    /// An optimizer over fresh parameters of `data`, and the closure that takes one step.
    public struct Prepared {
        /// The optimizer (one group).
        public let optimizer: Optimizer
        /// Its parameters.
        public let parameters: [NamedParameter]
        /// The group's name.
        public let groupName: String
        /// Takes one step.
        public let step: () throws -> Void
    }

    /// Builds the optimizer over fresh parameters of `data` (which must be of this layout).
    /// - Throws: `BenchmarkError.invalidObjectives`, `.invalidLayout` for data of another layout,
    ///   and what building the group or optimizer throws.
    public func prepare(_ data: LayoutData) throws -> Prepared {
        try validate()
        guard data.layout == layout else {
            throw BenchmarkError.invalidLayout("data of layout \(data.layout.name) given to a benchmark on \(layout.name)")
        }
        let parameters = data.makeParameters()
        let group = try makeGroup()
        let optimizer = try Optimizer(parameters: parameters, groups: [group], anchors: usesAnchors ? data.anchorsByPath : [:],
                                      nonFinitePolicy: nonFinitePolicy)
        if objectives == 1 {
            return Prepared(optimizer: optimizer, parameters: parameters, groupName: group.name, step: { try optimizer.step() })
        }
        let objectives = data.objectives(self.objectives)
        return Prepared(optimizer: optimizer, parameters: parameters, groupName: group.name,
                        step: { try optimizer.step(objectives: objectives) })
    }

    func validate() throws {
        guard threads >= 1 else { throw BenchmarkError.invalidThreads(threads) }
        guard (1...LayoutData.objectives).contains(objectives) else { throw BenchmarkError.invalidObjectives(objectives) }
    }

    /// Runs the benchmark on its own: checks the build, measures the bandwidth (unless told
    /// otherwise), generates the layout's data, warms up and times the steps.
    /// - Throws: `BenchmarkError.debugBuild` in a debug build (unless `buildGuard` allows it),
    ///   invalid settings, and what a step throws (as `BenchmarkError.stepFailed`, naming the benchmark).
    public func run(policy: TimingPolicy = .standard, bandwidth: BandwidthReference = .measure(),
                    buildGuard: BuildGuard = .current) throws -> BenchmarkResult {
        try buildGuard.requireOptimizedBuild()
        try validate()
        return try withThreads(threads) {
            var machine = MachineInfo.current()
            let probe = Self.probe(bandwidth, threads: threads)
            let data = try LayoutData(layout, seed: seed)
            var result = try run(on: data, policy: policy, bandwidth: probe, buildGuard: buildGuard)
            machine.loadAverageAtEnd = MachineInfo.loadAverage()
            result.machine = machine
            return result
        }
    }

    /// Times the benchmark on data generated earlier (graft-bench shares one ``LayoutData`` per
    /// layout between its rows), against bandwidth results measured earlier in the process.
    public func run(on data: LayoutData, policy: TimingPolicy, bandwidth: [MemoryProbeResult],
                    buildGuard: BuildGuard = .current) throws -> BenchmarkResult {
        try buildGuard.requireOptimizedBuild()
        return try withThreads(threads) {
            let prepared = try prepare(data)
            let timing: Statistics
            do { timing = try measure(policy, prepared.step) } catch { throw BenchmarkError.stepFailed(benchmark: name, underlying: "\(error)") }
            return result(prepared, data, timing: timing, policy: policy, bandwidth: bandwidth, floor: floor)
        }
    }

    /// The result of a timing of `prepared` (also used by comparisons and paired floors), with
    /// ×floor over `floor` (the benchmark's own ``floor``, or a floor timed with it).
    func result(_ prepared: Prepared, _ data: LayoutData, timing: Statistics, policy: TimingPolicy,
                bandwidth: [MemoryProbeResult], floor: FloorReference?) -> BenchmarkResult {
        let fused = prepared.optimizer.isFused(group: prepared.groupName)
        let row = OptimizerResult(id: OptimizerResult.id(workload: name, layout: layout), workload: name, kind: "graft", summary: summary,
                                  layout: layout, objectives: objectives, byteModel: byteModel, timing: timing, bandwidth: bandwidth,
                                  threads: threads, floor: floor?.name, floorNsPerParameter: floor?.nsPerParameter,
                                  adamFloorNsPerParameter: adamFloorNsPerParameter,
                                  telemetry: telemetry?(prepared.optimizer, data) ?? fused.map { ["fused": $0 ? 1 : 0] } ?? [:])
        return BenchmarkResult(row: row, isFused: fused, layout: layout,
                               machine: nil, bandwidth: bandwidth, policy: policy, threads: threads)
    }

    /// The probe results a ``BandwidthReference`` stands for (measuring them when asked).
    static func probe(_ reference: BandwidthReference, threads: Int) -> [MemoryProbeResult] {
        switch reference {
        case let .measure(megabytes, policy): return MemoryProbe.run(bufferMegabytes: max(1, megabytes), maxThreads: threads, policy: policy)
        case let .given(results): return results
        case .none: return []
        }
    }
}

/// Runs `body` with `Parallel.threads = threads` and subnormals flushed on this thread (and so
/// in the kernels it starts), then restores the thread count and the thread's mode.
/// The global is written only when it differs, so a benchmark at the current thread count leaves
/// it untouched (tests run concurrently).
func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
    try FloatingPointEnvironment.withSubnormalsFlushed {
        let saved = Parallel.threads
        guard saved != threads else { return try body() }
        Parallel.threads = threads
        defer { Parallel.threads = saved }
        return try body()
    }
}
