/// Errors of `GraftDistributed`: failed MPI calls and inconsistent use across ranks.
public enum DistributedError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An MPI call returned an error code (`message` is MPI's error string).
    case mpi(call: String, code: Int32, message: String)
    /// A collective's arguments do not fit (e.g. a root outside `0 ..< size`, a count mismatch).
    case invalidArgument(String)
    /// A snapshot cannot be split or merged (names the group and path).
    case snapshotMismatch(String)

    /// A readable message.
    public var description: String {
        switch self {
        case let .mpi(call, code, message): "\(call) failed with MPI error \(code): \(message)"
        case let .invalidArgument(text): "invalid argument: \(text)"
        case let .snapshotMismatch(text): "sharded snapshot: \(text)"
        }
    }
}
