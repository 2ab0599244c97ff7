#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ImageOps {
    /// Blurs `source` into `destination` with a Gaussian of standard deviation `sigma`
    /// pixels (separable, truncated at `⌈3σ⌉` pixels, at least the 3×3 neighbourhood).
    ///
    /// Near the border the weights are renormalised over the pixels inside the image, so a
    /// constant image stays constant and the output stays within the input's range.
    /// `sigma ≤ 0` copies the image.
    public static func gaussianBlur(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                                    side: Int, sigma: Float) {
        let n = side * side
        precondition(side > 0 && source.count == n && destination.count == n, "gaussianBlur: buffers must hold side² pixels")
        gaussianFilter(source, into: destination, side: side, sigma: sigma)
        for i in 0..<n { destination[i] = min(1, max(0, destination[i])) }
    }

    /// Separable Gaussian filtering without clamping (also smooths displacement fields).
    static func gaussianFilter(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                               side: Int, sigma: Float) {
        let n = side * side
        guard sigma > 0, sigma.isFinite, side > 1 else {
            _ = destination.update(fromContentsOf: source)
            return
        }
        let radius = min(side - 1, max(1, Int((3 * sigma).rounded(.up))))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * radius + 1) { weights in
            let denominator = 2 * sigma * sigma
            for k in -radius...radius { weights[k + radius] = Float(exp(Double(-Float(k * k) / denominator))) }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { rows in
                // Horizontal pass into `rows`, vertical pass into `destination`.
                for r in 0..<side {
                    for c in 0..<side {
                        var sum: Float = 0, total: Float = 0
                        for k in max(-radius, -c)...min(radius, side - 1 - c) {
                            let w = weights[k + radius]
                            sum += w * source[r * side + c + k]
                            total += w
                        }
                        rows[r * side + c] = sum / total
                    }
                }
                for r in 0..<side {
                    let lo = max(-radius, -r), hi = min(radius, side - 1 - r)
                    for c in 0..<side {
                        var sum: Float = 0, total: Float = 0
                        for k in lo...hi {
                            let w = weights[k + radius]
                            sum += w * rows[(r + k) * side + c]
                            total += w
                        }
                        destination[r * side + c] = sum / total
                    }
                }
            }
        }
    }
}

extension SquareImage {
    /// The image blurred by a Gaussian of standard deviation `sigma` pixels (see
    /// `ImageOps.gaussianBlur`).
    public func blurred(sigma: Float) -> SquareImage {
        mapped { ImageOps.gaussianBlur($0, into: $1, side: side, sigma: sigma) }
    }
}
