import GraftBenchmarking
import Testing

/// Percentiles against values computed by hand (linear interpolation between closest ranks,
/// numpy's default: h = q · (n − 1), x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋])).
@Suite("GraftBenchmarking: statistics")
struct StatisticsTests {
    @Test("p0, p50, p90, p100 and the mean of 1…10 given out of order")
    func oneToTen() throws {
        let s = try Statistics(samples: [7, 3, 10, 1, 5, 9, 2, 8, 6, 4], rounds: 2, iterationsPerRound: 5)
        #expect(s.p0 == 1)
        #expect(s.p50 == 5.5)            // h = 4.5: 5 + 0.5 · (6 − 5)
        #expect(abs(s.p90 - 9.1) < 1e-12) // h = 8.1: 9 + 0.1 · (10 − 9)
        #expect(s.p100 == 10)
        #expect(s.mean == 5.5)
        #expect(s.samples == 10 && s.rounds == 2 && s.iterationsPerRound == 5)
    }

    @Test("percentile(sorted:) interpolates between ranks and clamps q")
    func interpolation() {
        let x: [Double] = [10, 20, 30, 40]
        #expect(Statistics.percentile(sorted: x, 0.25) == 17.5) // h = 0.75
        #expect(Statistics.percentile(sorted: x, 0.1) == 13)    // h = 0.3
        #expect(Statistics.percentile(sorted: x, 0) == 10)
        #expect(Statistics.percentile(sorted: x, 1) == 40)
        #expect(Statistics.percentile(sorted: x, 2) == 40)
        #expect(Statistics.percentile(sorted: [42], 0.9) == 42)
        #expect(Statistics.percentile(sorted: [], 0.5).isNaN)
    }

    @Test("an odd count has its middle sample as the median")
    func oddMedian() throws {
        let s = try Statistics(samples: [3, 100, 1], rounds: 1, iterationsPerRound: 3)
        #expect(s.p50 == 3)
        #expect(abs(s.p90 - 80.6) < 1e-12) // h = 1.8: 3 + 0.8 · 97
    }

    @Test("no samples is a typed error")
    func empty() {
        #expect(throws: BenchmarkError.noSamples) { try Statistics(samples: [], rounds: 1, iterationsPerRound: 1) }
    }

    @Test("the ratio spread takes p10, p50, p90 of the per-round ratios")
    func spread() {
        let s = RatioSpread(ratios: [1.2, 0.9, 1.0, 1.1, 1.05])
        // sorted: 0.9, 1.0, 1.05, 1.1, 1.2; p10 h = 0.4 → 0.94; p50 → 1.05; p90 h = 3.6 → 1.16
        #expect(abs(s.p10 - 0.94) < 1e-12)
        #expect(s.p50 == 1.05)
        #expect(abs(s.p90 - 1.16) < 1e-12)
        #expect(s.rounds == [1.2, 0.9, 1.0, 1.1, 1.05])
    }

    @Test("iterations per round follow the estimate, clamped to 1…maximum")
    func iterationsPerRound() {
        let p = TimingPolicy(warmupSeconds: 0, warmupIterations: 1, roundSeconds: 0.01, rounds: 1, maximumIterationsPerRound: 500)
        #expect(p.iterationsPerRound(estimateNanoseconds: 1e6) == 10)
        #expect(p.iterationsPerRound(estimateNanoseconds: 1e9) == 1)
        #expect(p.iterationsPerRound(estimateNanoseconds: 1) == 500)
        #expect(TimingPolicy.minimal.iterationsPerRound(estimateNanoseconds: 1e3) == 1)
    }
}
