/// Whether this build may be benchmarked: timings of unoptimised (debug) code mean nothing, so
/// every entry point that times something asks its guard first and throws
/// ``BenchmarkError/debugBuild`` in a debug build.
///
/// The check is injectable so tests can exercise both answers in any build:
/// `BuildGuard(isDebugBuild: { true })` refuses even in a release build, and
/// ``allowingDebugBuilds`` lets a debug-build test run the plumbing with a minimal policy.
public struct BuildGuard: Sendable {
    /// Whether the build counts as a debug build.
    public let isDebugBuild: @Sendable () -> Bool

    /// A guard with a custom check.
    public init(isDebugBuild: @escaping @Sendable () -> Bool) {
        self.isDebugBuild = isDebugBuild
    }

    /// The real check: `#if DEBUG` as this module was compiled (SwiftPM compiles every module of
    /// a build with the same configuration).
    public static let current = BuildGuard(isDebugBuild: compiledAsDebug)

    /// Never refuses (for tests of the plumbing; the numbers of a debug build are meaningless).
    public static let allowingDebugBuilds = BuildGuard(isDebugBuild: { false })

    /// Throws ``BenchmarkError/debugBuild`` when the check says this is a debug build.
    public func requireOptimizedBuild() throws {
        if isDebugBuild() { throw BenchmarkError.debugBuild }
    }
}

/// `#if DEBUG`, as a function (so code after a refusal is not unreachable in either build).
@inline(never) @Sendable func compiledAsDebug() -> Bool {
    #if DEBUG
    return true
    #else
    return false
    #endif
}
