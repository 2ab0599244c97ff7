#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A monotonic clock in nanoseconds (`clock_gettime(CLOCK_MONOTONIC)`, about 20 ns per read).
///
/// Named so it does not shadow the standard library's `Clock` protocol.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot); only differences mean something.
    @inline(__always) public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// Keeps a value alive and opaque to the optimiser (so a computed result is not dropped).
@inline(never) public func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }
