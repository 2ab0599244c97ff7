import GraftTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ImageOps {
    /// Adds independent Gaussian noise of standard deviation `sigma` to every pixel and
    /// clamps the result to [0, 1]. `sigma = 0` leaves an image in [0, 1] unchanged (the
    /// generator still advances by the same amount, so later draws do not depend on σ).
    ///
    /// Normal samples come in pairs from the Box–Muller transform in `Float` (both the
    /// cosine and the sine output are used, half the cost of one sample per call); with
    /// 24-bit uniforms the samples are bounded by ±5.8, irrelevant for pixel noise.
    public static func addGaussianNoise(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                                        sigma: Float, generator: inout SeededGenerator) {
        checkPrecondition(source.count == destination.count, "addGaussianNoise: buffers differ in size")
        let count = source.count
        var i = 0
        while i < count {
            let u1 = 1 - generator.nextFloat()  // (0, 1]
            let u2 = generator.nextFloat()
            let radius = (-2 * logf(u1)).squareRoot()
            let angle = 2 * Float.pi * u2
            destination[i] = min(1, max(0, source[i] + sigma * radius * cosf(angle)))
            if i + 1 < count {
                destination[i + 1] = min(1, max(0, source[i + 1] + sigma * radius * sinf(angle)))
            }
            i += 2
        }
    }
}

extension SquareImage {
    /// The image with Gaussian pixel noise of standard deviation `sigma`, clamped to [0, 1].
    public func addingGaussianNoise(sigma: Float, generator: inout SeededGenerator) -> SquareImage {
        var out = self
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                ImageOps.addGaussianNoise(src, into: dst, sigma: sigma, generator: &generator)
            }
        }
        return out
    }
}
