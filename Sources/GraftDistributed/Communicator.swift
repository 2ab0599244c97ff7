import Foundation
import GraftTrain

/// A group of `size` processes that exchange float buffers: the collectives data-parallel
/// training needs. Every collective must be called by every rank, in the same order, with
/// matching counts (the MPI rule); each is blocking.
///
/// Conforming types: `MPICommunicator` (Open MPI, one process per rank under `mpirun`) and
/// `SingleProcessCommunicator` (size 1, every collective is the identity), chosen by
/// `Communicator.world()`. A communicator is also the trainer's `DataParallelism`.
public protocol Communicator: DataParallelism {
    /// Short name for logs (`"mpi"`, `"single-process"`).
    var backend: String { get }
    /// Replaces `buffer` on every rank by Σ over ranks (floats; the order of addition is MPI's,
    /// the same on every rank).
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `buffer` on every rank by Σ over ranks, in Double.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Replaces `buffer` on every rank by the elementwise maximum over ranks.
    func allReduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws
    /// Copies `root`'s `buffer` into every rank's `buffer` (same count on every rank).
    func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws
    /// Every rank contributes `send` (its own count); every rank receives all contributions
    /// concatenated in rank order into `receive`, whose count must be Σ `counts` (`counts[r]`
    /// is rank r's contribution, known to every rank).
    func allGather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws
    /// Gathers every rank's bytes on `root` (in rank order); other ranks receive `nil`.
    func gatherBytes(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]?
    /// Copies `root`'s bytes to every rank (other ranks' arguments are ignored).
    func broadcastBytes(_ bytes: [UInt8], root: Int) throws -> [UInt8]
    /// Returns when every rank has called it.
    func barrier() throws
}

/// The process group this program was started in.
public enum World {
    /// Whether the process was started by Open MPI's `mpirun` (its launcher sets
    /// `OMPI_COMM_WORLD_SIZE`), or a PMIx launcher.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// `MPICommunicator.world` when launched by `mpirun` (initialising MPI once, finalised at
    /// exit), else a `SingleProcessCommunicator`: a program runs unchanged on one machine.
    public static func communicator() throws -> any Communicator {
        launchedByMPI ? try MPICommunicator.world() : SingleProcessCommunicator()
    }
}

extension Communicator {
    /// Whether this is rank 0 (the rank that writes checkpoints, results and plots).
    public var isRoot: Bool { rank == 0 }

    /// All-reduce sum of an array in place.
    public func allReduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }

    /// All-reduce sum of an array of doubles in place.
    public func allReduceSum(_ values: inout [Double]) throws {
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0) }
    }

    /// Broadcast of an array in place.
    public func broadcast(_ values: inout [Float], root: Int) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    func checkRoot(_ root: Int) throws {
        guard (0..<size).contains(root) else { throw DistributedError.invalidArgument("root \(root) outside 0..<\(size)") }
    }
}
