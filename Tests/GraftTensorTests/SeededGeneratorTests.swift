import Foundation
import Testing
import GraftTensor
import GraftTestSupport

/// Reference vectors stored in `Tests/Fixtures/xoshiro256starstar.json`, computed from the
/// published algorithms by `Tests/Fixtures/make_xoshiro_reference.py` (independently of
/// the Swift code).
struct XoshiroReference: Decodable {
    struct Seeded: Decodable { var seed: String; var outputs: [String] }
    var splitmix64_seed0: [String]
    var xoshiro_state_1_2_3_4: [String]
    var seeded: [Seeded]
}

@Suite("SeededGenerator")
struct SeededGeneratorTests {
    /// Pinned: the first words, floats, doubles and normals for seed 42. The words and
    /// uniforms also match the Python reference; the normals go through the C library's
    /// `log` and `cos` (glibc here; Python's `math` gives the same float32 values).
    @Test func firstOutputsForSeed42ArePinned() {
        var g = SeededGenerator(seed: 42)
        #expect((0..<4).map { _ in g.next() }
                == [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1])
        g = SeededGenerator(seed: 42)
        // nextFloat = (word >> 40) · 2⁻²⁴.
        #expect((0..<3).map { _ in g.nextFloat() * 0x1p24 } == [1_406_987, 6_358_233, 11_409_235])
        g = SeededGenerator(seed: 42)
        #expect(g.nextDouble() == Double(755_370_490_430_936) * 0x1p-53)
        g = SeededGenerator(seed: 42)
        #expect((0..<3).map { _ in g.nextNormal() } == [-0.3032630681991577, 1.3438117504119873, 0.3834618031978607])
        g = SeededGenerator(seed: 42)
        #expect((0..<8).map { _ in g.next(below: 10) } == [0, 3, 6, 9, 9, 7, 7, 8])
        g = SeededGenerator(seed: 42)
        #expect(g.permutation(10) == [9, 1, 4, 2, 8, 7, 6, 5, 3, 0])
    }

    @Test func matchesReferenceVectorsFromFixture() throws {
        let reference = try loadJSONFixture("xoshiro256starstar.json", as: XoshiroReference.self)
        let splitMix = reference.splitmix64_seed0.map { UInt64($0)! }
        let seededZero = SeededGenerator(seed: 0).state
        #expect([seededZero.0, seededZero.1, seededZero.2, seededZero.3] == splitMix)

        var g = SeededGenerator(state: (1, 2, 3, 4))
        #expect(reference.xoshiro_state_1_2_3_4.map { UInt64($0)! } == (0..<10).map { _ in g.next() })

        #expect(reference.seeded.count == 3)
        for entry in reference.seeded {
            var s = SeededGenerator(seed: UInt64(entry.seed)!)
            #expect(entry.outputs.map { UInt64($0)! } == entry.outputs.map { _ in s.next() }, "seed \(entry.seed)")
        }
    }

    @Test func sameSeedSameSequenceDifferentSeedDifferentSequence() {
        var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7), c = SeededGenerator(seed: 8)
        let sa = (0..<16).map { _ in a.next() }
        #expect(sa == (0..<16).map { _ in b.next() })
        #expect(sa != (0..<16).map { _ in c.next() })
    }

    @Test func stateRestoresAndRoundTripsThroughCodable() throws {
        var g = SeededGenerator(seed: 99)
        for _ in 0..<5 { _ = g.next() }
        var restored = SeededGenerator(state: g.state)
        #expect(restored == g && restored.hashValue == g.hashValue)
        var decoded = try JSONDecoder().decode(SeededGenerator.self, from: JSONEncoder().encode(g))
        #expect(decoded == g)
        let expected = (0..<8).map { _ in g.next() }
        #expect((0..<8).map { _ in restored.next() } == expected)
        #expect((0..<8).map { _ in decoded.next() } == expected)
    }

    @Test func allZeroStateIsRepaired() {
        var g = SeededGenerator(state: (0, 0, 0, 0))
        #expect((0..<8).map { _ in g.next() }.contains { $0 != 0 })
    }

    @Test(arguments: [1, 2, 3, 7, 10, 1000, (1 << 33) + 1, Int.max])
    func nextBelowStaysInRange(bound: Int) {
        var g = SeededGenerator(seed: UInt64(bound))
        let draws = (0..<4000).map { _ in g.next(below: bound) }
        #expect(draws.allSatisfy { (0..<bound).contains($0) })
        if bound <= 10 {
            // Every value appears, and counts stay within 15% of uniform (4000 draws:
            // at least 400 expected per value, whose standard deviation is ≤ 20).
            var counts = [Int](repeating: 0, count: bound)
            for d in draws { counts[d] += 1 }
            let mean = 4000.0 / Double(bound)
            #expect(counts.allSatisfy { abs(Double($0) - mean) < 0.15 * mean }, "counts \(counts)")
        } else if bound == 1000 {
            // 4000 draws from 1000 values hit about 1000·(1 − e⁻⁴) ≈ 982 of them.
            #expect(Set(draws).count > 950)
        } else {
            // Out of ≥ 2³³ values, 4000 draws repeat with probability ≈ 0.001.
            #expect(Set(draws).count >= 3999, "large bounds should not repeat")
        }
        // The upper half is reached (no truncation of the 64-bit word).
        #expect(draws.max()! >= bound / 2)
    }

    /// A generator whose next word is `word`. Xoshiro256** outputs `rotl(s1·5, 7)·9`, which
    /// is invertible (5 and 9 are odd), so the state word `s1` can be solved for.
    func generator(nextWord word: UInt64) -> SeededGenerator {
        func inverse(_ a: UInt64) -> UInt64 {   // Newton's iteration for a⁻¹ mod 2⁶⁴
            var x = a
            for _ in 0..<6 { x = x &* (2 &- a &* x) }
            return x
        }
        let r = word &* inverse(9)
        return SeededGenerator(state: (1, ((r >> 7) | (r << 57)) &* inverse(5), 0, 0))
    }

    @Test func extremeWordsStayInsideHalfOpenIntervals() {
        var g = generator(nextWord: .max)
        #expect(g.next() == UInt64.max)
        g = generator(nextWord: .max)
        #expect(g.nextFloat() == 1 - 0x1p-24)
        g = generator(nextWord: .max)
        #expect(g.nextDouble() == 1 - 0x1p-53)
        // 1 + (1 − 2⁻²⁴) lies halfway between 2 − 2⁻²³ and 2 and rounds to even, i.e. to 2.
        g = generator(nextWord: .max)
        #expect(g.nextFloat(in: 1, 2) < 2)
        g = generator(nextWord: .max)
        #expect(Tensor.randomUniform(shape: [1], lower: 1, upper: 2, generator: &g)[flat: 0] < 2)
        g = generator(nextWord: .max)
        #expect(g.nextFloat(in: -3, 5) < 5)
        g = generator(nextWord: 0)
        #expect(g.nextFloat(in: 1, 2) == 1 && g.nextFloat(in: 4, 4) == 4)
    }

    @Test func uniformFloatsStayInUnitInterval() {
        var g = SeededGenerator(seed: 3)
        let xs = (0..<100_000).map { _ in g.nextFloat() }
        #expect(xs.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = xs.reduce(0.0) { $0 + Double($1) } / Double(xs.count)
        #expect(abs(mean - 0.5) < 0.005)  // σ of the mean ≈ 0.0009
        let ranged = (0..<1000).map { _ in g.nextFloat(in: -2, 3) }
        #expect(ranged.allSatisfy { $0 >= -2 && $0 < 3 })
    }

    @Test(arguments: [0, 1, 2, 5, 100])
    func shuffleIsAPermutation(count: Int) {
        var g = SeededGenerator(seed: 5)
        var values = (0..<count).map { "item\($0)" }
        g.shuffle(&values)
        #expect(values.sorted() == (0..<count).map { "item\($0)" }.sorted())
        let p = g.permutation(count)
        #expect(p.sorted() == Array(0..<count))
        if count >= 5 { #expect(p != Array(0..<count), "a shuffle of \(count) left everything in place") }
    }

    @Test func shuffleReachesEveryArrangement() {
        // 3! = 6 arrangements, each about 1000 times in 6000 shuffles.
        var g = SeededGenerator(seed: 6)
        var counts: [[Int]: Int] = [:]
        for _ in 0..<6000 { counts[g.permutation(3), default: 0] += 1 }
        #expect(counts.count == 6)
        #expect(counts.values.allSatisfy { $0 > 850 && $0 < 1150 }, "\(counts)")
    }

    @Test func randomTensorsAreReproducibleAndHaveTheRightMoments() {
        var g1 = SeededGenerator(seed: 12), g2 = SeededGenerator(seed: 12)
        let a = Tensor.randomNormal(shape: [200, 100], mean: 1, standardDeviation: 2, generator: &g1)
        let b = Tensor.randomNormal(shape: [200, 100], mean: 1, standardDeviation: 2, generator: &g2)
        #expect(a == b && a.shape == [200, 100])
        let xs = doubles(a)
        let mean = xs.reduce(0, +) / Double(xs.count)
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)
        #expect(abs(mean - 1) < 0.1)          // σ of the mean = 2/√20000 ≈ 0.014
        #expect(abs(variance - 4) < 0.3)      // σ of the variance ≈ 4·√(2/20000) = 0.04
        let uniform = Tensor.randomUniform(shape: [10_000], lower: -3, upper: 5, generator: &g1)
        #expect(uniform.scalars.allSatisfy { $0 >= -3 && $0 < 5 })
        #expect(abs(uniform.mean() - 1) < 0.1)
    }
}
