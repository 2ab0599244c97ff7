import GraftTensor
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
        checkPrecondition(side > 0 && source.count == n && destination.count == n, "gaussianBlur: buffers must hold side² pixels")
        gaussianFilter(source, into: destination, side: side, sigma: sigma)
        for i in 0..<n { destination[i] = min(1, max(0, destination[i])) }
    }

    /// Separable Gaussian filtering without clamping (also smooths displacement fields).
    ///
    /// Each pass accumulates one shifted copy of the input per tap over the valid range
    /// (loops the compiler vectorises), then divides by the in-image weight sum.
    static func gaussianFilter(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                               side: Int, sigma: Float) {
        let n = side * side
        guard sigma > 0, sigma.isFinite, side > 1 else {
            _ = destination.update(fromContentsOf: source)
            return
        }
        let radius = min(side - 1, max(1, Int((3 * sigma).rounded(.up))))
        let taps = 2 * radius + 1
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n + taps + side) { scratch in
            let rows = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            let weights = UnsafeMutableBufferPointer(rebasing: scratch[n..<(n + taps)])
            let norm = UnsafeMutableBufferPointer(rebasing: scratch[(n + taps)...])
            let denominator = 2 * sigma * sigma
            for k in -radius...radius { weights[k + radius] = Float(exp(Double(-Float(k * k) / denominator))) }
            // 1 / (sum of the weights whose tap falls inside the image), per position.
            for i in 0..<side {
                var total: Float = 0
                for k in max(-radius, -i)...min(radius, side - 1 - i) { total += weights[k + radius] }
                norm[i] = 1 / total
            }
            // Horizontal pass: rows[r, c] = Σ_k w_k · source[r, c + k].
            rows.update(repeating: 0)
            for r in 0..<side {
                let base = r * side
                for k in -radius...radius {
                    let w = weights[k + radius]
                    let lo = max(0, -k), hi = min(side, side - k)
                    for c in lo..<hi { rows[base + c] += w * source[base + c + k] }
                }
                for c in 0..<side { rows[base + c] *= norm[c] }
            }
            // Vertical pass: destination[r, c] = Σ_k w_k · rows[r + k, c].
            for r in 0..<side {
                let base = r * side
                for c in 0..<side { destination[base + c] = 0 }
                for k in max(-radius, -r)...min(radius, side - 1 - r) {
                    let w = weights[k + radius] * norm[r]
                    let from = (r + k) * side
                    for c in 0..<side { destination[base + c] += w * rows[from + c] }
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
