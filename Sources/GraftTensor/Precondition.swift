/// Stops the program with `message` when `condition` is false, in every build configuration.
///
/// Swift's `precondition` and `preconditionFailure` drop their message in release builds
/// (`-c release` prints only `Illegal instruction`); `fatalError` keeps it. Graft uses this
/// for the checks that stay traps (programmer errors on hot paths, such as an out-of-range
/// subscript or a buffer-size mismatch inside a kernel), so the message survives `-O`.
/// Misuse reachable from user data throws instead (`TensorError`, `LayerError`, …).
@inlinable @inline(__always)
public func checkPrecondition(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                              file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { preconditionFailureWithMessage(message(), file: file, line: line) }
}

/// Stops the program with `message` in every build configuration (see `checkPrecondition`).
@inline(never)
public func preconditionFailureWithMessage(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
