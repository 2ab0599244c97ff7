import CMPI
import Foundation

/// `MPI_COMM_WORLD` of Open MPI: one process per rank, started by `mpirun`. Collectives are
/// the MPI ones (`MPI_Allreduce`, `MPI_Bcast`, `MPI_Allgatherv`, `MPI_Gatherv`, `MPI_Barrier`);
/// errors are returned (`MPI_ERRORS_RETURN`) and thrown as `DistributedError.mpi`. Buffers
/// larger than 2³⁰ elements are sent in pieces (MPI counts are 32-bit).
///
/// MPI is initialised once per process (`MPI_THREAD_FUNNELED`: call collectives from one
/// thread at a time) and finalised at exit. Use from one thread.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    /// This process's rank in `MPI_COMM_WORLD`.
    public let rank: Int
    /// Processes in `MPI_COMM_WORLD`.
    public let size: Int
    /// `"mpi"`.
    public let backend = "mpi"
    private let comm: MPI_Comm

    private nonisolated(unsafe) static var shared: MPICommunicator?
    private static let lock = NSLock()
    static let chunk = 1 << 30

    /// The world communicator, initialising MPI on first use (and registering `MPI_Finalize`
    /// to run at exit).
    public static func world() throws -> MPICommunicator {
        lock.lock(); defer { lock.unlock() }
        if let shared { return shared }
        var initialized: Int32 = 0
        try check(MPI_Initialized(&initialized), "MPI_Initialized")
        if initialized == 0 {
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, graft_mpi_thread_funneled(), &provided), "MPI_Init_thread")
            atexit {
                var finalized: Int32 = 0
                MPI_Finalized(&finalized)
                if finalized == 0 { MPI_Finalize() }
            }
        }
        let comm = graft_mpi_comm_world()!
        try check(MPI_Comm_set_errhandler(comm, graft_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0, size: Int32 = 0
        try check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(comm, &size), "MPI_Comm_size")
        let world = MPICommunicator(comm: comm, rank: Int(rank), size: Int(size))
        shared = world
        return world
    }

    private init(comm: MPI_Comm, rank: Int, size: Int) {
        self.comm = comm
        self.rank = rank
        self.size = size
    }

    static func check(_ code: Int32, _ call: String) throws {
        guard code != graft_mpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(graft_mpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(code, &text, &length)
        let bytes = text.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }
        throw DistributedError.mpi(call: call, code: code, message: String(decoding: bytes, as: UTF8.self))
    }

    private func allReduce<T>(_ buffer: UnsafeMutableBufferPointer<T>, _ type: MPI_Datatype, _ op: MPI_Op, _ call: String) throws {
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let n = min(Self.chunk, buffer.count - offset)
            try Self.check(MPI_Allreduce(UnsafeRawPointer(graft_mpi_in_place()), base + offset, Int32(n), type, op, comm), call)
            offset += n
        }
    }

    /// `MPI_Allreduce(MPI_IN_PLACE, …, MPI_FLOAT, MPI_SUM)`.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try allReduce(buffer, graft_mpi_float(), graft_mpi_sum(), "MPI_Allreduce(float, sum)")
    }

    /// `MPI_Allreduce(MPI_IN_PLACE, …, MPI_DOUBLE, MPI_SUM)`.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try allReduce(buffer, graft_mpi_double(), graft_mpi_sum(), "MPI_Allreduce(double, sum)")
    }

    /// `MPI_Allreduce(MPI_IN_PLACE, …, MPI_DOUBLE, MPI_MAX)`.
    public func allReduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws {
        try allReduce(buffer, graft_mpi_double(), graft_mpi_max(), "MPI_Allreduce(double, max)")
    }

    /// `MPI_Bcast(…, MPI_FLOAT, root)`.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws {
        try checkRoot(root)
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let n = min(Self.chunk, buffer.count - offset)
            try Self.check(MPI_Bcast(base + offset, Int32(n), graft_mpi_float(), Int32(root), comm), "MPI_Bcast(float)")
            offset += n
        }
    }

    /// `MPI_Allgatherv` of floats (every contribution below 2³¹ elements).
    public func allGather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        guard counts.count == size, counts[rank] == send.count, receive.count == counts.reduce(0, +),
              receive.count < Int(Int32.max) else {
            throw DistributedError.invalidArgument("allGather: counts \(counts) on \(size) ranks, rank \(rank) sends \(send.count), receives \(receive.count)")
        }
        let c32 = counts.map { Int32($0) }
        var displacements: [Int32] = [0]
        for c in c32.dropLast() { displacements.append(displacements.last! + c) }
        var dummy: Float = 0
        try withUnsafeMutablePointer(to: &dummy) { d in
            try Self.check(MPI_Allgatherv(send.baseAddress ?? UnsafePointer(d), Int32(send.count), graft_mpi_float(),
                                          receive.baseAddress ?? d, c32, displacements, graft_mpi_float(), comm), "MPI_Allgatherv")
        }
    }

    /// `MPI_Gather` of the counts, then `MPI_Gatherv` of the bytes.
    public func gatherBytes(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? {
        try checkRoot(root)
        guard bytes.count < Int(Int32.max) else { throw DistributedError.invalidArgument("gatherBytes: \(bytes.count) bytes exceed 2³¹") }
        var count = Int32(bytes.count)
        var counts = [Int32](repeating: 0, count: size)
        try Self.check(MPI_Gather(&count, 1, graft_mpi_int(), &counts, 1, graft_mpi_int(), Int32(root), comm), "MPI_Gather(count)")
        var displacements: [Int32] = [0]
        for c in counts.dropLast() { displacements.append(displacements.last! + c) }
        let total = rank == root ? counts.reduce(0) { $0 + Int($1) } : 0
        var all = [UInt8](repeating: 0, count: max(1, total))
        var send = bytes.isEmpty ? [0] : bytes
        try Self.check(MPI_Gatherv(&send, count, graft_mpi_byte(), &all, counts, displacements, graft_mpi_byte(),
                                   Int32(root), comm), "MPI_Gatherv(bytes)")
        guard rank == root else { return nil }
        return (0..<size).map { r in Array(all[Int(displacements[r])..<(Int(displacements[r]) + Int(counts[r]))]) }
    }

    /// `MPI_Bcast` of the count, then of the bytes.
    public func broadcastBytes(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        try checkRoot(root)
        var count = Int64(bytes.count)
        try Self.check(MPI_Bcast(&count, 1, graft_mpi_uint64(), Int32(root), comm), "MPI_Bcast(count)")
        guard count < Int64(Int32.max) else { throw DistributedError.invalidArgument("broadcastBytes: \(count) bytes exceed 2³¹") }
        var data = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        if count > 0 {
            try Self.check(MPI_Bcast(&data, Int32(count), graft_mpi_byte(), Int32(root), comm), "MPI_Bcast(bytes)")
        }
        return data
    }

    /// `MPI_Barrier`.
    public func barrier() throws { try Self.check(MPI_Barrier(comm), "MPI_Barrier") }
}
