import GraftBenchmarking
import Testing

/// The order interleaved cases run in: round r starts with case r mod n, round-robin.
@Suite("GraftBenchmarking: interleaved repetitions")
struct InterleavingTests {
    @Test("the schedule rotates the first case each round")
    func schedule() {
        #expect(InterleavedSchedule.order(round: 0, cases: 3) == [0, 1, 2])
        #expect(InterleavedSchedule.order(round: 1, cases: 3) == [1, 2, 0])
        #expect(InterleavedSchedule.order(round: 2, cases: 3) == [2, 0, 1])
        #expect(InterleavedSchedule.order(round: 3, cases: 3) == [0, 1, 2])
        #expect(InterleavedSchedule.order(round: 5, cases: 2) == [1, 0])
        #expect(InterleavedSchedule.order(round: 0, cases: 0) == [])
        let all = InterleavedSchedule.schedule(rounds: 2, cases: 2)
        #expect(all.map(\.round) == [0, 0, 1, 1])
        #expect(all.map(\.case) == [0, 1, 1, 0])
    }

    @Test("measureInterleaved warms each case up, then runs the rounds in schedule order")
    func executionOrder() throws {
        // One warm-up iteration and one timed iteration per round and case (round time 0).
        let policy = TimingPolicy(warmupSeconds: 0, warmupIterations: 1, roundSeconds: 0, rounds: 4)
        var log: [Int] = []
        let bodies: [() throws -> Void] = (0..<3).map { c in { log.append(c) } }
        let m = try measureInterleaved(policy, bodies)
        #expect(log == [0, 1, 2] + [0, 1, 2] + [1, 2, 0] + [2, 0, 1] + [0, 1, 2])
        #expect(m.statistics.count == 3)
        #expect(m.statistics.allSatisfy { $0.samples == 4 && $0.rounds == 4 && $0.iterationsPerRound == 1 })
        #expect(m.roundMedians.map(\.count) == [4, 4, 4])
    }

    @Test("each case runs its own iterations per round, all of them before the next case")
    func blocksPerCase() throws {
        let policy = TimingPolicy(warmupSeconds: 0, warmupIterations: 2, roundSeconds: 0, rounds: 2)
        var log: [Int] = []
        let m = try measureInterleaved(policy, [{ log.append(0) }, { log.append(1) }])
        #expect(log == [0, 0, 1, 1] + [0, 1] + [1, 0])
        #expect(m.statistics.map(\.samples) == [2, 2])
    }

    @Test("no cases is a typed error, and a body's error propagates")
    func errors() {
        #expect(throws: BenchmarkError.noCases) { try measureInterleaved(.minimal, []) }
        struct Boom: Error {}
        #expect(throws: Boom.self) { try measureInterleaved(.minimal, [{}, { throw Boom() }]) }
    }

    @Test("measure times every iteration of every round")
    func single() {
        var count = 0
        let s = measure(TimingPolicy(warmupSeconds: 0, warmupIterations: 3, roundSeconds: 0, rounds: 5)) { count += 1 }
        #expect(count == 3 + 5)
        #expect(s.samples == 5 && s.p0 >= 0 && s.p0 <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p100)
    }
}
