#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A monotonic clock in nanoseconds (`clock_gettime(CLOCK_MONOTONIC)`, about 20 ns per read).
enum Clock {
    @inline(__always) static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// How long and how often each benchmark runs.
struct TimingPolicy: Sendable {
    /// Minimum wall time of the warm-up (the first iterations, never measured).
    var warmupSeconds: Double
    /// Minimum warm-up iterations (optimizer warm-ups take at least 3 steps, so state that is
    /// created lazily and the t = 1 / t = 2 special cases are behind us).
    var warmupIterations: Int
    /// Target wall time of one round; the iteration count per round is chosen from the warm-up.
    var roundSeconds: Double
    /// Number of rounds.
    var rounds: Int
    /// Upper bound on iterations per round (keeps microsecond kernels from running millions of times).
    var maximumIterationsPerRound: Int = 100_000
}

/// Order statistics of one benchmark: every sample is the wall time of one iteration in
/// nanoseconds (one optimizer step, one pass of a probe), over all rounds.
struct Statistics: Codable, Sendable {
    /// Fastest sample (ns).
    var p0: Double
    /// Median sample (ns): the figure every table reports.
    var p50: Double
    /// 90th percentile (ns).
    var p90: Double
    /// Slowest sample (ns).
    var p100: Double
    /// Mean of all samples (ns).
    var mean: Double
    /// Number of samples (iterations over all rounds).
    var samples: Int
    /// Rounds.
    var rounds: Int
    /// Iterations per round.
    var iterationsPerRound: Int

    init(samples raw: [Double], rounds: Int, iterationsPerRound: Int) {
        precondition(!raw.isEmpty, "no samples")
        let s = raw.sorted()
        func quantile(_ q: Double) -> Double {
            // Linear interpolation between closest ranks (numpy's default).
            let pos = q * Double(s.count - 1)
            let lo = Int(pos.rounded(.down)), hi = min(s.count - 1, lo + 1)
            let f = pos - Double(lo)
            return s[lo] * (1 - f) + s[hi] * f
        }
        p0 = s.first!
        p50 = quantile(0.5)
        p90 = quantile(0.9)
        p100 = s.last!
        mean = s.reduce(0, +) / Double(s.count)
        samples = s.count
        self.rounds = rounds
        self.iterationsPerRound = iterationsPerRound
    }
}

/// Runs `body` (one iteration) under `policy`: warm-up, adaptive iteration count, rounds;
/// every iteration is timed on its own. Use for iterations of at least a few microseconds,
/// where the two clock reads (~40 ns) are noise.
func measure(_ policy: TimingPolicy, _ body: () throws -> Void) rethrows -> Statistics {
    // Warm-up: at least `warmupIterations` and `warmupSeconds`.
    let start = Clock.now()
    var warm = 0
    var warmTimes: [Double] = []
    while warm < policy.warmupIterations || Double(Clock.now() - start) < policy.warmupSeconds * 1e9 {
        let t0 = Clock.now()
        try body()
        warmTimes.append(Double(Clock.now() - t0))
        warm += 1
        if warm > 1_000_000 { break }
    }
    // Estimate from the second half of the warm-up (the first steps allocate state).
    let tail = warmTimes.suffix(max(1, warmTimes.count / 2))
    let estimate = max(1.0, tail.sorted()[tail.count / 2])
    let perRound = max(1, min(policy.maximumIterationsPerRound, Int(policy.roundSeconds * 1e9 / estimate)))
    var samples: [Double] = []
    samples.reserveCapacity(perRound * policy.rounds)
    for _ in 0..<policy.rounds {
        for _ in 0..<perRound {
            let t0 = Clock.now()
            try body()
            samples.append(Double(Clock.now() - t0))
        }
    }
    return Statistics(samples: samples, rounds: policy.rounds, iterationsPerRound: perRound)
}

/// Keeps a value alive and opaque to the optimiser (so a computed result is not dropped).
@inline(never) func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }
