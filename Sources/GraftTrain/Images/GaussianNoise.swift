import GraftTensor

extension ImageOps {
    /// Adds independent Gaussian noise of standard deviation `sigma` to every pixel and
    /// clamps the result to [0, 1]. `sigma = 0` leaves an image in [0, 1] unchanged (the
    /// generator still advances, one draw per pixel, so later draws do not depend on σ).
    public static func addGaussianNoise(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                                        sigma: Float, generator: inout SeededGenerator) {
        precondition(source.count == destination.count, "addGaussianNoise: buffers differ in size")
        for i in 0..<source.count {
            destination[i] = min(1, max(0, source[i] + sigma * generator.nextNormal()))
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
