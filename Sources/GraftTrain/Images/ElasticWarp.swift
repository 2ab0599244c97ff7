import GraftTensor

extension ImageOps {
    /// Fills `field` (`2 · side · side` values: x offsets, then y offsets) with a smooth
    /// random displacement field in the manner of Simard et al. (2003), "Best practices for
    /// convolutional neural networks applied to visual document analysis".
    ///
    /// Each component starts as independent uniform noise in [−1, 1], is smoothed by a
    /// Gaussian of `smoothness` pixels, and the field is then rescaled so the root mean
    /// square displacement length is `amplitude` pixels. Normalising by RMS (rather than
    /// Simard's fixed α) makes `amplitude` mean the same thing for any side and smoothness.
    public static func elasticDisplacement(into field: UnsafeMutableBufferPointer<Float>, side: Int,
                                           amplitude: Float, smoothness: Float, generator: inout SeededGenerator) {
        let n = side * side
        checkPrecondition(side > 0 && field.count == 2 * n, "elasticDisplacement: field must hold 2·side² values")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * n) { noise in
            for i in 0..<(2 * n) { noise[i] = generator.nextFloat(in: -1, 1) }
            for component in 0..<2 {
                let range = (component * n)..<((component + 1) * n)
                gaussianFilter(UnsafeBufferPointer(rebasing: noise[range]),
                               into: UnsafeMutableBufferPointer(rebasing: field[range]), side: side, sigma: smoothness)
            }
        }
        var squared: Float = 0
        for i in 0..<n { squared += field[i] * field[i] + field[n + i] * field[n + i] }
        let rms = (squared / Float(n)).squareRoot()
        let factor = rms > 0 ? amplitude / rms : 0
        for i in 0..<(2 * n) { field[i] *= factor }
    }

    /// Elastically distorts `source` into `destination`: a random smooth displacement field
    /// (`elasticDisplacement`) of RMS length `amplitude` pixels and Gaussian `smoothness`,
    /// sampled bilinearly. `amplitude = 0` copies the image.
    public static func elasticWarp(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                                   side: Int, amplitude: Float, smoothness: Float, generator: inout SeededGenerator) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * side * side) { field in
            elasticDisplacement(into: field, side: side, amplitude: amplitude, smoothness: smoothness, generator: &generator)
            warp(source, into: destination, side: side, transform: .identity, displacement: UnsafeBufferPointer(field))
        }
    }
}

extension SquareImage {
    /// The image elastically distorted (see `ImageOps.elasticWarp`).
    public func elasticallyWarped(amplitude: Float, smoothness: Float, generator: inout SeededGenerator) -> SquareImage {
        var out = self
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                ImageOps.elasticWarp(src, into: dst, side: side, amplitude: amplitude, smoothness: smoothness,
                                     generator: &generator)
            }
        }
        return out
    }
}
