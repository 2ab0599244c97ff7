/// Runs `body` (one iteration) under `policy`: warm-up, adaptive iteration count, rounds;
/// every iteration is timed on its own. Use for iterations of at least a few microseconds,
/// where the two clock reads (~40 ns) are noise.
public func measure(_ policy: TimingPolicy, _ body: () throws -> Void) rethrows -> Statistics {
    let perRound = policy.iterationsPerRound(estimateNanoseconds: try warmUp(policy, body))
    var samples: [Double] = []
    samples.reserveCapacity(perRound * policy.rounds)
    for _ in 0..<policy.rounds {
        for _ in 0..<perRound {
            let t0 = MonotonicClock.now()
            try body()
            samples.append(Double(MonotonicClock.now() - t0))
        }
    }
    return Statistics(nonEmpty: samples, rounds: policy.rounds, iterationsPerRound: perRound)
}

/// Warms `body` up (at least `warmupIterations` and `warmupSeconds`) and returns the median
/// iteration time of the second half of the warm-up (the first steps allocate state), in ns.
func warmUp(_ policy: TimingPolicy, _ body: () throws -> Void) rethrows -> Double {
    let start = MonotonicClock.now()
    var warm = 0
    var warmTimes: [Double] = []
    while warm < policy.warmupIterations || Double(MonotonicClock.now() - start) < policy.warmupSeconds * 1e9 {
        let t0 = MonotonicClock.now()
        try body()
        warmTimes.append(Double(MonotonicClock.now() - t0))
        warm += 1
        if warm > 1_000_000 { break }
    }
    let tail = warmTimes.suffix(max(1, warmTimes.count / 2))
    return max(1.0, tail.sorted()[tail.count / 2])
}

/// The order in which interleaved cases run: round r runs every case once, starting with
/// case `r mod n` and going round-robin (`r, r + 1, …, r + n − 1`, all mod n). Drift and
/// load from other processes therefore hit every case alike, and no case always runs first
/// (right after another case has evicted its data from the caches) or last.
public enum InterleavedSchedule {
    /// The case indices of round `round`, in the order they run.
    public static func order(round: Int, cases: Int) -> [Int] {
        guard cases > 0 else { return [] }
        return (0..<cases).map { (round + $0) % cases }
    }

    /// The whole run: `(round, case)` pairs in execution order.
    public static func schedule(rounds: Int, cases: Int) -> [(round: Int, case: Int)] {
        (0..<max(0, rounds)).flatMap { r in order(round: r, cases: cases).map { (round: r, case: $0) } }
    }
}

/// The result of measuring several cases interleaved: per case, the statistics over all its
/// samples, and the median of each round (for per-round ratios between cases).
public struct InterleavedMeasurement: Sendable {
    /// Per case, in the order the bodies were given.
    public var statistics: [Statistics]
    /// `roundMedians[c][r]`: the median iteration time (ns) of case c in round r.
    public var roundMedians: [[Double]]
}

/// Measures several bodies interleaved: each is warmed up (in turn), its iterations per round
/// are chosen from its own warm-up, then every round runs each case's iterations in the order
/// of ``InterleavedSchedule`` (round-robin, the first case rotating). Every iteration is timed
/// on its own.
/// - Throws: what a body throws; `BenchmarkError.noCases` when `bodies` is empty.
public func measureInterleaved(_ policy: TimingPolicy, _ bodies: [() throws -> Void]) throws -> InterleavedMeasurement {
    guard !bodies.isEmpty else { throw BenchmarkError.noCases }
    var perRound: [Int] = []
    for body in bodies { perRound.append(policy.iterationsPerRound(estimateNanoseconds: try warmUp(policy, body))) }
    var samples = [[Double]](repeating: [], count: bodies.count)
    for c in bodies.indices { samples[c].reserveCapacity(perRound[c] * policy.rounds) }
    var medians = [[Double]](repeating: [], count: bodies.count)
    var round = [Double]()
    for r in 0..<policy.rounds {
        for c in InterleavedSchedule.order(round: r, cases: bodies.count) {
            round.removeAll(keepingCapacity: true)
            let body = bodies[c]
            for _ in 0..<perRound[c] {
                let t0 = MonotonicClock.now()
                try body()
                round.append(Double(MonotonicClock.now() - t0))
            }
            samples[c] += round
            medians[c].append(Statistics.percentile(sorted: round.sorted(), 0.5))
        }
    }
    let statistics = bodies.indices.map { Statistics(nonEmpty: samples[$0], rounds: policy.rounds, iterationsPerRound: perRound[$0]) }
    return InterleavedMeasurement(statistics: statistics, roundMedians: medians)
}
