/// The communicator of a program not started by `mpirun`: one rank, every collective is the
/// identity (a sum over one rank is the value itself), so data-parallel code runs unchanged.
public final class SingleProcessCommunicator: Communicator {
    /// Always 0.
    public let rank = 0
    /// Always 1.
    public let size = 1
    /// `"single-process"`.
    public let backend = "single-process"

    /// The one-process group.
    public init() {}

    /// Identity.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {}
    /// Identity.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    /// Identity.
    public func allReduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws {}
    /// Checks `root` is 0; otherwise the identity.
    public func broadcast(_ buffer: UnsafeMutableBufferPointer<Float>, root: Int) throws { try checkRoot(root) }
    /// Copies `send` into `receive`.
    public func allGather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
        guard counts == [send.count], receive.count == send.count else {
            throw DistributedError.invalidArgument("allGather: counts \(counts), send \(send.count), receive \(receive.count) on 1 rank")
        }
        if let base = send.baseAddress, send.count > 0 { receive.baseAddress!.update(from: base, count: send.count) }
    }
    /// `[bytes]`.
    public func gatherBytes(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]? { try checkRoot(root); return [bytes] }
    /// `bytes`.
    public func broadcastBytes(_ bytes: [UInt8], root: Int) throws -> [UInt8] { try checkRoot(root); return bytes }
    /// Returns at once.
    public func barrier() throws {}
}
