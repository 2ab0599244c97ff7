/// Order statistics of one benchmark: every sample is the wall time of one iteration in
/// nanoseconds (one optimizer step, one pass of a probe), over all rounds. Encoded as the
/// `Statistics` object of the `graft-bench/1` JSON.
public struct Statistics: Codable, Sendable, Equatable {
    /// Fastest sample (ns).
    public var p0: Double
    /// Median sample (ns): the figure every table reports.
    public var p50: Double
    /// 90th percentile (ns).
    public var p90: Double
    /// Slowest sample (ns).
    public var p100: Double
    /// Mean of all samples (ns).
    public var mean: Double
    /// Number of samples (iterations over all rounds).
    public var samples: Int
    /// Rounds.
    public var rounds: Int
    /// Iterations per round.
    public var iterationsPerRound: Int

    /// Summarises `raw` (at least one sample).
    /// - Throws: `BenchmarkError.noSamples` when `raw` is empty.
    public init(samples raw: [Double], rounds: Int, iterationsPerRound: Int) throws {
        guard !raw.isEmpty else { throw BenchmarkError.noSamples }
        self.init(nonEmpty: raw, rounds: rounds, iterationsPerRound: iterationsPerRound)
    }

    /// Summarises `raw`, which the caller guarantees is not empty (the harness always has a sample).
    init(nonEmpty raw: [Double], rounds: Int, iterationsPerRound: Int) {
        let s = raw.sorted()
        p0 = s.first!
        p50 = Statistics.percentile(sorted: s, 0.5)
        p90 = Statistics.percentile(sorted: s, 0.9)
        p100 = s.last!
        mean = s.reduce(0, +) / Double(s.count)
        samples = s.count
        self.rounds = rounds
        self.iterationsPerRound = iterationsPerRound
    }

    /// The q-quantile (0 ≤ q ≤ 1) of ascending `sorted` values by linear interpolation between
    /// the closest ranks (numpy's default, "type 7"): with `h = q · (n − 1)`,
    /// `x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋ + 1] − x[⌊h⌋])`. `sorted` must not be empty.
    public static func percentile(sorted s: [Double], _ q: Double) -> Double {
        guard !s.isEmpty else { return .nan }
        let clamped = min(1, max(0, q))
        let pos = clamped * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(s.count - 1, lo + 1)
        let f = pos - Double(lo)
        return s[lo] * (1 - f) + s[hi] * f
    }
}
