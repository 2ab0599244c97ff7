/// One optimizer (or floor) row of a benchmark: an element of the `optimizer` array of the
/// `graft-bench/1` JSON (Benchmarks/README.md).
public struct OptimizerResult: Codable, Sendable, Equatable {
    /// `optimizer/<workload>/<layout>/<size>` or `floor/<adam|digrap>/<layout>/<size>`: what `--filter` matches.
    public var id: String
    /// Workload name (`adam`, `digrap.learned.gradient`, `floor.adam`, a user's name, …).
    public var workload: String
    /// `graft` (a Graft `Optimizer`), `floor` (a C floor) or `swift-floor` (a Swift floor).
    public var kind: String
    /// What is timed, in words.
    public var summary: String
    /// The layout's name.
    public var layout: String
    /// The layout's nominal size.
    public var nominalSize: Int
    /// Parameters (elements) stepped.
    public var parameters: Int
    /// Tensors stepped.
    public var tensors: Int
    /// Objectives per step (K > 1: `step(objectives:)`).
    public var objectives: Int
    /// The byte model (bytes per parameter per step) and its make-up.
    public var bytesPerParameter: Int
    /// How the byte model is made up.
    public var byteModel: String
    /// Wall time of one step, ns.
    public var timing: Statistics
    /// Step time over parameters: p0, p50, p90, p100 (ns per parameter per step).
    public var nsPerParameter: [String: Double]
    /// Byte model × parameters / median step time (GB/s, 10^9 B/s).
    public var gbPerSecond: Double
    /// `gbPerSecond` over the best triad bandwidth at the same thread count (nil: probe not run).
    public var ratioToTriad: Double?
    /// `gbPerSecond` over the best in-place update bandwidth (`a = a + s·b`, no write-allocate
    /// distortion, like an optimizer step) at the same thread count.
    public var ratioToUpdate: Double?
    /// The floor compared against (`floor.adam`, `floor.digrap`, a user's name, …), if any.
    public var floor: String?
    /// Median ns/param over the floor's, same layout and size (nil: no floor or not run).
    public var ratioToFloor: Double?
    /// Median ns/param over `floor.adam`'s (the C Adam floor), same layout and size: the step's cost in fused-Adam units.
    public var ratioToAdamFloor: Double?
    /// Telemetry (share of tensor-steps that projected, mean ω, PCGrad conflicts, `fused`).
    public var telemetry: [String: Double]
    /// `true` when the floor was timed interleaved with this row, in the same measurement
    /// (``TransformBenchmark/run(on:pairedWithFloor:floorStep:policy:bandwidth:buildGuard:)``), so
    /// `ratioToFloor` compares timings of the same moments; absent when the floor's figure came
    /// from a measurement of its own (on a shared machine, taken at another memory speed).
    public var floorPaired: Bool?
    /// The paired floor's median ns per parameter per step: the reference of `ratioToFloor`.
    /// Present only when `floorPaired` (an unpaired floor's figure is its own `floor.*` row).
    public var floorNsPerParameter: Double?
    /// The paired floor's per-step wall time, ns (present only when `floorPaired`).
    public var floorTiming: Statistics?
    /// The median over rounds of (this row's median in the round ÷ the floor's median in the same
    /// round): a ratio that drift between rounds cannot move (present only when `floorPaired`).
    public var ratioToFloorRoundsP50: Double?

    /// A row from a timing, with every derived figure computed the one way graft-bench does:
    /// `ns/param = step / parameters`, `GB/s = bytes × parameters / p50`, ratios to the best
    /// triad and in-place update bandwidth of `bandwidth` at `threads` threads, and to the floors'
    /// median ns/param where given.
    public init(id: String, workload: String, kind: String, summary: String, layout: ParameterLayout, objectives: Int,
                byteModel: ByteModel, timing: Statistics, bandwidth: [MemoryProbeResult], threads: Int,
                floor: String? = nil, floorNsPerParameter: Double? = nil, adamFloorNsPerParameter: Double? = nil,
                telemetry: [String: Double] = [:]) {
        let n = Double(layout.parameterCount)
        let perParam = ["p0": timing.p0 / n, "p50": timing.p50 / n, "p90": timing.p90 / n, "p100": timing.p100 / n]
        let gbs = Double(byteModel.bytesPerParameter) * n / timing.p50
        self.id = id
        self.workload = workload
        self.kind = kind
        self.summary = summary
        self.layout = layout.name
        self.nominalSize = layout.nominalSize
        self.parameters = layout.parameterCount
        self.tensors = layout.tensors.count
        self.objectives = objectives
        self.bytesPerParameter = byteModel.bytesPerParameter
        self.byteModel = byteModel.description
        self.timing = timing
        self.nsPerParameter = perParam
        self.gbPerSecond = gbs
        self.ratioToTriad = MemoryProbe.best("triad", threads: threads, in: bandwidth).map { gbs / $0 }
        self.ratioToUpdate = MemoryProbe.best("update", threads: threads, in: bandwidth).map { gbs / $0 }
        self.floor = floor
        self.ratioToFloor = floorNsPerParameter.map { perParam["p50"]! / $0 }
        self.ratioToAdamFloor = adamFloorNsPerParameter.map { perParam["p50"]! / $0 }
        self.telemetry = telemetry
    }

    /// The benchmark id graft-bench uses: `optimizer/<workload>/<layout>/<size>`.
    public static func id(workload: String, layout: ParameterLayout) -> String {
        "optimizer/\(workload)/\(layout.name)/\(Format.size(layout.nominalSize))"
    }

    /// Column widths wide enough for every row, so rows printed one at a time line up.
    public static let widths = [24, 8, 4, 7, 7, 9, 7, 8, 8, 3, 6, 6, 5, 6, 10, 0]

    /// The table header of graft-bench's optimizer table.
    public static let header = ["workload", "layout", "size", "params", "tensors", "step p50", "ns/p p0", "ns/p p50", "ns/p p90",
                                "B/p", "GB/s", "×triad", "×upd", "×floor", "×adamFloor", "notes"]

    /// The row of graft-bench's optimizer table.
    public var row: [String] {
        var notes: [String] = []
        if let s = telemetry["projected_share"] { notes.append(Format.fixed(s * 100, 0, prefix: "proj ", suffix: "%")) }
        if let w = telemetry["mean_omega"] { notes.append(Format.fixed(w, 2, prefix: "ω ")) }
        if let c = telemetry["conflicts_last_step"] { notes.append(Format.fixed(c, 0, prefix: "conflicts ")) }
        if let s = telemetry["decayed_share"] { notes.append(Format.fixed(s * 100, 0, prefix: "decay ", suffix: "%")) }
        if let f = telemetry["fused"] { notes.append(f == 1 ? "fused" : "NOT fused") }
        if floorPaired == true, let f = floorNsPerParameter { notes.append(Format.fixed(f, 3, prefix: "floor paired ", suffix: " ns/p")) }
        return [workload, layout, Format.size(nominalSize), Format.count(parameters), "\(tensors)", Format.time(timing.p50),
                Format.fixed(nsPerParameter["p0"]!, 3), Format.fixed(nsPerParameter["p50"]!, 3),
                Format.fixed(nsPerParameter["p90"]!, 3), "\(bytesPerParameter)", Format.fixed(gbPerSecond, 1),
                Format.ratio(ratioToTriad), Format.ratio(ratioToUpdate), Format.ratio(ratioToFloor), Format.ratio(ratioToAdamFloor),
                notes.joined(separator: ", ")]
    }
}
