import Foundation

/// One optimizer (or floor) row.
struct OptimizerResult: Codable, Sendable {
    /// `optimizer/<workload>/<layout>/<size>` or `floor/<adam|digrap>/<layout>/<size>`: what `--filter` matches.
    var id: String
    /// Workload name (`adam`, `digrap.learned.gradient`, `floor.adam`, …).
    var workload: String
    /// `graft` (a Graft `Optimizer`), `floor` (a C floor) or `swift-floor` (a Swift floor).
    var kind: String
    var summary: String
    var layout: String
    var nominalSize: Int
    var parameters: Int
    var tensors: Int
    var objectives: Int
    /// The byte model (bytes per parameter per step) and its make-up.
    var bytesPerParameter: Int
    var byteModel: String
    /// Wall time of one step, ns.
    var timing: Statistics
    /// Step time over parameters: p0, p50, p90, p100 (ns per parameter per step).
    var nsPerParameter: [String: Double]
    /// Byte model × parameters / median step time (GB/s, 10^9 B/s).
    var gbPerSecond: Double
    /// `gbPerSecond` over the best triad bandwidth at the same thread count (nil: probe not run).
    var ratioToTriad: Double?
    /// `gbPerSecond` over the best in-place update bandwidth (`a = a + s·b`, no write-allocate
    /// distortion, like an optimizer step) at the same thread count.
    var ratioToUpdate: Double?
    /// The C floor compared against (`floor.adam`, `floor.digrap`, `floor.spd`, …), if any.
    var floor: String?
    /// Median ns/param over the floor's, same layout and size (nil: no floor or not run).
    var ratioToFloor: Double?
    /// Median ns/param over `floor.adam`'s (the C Adam floor), same layout and size: the step's cost in fused-Adam units.
    var ratioToAdamFloor: Double?
    /// Projection telemetry (share of tensor-steps that projected, mean ω, PCGrad conflicts).
    var telemetry: [String: Double]
}

/// The whole run, as written by `--json` (schema `graft-bench/1`, see Benchmarks/README.md).
struct Report: Codable, Sendable {
    var schema = "graft-bench/1"
    var started: String
    var elapsedSeconds: Double = 0
    var machine: MachineInfo
    var settings: Settings
    var bandwidth: [MemoryProbeResult] = []
    var layouts: [Layout] = []
    var optimizer: [OptimizerResult] = []
    var gemm: [GemmProbeResult] = []
    var training: [TrainingResult] = []
    /// Which variant of the C floors ran (`avx2+fma` or `baseline`).
    var floorVariant = ""
    /// Per-tensor overhead rows (`overhead/adam/20000x<n>`).
    var perTensor: [PerTensorResult] = []
    /// Snapshot rows (`snapshot/adam/<layout>/<size>`).
    var snapshot: [SnapshotResult] = []
    /// The issue-12 / issue-13 targets, as checked by this run.
    var targets: [TargetResult] = []

    struct Settings: Codable, Sendable {
        var quick: Bool
        var filters: [String]
        var excludes: [String]
        var sizes: [Int]
        var layouts: [String]
        var threads: Int
        var warmupSeconds: Double
        var roundSeconds: Double
        var rounds: Int
        var bandwidthBufferMegabytes: Int
        var gradientsFixed = true
    }

    func bandwidth(_ kernel: String, threads: Int) -> Double? {
        bandwidth.first { $0.kernel == kernel && $0.threads == threads }?.bestGBPerSecond
    }

    func write(json path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Text formatting helpers for the tables.
enum Format {
    static func time(_ ns: Double) -> String {
        if ns >= 1e9 { return String(format: "%.2f s", ns / 1e9) }
        if ns >= 1e6 { return String(format: "%.2f ms", ns / 1e6) }
        if ns >= 1e3 { return String(format: "%.1f µs", ns / 1e3) }
        return String(format: "%.0f ns", ns)
    }

    static func size(_ n: Int) -> String {
        var e = 0, m = n
        while m >= 10 && m % 10 == 0 { m /= 10; e += 1 }
        return m == 1 ? "1e\(e)" : "\(n)"
    }

    static func count(_ n: Int) -> String {
        if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
        if n >= 1_000 { return String(format: "%.1fk", Double(n) / 1e3) }
        return "\(n)"
    }

    static func ratio(_ r: Double?) -> String { r.map { String(format: "%.2f", $0) } ?? "—" }

    /// Left-aligned first column(s), right-aligned numbers.
    static func table(_ header: [String], _ rows: [[String]], leftColumns: Int = 1, minimumWidths: [Int] = []) -> String {
        var widths = header.indices.map { max(header[$0].count, $0 < minimumWidths.count ? minimumWidths[$0] : 0) }
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i < leftColumns ? c + pad : pad + c
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }
}

extension OptimizerResult {
    /// Column widths wide enough for every row, so rows printed one at a time line up.
    static let widths = [24, 8, 4, 7, 7, 9, 7, 8, 8, 3, 6, 6, 5, 6, 10, 0]

    static let header = ["workload", "layout", "size", "params", "tensors", "step p50", "ns/p p0", "ns/p p50", "ns/p p90",
                         "B/p", "GB/s", "×triad", "×upd", "×floor", "×adamFloor", "notes"]

    var row: [String] {
        var notes: [String] = []
        if let s = telemetry["projected_share"] { notes.append(String(format: "proj %.0f%%", s * 100)) }
        if let w = telemetry["mean_omega"] { notes.append(String(format: "ω %.2f", w)) }
        if let c = telemetry["conflicts_last_step"] { notes.append(String(format: "conflicts %.0f", c)) }
        if let s = telemetry["decayed_share"] { notes.append(String(format: "decay %.0f%%", s * 100)) }
        if let f = telemetry["fused"] { notes.append(f == 1 ? "fused" : "NOT fused") }
        return [workload, layout, Format.size(nominalSize), Format.count(parameters), "\(tensors)", Format.time(timing.p50),
                String(format: "%.3f", nsPerParameter["p0"]!), String(format: "%.3f", nsPerParameter["p50"]!),
                String(format: "%.3f", nsPerParameter["p90"]!), "\(bytesPerParameter)", String(format: "%.1f", gbPerSecond),
                Format.ratio(ratioToTriad), Format.ratio(ratioToUpdate), Format.ratio(ratioToFloor), Format.ratio(ratioToAdamFloor), notes.joined(separator: ", ")]
    }
}
