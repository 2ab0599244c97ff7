import GraftBenchmarking
import Foundation
import GraftOptim
import GraftTensor
import GraftTrain

/// Adam state at a given size, saved and loaded through the binary snapshot path:
/// `optimizer.snapshot()` + `encoded()` + writing the file (`write(to:)`, atomic), and
/// `OptimizerSnapshot.read(from:)` (read + decode + verify) + `optimizer.restore(_:)`.
struct SnapshotResult: Codable, Sendable {
    var id: String
    var layout: String
    var nominalSize: Int
    var parameters: Int
    /// Bytes of the state tensors (m and v: 8 B per parameter).
    var rawStateBytes: Int
    /// Bytes of the snapshot file.
    var fileBytes: Int
    /// fileBytes / rawStateBytes (target ≤ 1.01).
    var ratio: Double
    /// snapshot() alone, encoded() alone, the file write alone, and the three together (ns).
    var snapshot: Statistics
    var encode: Statistics
    var write: Statistics
    var save: Statistics
    /// read(from:) (read, decode, verify) alone, restore alone, and both (ns).
    var read: Statistics
    var restore: Statistics
    var load: Statistics
}

enum SnapshotBenchmark {
    static func run(layout: Layout, data: LayoutData, id: String, rounds: Int) throws -> SnapshotResult {
        let parameters = data.makeParameters()
        let optimizer = try Optimizer(parameters: parameters,
                                      groups: [try ParameterGroup("all", selecting: .all, transform: Recipes.adam(learningRate: 1e-3))])
        try optimizer.step()
        try optimizer.step()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("graft-bench-snapshot-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("adam.graftopt")
        let policy = TimingPolicy(warmupSeconds: 0, warmupIterations: 1, roundSeconds: 0, rounds: rounds)
        var s: [Double] = [], e: [Double] = [], w: [Double] = []
        let save = try measure(policy) {
            let t0 = Clock.now()
            let snap = try optimizer.snapshot()
            let t1 = Clock.now()
            let bytes = try snap.encoded()
            let t2 = Clock.now()
            blackHole(bytes.count)
            try snap.write(to: url)
            let t3 = Clock.now()
            s.append(Double(t1 - t0)); e.append(Double(t2 - t1)); w.append(Double(t3 - t2))
        }
        // `write(to:)` encodes again itself: the save total is snapshot + write (its encode included),
        // and the write column is the file write with its own encode.
        let fileBytes = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        var r: [Double] = [], rs: [Double] = []
        let load = try measure(policy) {
            let t0 = Clock.now()
            let snap = try OptimizerSnapshot.read(from: url)
            let t1 = Clock.now()
            try optimizer.restore(snap)
            let t2 = Clock.now()
            r.append(Double(t1 - t0)); rs.append(Double(t2 - t1))
        }
        func tail(_ x: [Double], _ like: Statistics) throws -> Statistics {
            try Statistics(samples: Array(x.suffix(like.samples)), rounds: like.rounds, iterationsPerRound: like.iterationsPerRound)
        }
        let n = layout.parameterCount
        let raw = 8 * n
        // save = snapshot() + encoded() + write(to:) as timed; the write includes its own encode.
        let saveStats = try Statistics(samples: zip(s.suffix(save.samples), w.suffix(save.samples)).map { $0 + $1 },
                                   rounds: save.rounds, iterationsPerRound: save.iterationsPerRound)
        return SnapshotResult(id: id, layout: layout.name, nominalSize: layout.nominalSize, parameters: n, rawStateBytes: raw,
                              fileBytes: fileBytes, ratio: Double(fileBytes) / Double(raw), snapshot: try tail(s, save), encode: try tail(e, save),
                              write: try tail(w, save), save: saveStats, read: try tail(r, load), restore: try tail(rs, load), load: load)
    }
}

#if canImport(Glibc)
import Glibc
#endif
