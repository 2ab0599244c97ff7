/// How long and how often a benchmark runs: a warm-up (never measured), then `rounds` rounds of
/// `iterationsPerRound` iterations each, the count chosen from the warm-up so a round lasts
/// about `roundSeconds`. Every iteration is timed on its own.
public struct TimingPolicy: Sendable, Equatable {
    /// Minimum wall time of the warm-up (the first iterations, never measured).
    public var warmupSeconds: Double
    /// Minimum warm-up iterations (optimizer warm-ups take at least 3 steps, so state that is
    /// created lazily and the t = 1 / t = 2 special cases are behind us).
    public var warmupIterations: Int
    /// Target wall time of one round; the iteration count per round is chosen from the warm-up.
    public var roundSeconds: Double
    /// Number of rounds.
    public var rounds: Int
    /// Upper bound on iterations per round (keeps microsecond kernels from running millions of times).
    public var maximumIterationsPerRound: Int

    /// A policy; `rounds` and `warmupIterations` are clamped to at least 1, times to at least 0.
    public init(warmupSeconds: Double, warmupIterations: Int, roundSeconds: Double, rounds: Int,
                maximumIterationsPerRound: Int = 100_000) {
        self.warmupSeconds = max(0, warmupSeconds)
        self.warmupIterations = max(1, warmupIterations)
        self.roundSeconds = max(0, roundSeconds)
        self.rounds = max(1, rounds)
        self.maximumIterationsPerRound = max(1, maximumIterationsPerRound)
    }

    /// graft-bench's default: 3 rounds of about 0.2 s after a 0.05 s (and ≥ 3 step) warm-up.
    public static let standard = TimingPolicy(warmupSeconds: 0.05, warmupIterations: 3, roundSeconds: 0.2, rounds: 3)
    /// graft-bench `--quick`: 2 rounds of about 0.05 s.
    public static let quick = TimingPolicy(warmupSeconds: 0.0125, warmupIterations: 3, roundSeconds: 0.05, rounds: 2)
    /// Comparisons: many short rounds, so the per-round ratio has a spread worth reporting
    /// (15 rounds of about 0.05 s per case).
    public static let comparison = TimingPolicy(warmupSeconds: 0.02, warmupIterations: 3, roundSeconds: 0.05, rounds: 15)
    /// The bandwidth probe's: one round of about 0.3 s, no warm-up beyond one pass.
    public static let probe = TimingPolicy(warmupSeconds: 0, warmupIterations: 1, roundSeconds: 0.3, rounds: 1)
    /// The least that produces numbers (one warm-up iteration, one round of one iteration):
    /// for tests of the plumbing, never for timings.
    public static let minimal = TimingPolicy(warmupSeconds: 0, warmupIterations: 1, roundSeconds: 0, rounds: 1)

    /// The iterations per round for a body whose iteration takes `estimateNanoseconds`:
    /// `roundSeconds / estimate`, clamped to `1 ... maximumIterationsPerRound`.
    public func iterationsPerRound(estimateNanoseconds: Double) -> Int {
        let estimate = max(1.0, estimateNanoseconds)
        let wanted = roundSeconds * 1e9 / estimate
        guard wanted.isFinite else { return maximumIterationsPerRound }
        return max(1, min(maximumIterationsPerRound, Int(min(wanted, Double(Int.max / 2)))))
    }
}
