import GraftTensor
/// Image operations on single-channel square images stored row-major in `side · side`
/// buffers (white content on a black background, pixels in [0, 1]).
///
/// Every kernel writes a separate destination buffer (source and destination must not
/// overlap), allocates nothing on the heap for images up to 64×64 (scratch space is a
/// temporary allocation), and clamps its output to [0, 1]. Buffer sizes are checked with
/// `checkPrecondition` (the message survives release builds): they are programming errors, not data errors. Random kernels take the
/// generator explicitly, so a seed fixes their result.
public enum ImageOps {}

extension ImageOps {
    /// Resamples `source` into `destination`: each output pixel `q` (centre-relative) takes
    /// the source value at `transform⁻¹(q + displacement(q))`, by bilinear interpolation
    /// with black outside the image.
    ///
    /// `displacement`, when given, holds `2 · side · side` values: the x offsets of every
    /// pixel, then the y offsets (an elastic field, see `elasticDisplacement`). A singular
    /// `transform` collapses the image to a set of zero area, so the output is black.
    public static func warp(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                            side: Int, transform: AffineTransform,
                            displacement: UnsafeBufferPointer<Float>? = nil) {
        let n = side * side
        checkPrecondition(side > 0 && source.count == n && destination.count == n, "warp: buffers must hold side² pixels")
        checkPrecondition(displacement.map { $0.count == 2 * n } ?? true, "warp: displacement must hold 2·side² values")
        guard let inv = transform.inverse else {
            destination.update(repeating: 0)
            return
        }
        let centre = Float(side - 1) / 2
        for row in 0..<side {
            let y = Float(row) - centre
            for column in 0..<side {
                let i = row * side + column
                var qx = Float(column) - centre, qy = y
                if let displacement {
                    qx += displacement[i]
                    qy += displacement[n + i]
                }
                let p = inv.apply(x: qx, y: qy)
                destination[i] = min(1, max(0, sampleBilinear(source, side: side, x: p.x + centre, y: p.y + centre)))
            }
        }
    }

    /// The source value at absolute pixel coordinates `(x, y)` (column, row) by bilinear
    /// interpolation, treating pixels outside the image as 0. Exact at integer coordinates.
    @inline(__always)
    static func sampleBilinear(_ s: UnsafeBufferPointer<Float>, side: Int, x: Float, y: Float) -> Float {
        guard x.isFinite, y.isFinite, x > -1, y > -1, x < Float(side), y < Float(side) else { return 0 }
        let fx = x.rounded(.down), fy = y.rounded(.down)
        let x0 = Int(fx), y0 = Int(fy)
        let wx = x - fx, wy = y - fy
        func at(_ r: Int, _ c: Int) -> Float {
            (r >= 0 && r < side && c >= 0 && c < side) ? s[r * side + c] : 0
        }
        let top = at(y0, x0) + wx * (at(y0, x0 + 1) - at(y0, x0))
        let bottom = at(y0 + 1, x0) + wx * (at(y0 + 1, x0 + 1) - at(y0 + 1, x0))
        return top + wy * (bottom - top)
    }
}

extension SquareImage {
    /// The image resampled through `transform` (see `ImageOps.warp`).
    public func warped(by transform: AffineTransform) -> SquareImage {
        mapped { ImageOps.warp($0, into: $1, side: side, transform: transform) }
    }
}
