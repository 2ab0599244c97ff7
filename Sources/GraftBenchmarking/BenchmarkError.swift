/// What the benchmarking API throws.
public enum BenchmarkError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A debug build was asked to time something: unoptimised code's timings mean nothing.
    case debugBuild
    /// Statistics of no samples.
    case noSamples
    /// An interleaved measurement of no cases.
    case noCases
    /// A layout with no tensors, or a tensor with a non-positive dimension.
    case invalidLayout(String)
    /// A thread count below 1.
    case invalidThreads(Int)
    /// A byte model that is not positive.
    case invalidByteModel(String)
    /// Objectives below 1.
    case invalidObjectives(Int)
    /// A comparison of benchmarks that differ in layout or threads (the name of what differs).
    case mismatchedComparison(String)
    /// A benchmark's step failed (the workload's name and the underlying error).
    case stepFailed(benchmark: String, underlying: String)

    /// The error in words (what `graft bench` and the examples print).
    public var description: String {
        switch self {
        case .debugBuild:
            return "refusing to benchmark a debug build: timings of unoptimised code mean nothing (build with -c release)"
        case .noSamples: return "no samples to summarise"
        case .noCases: return "nothing to measure: no cases given"
        case let .invalidLayout(why): return "invalid layout: \(why)"
        case let .invalidThreads(n): return "threads must be at least 1, got \(n)"
        case let .invalidByteModel(why): return "invalid byte model: \(why)"
        case let .invalidObjectives(n): return "objectives must be at least 1, got \(n)"
        case let .mismatchedComparison(what): return "a comparison needs both cases on the same \(what)"
        case let .stepFailed(name, underlying): return "\(name): \(underlying)"
        }
    }
}
