import GraftTensor

/// Independent per-image random streams derived from one seed.
///
/// Batch operations give image `i` its own generator, seeded from `(seed, stream, i)`, so
/// a result depends only on the seed and the image's position: never on how the batch is
/// split across threads.
enum SeedDerivation {
    /// SplitMix64's finaliser (Steele et al., 2014): a bijective 64-bit mix.
    @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The generator of item `index` in stream `stream` under `seed`.
    static func generator(seed: UInt64, stream: UInt64, index: Int) -> SeededGenerator {
        SeededGenerator(seed: mix(mix(seed) ^ stream) &+ UInt64(truncatingIfNeeded: index))
    }
}
