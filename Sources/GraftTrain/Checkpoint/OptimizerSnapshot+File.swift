import Foundation
import GraftOptim

extension OptimizerSnapshot {
    /// Writes the snapshot's bytes (`encoded()`) atomically: a crash mid-write leaves the
    /// previous file intact.
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }

    /// Reads and verifies a snapshot file (nothing is returned from a damaged file).
    public static func read(from url: URL) throws -> OptimizerSnapshot {
        try OptimizerSnapshot(decoding: try FileBytes.read(url, limit: Int.max))
    }
}
