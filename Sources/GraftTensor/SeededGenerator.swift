/// A portable pseudo-random generator: Xoshiro256** (Blackman & Vigna, 2018), seeded
/// through SplitMix64 (Steele et al., 2014).
///
/// The sequence depends only on the seed, never on the platform or the Swift version, so
/// seeded initialisation, dropout masks, data shuffles and augmentations are reproducible
/// on every machine. It conforms to `RandomNumberGenerator`, but prefer its own
/// `nextFloat`, `nextNormal`, `next(below:)` and `shuffle` whose algorithms are fixed here.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Hashable, Codable {
    /// The four words of Xoshiro256** state (never all zero).
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64) {
        get { (s0, s1, s2, s3) }
        set { (s0, s1, s2, s3) = newValue }
    }
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Seeds the state with four successive SplitMix64 outputs of `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// Restores a generator from a state captured with `state` (for checkpoints).
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        (s0, s1, s2, s3) = state
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    @inline(__always) private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 &- k))
    }

    /// The next 64 random bits.
    @inlinable public mutating func next() -> UInt64 { nextWord() }

    @usableFromInline mutating func nextWord() -> UInt64 {
        let result = SeededGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = SeededGenerator.rotl(s3, 45)
        return result
    }

    /// A uniform `Float` in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float {
        Float(nextWord() >> 40) * 0x1p-24
    }

    /// A uniform `Double` in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(nextWord() >> 11) * 0x1p-53
    }

    /// A uniform `Float` in [lower, upper).
    ///
    /// `lower + (upper − lower)·u` can round up to `upper` (for example `1 + (1 − 2⁻²⁴)` is a
    /// tie that rounds to 2), so such a result is replaced by the largest float below `upper`.
    public mutating func nextFloat(in lower: Float, _ upper: Float) -> Float {
        let x = lower + (upper - lower) * nextFloat()
        return x < upper || !(upper > lower) ? x : upper.nextDown
    }

    /// A standard normal sample (Box–Muller in `Double`, one sample per two uniforms).
    public mutating func nextNormal() -> Float {
        let u1 = 1.0 - nextDouble()  // (0, 1]
        let u2 = nextDouble()
        return Float((-2.0 * _log(u1)).squareRoot() * _cos(2.0 * Double.pi * u2))
    }

    /// A uniform integer in `0..<bound` (Lemire's multiply-shift with rejection; `bound > 0`).
    public mutating func next(below bound: Int) -> Int {
        checkPrecondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        var m = nextWord().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold { m = nextWord().multipliedFullWidth(by: b) }
        }
        return Int(m.high)
    }

    /// Shuffles `array` in place (Fisher–Yates with `next(below:)`: portable).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = next(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// A random permutation of `0..<n`.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        shuffle(&p)
        return p
    }

    public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool {
        a.s0 == b.s0 && a.s1 == b.s1 && a.s2 == b.s2 && a.s3 == b.s3
    }
    public func hash(into h: inout Hasher) { h.combine(s0); h.combine(s1); h.combine(s2); h.combine(s3) }
}

// Foundation-free math used by the generator.
#if canImport(Glibc)
import Glibc
@inline(__always) func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
