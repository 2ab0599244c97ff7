import GraftTensor
extension ImageOps {
    /// Grey-level dilation by a 3×3 square: each output pixel is the maximum of its 3×3
    /// neighbourhood (neighbours outside the image are ignored). Thickens white strokes.
    /// The output is pointwise ≥ the input.
    public static func dilate(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                              side: Int) {
        morphology(source, into: destination, side: side, pick: max)
    }

    /// Grey-level erosion by a 3×3 square: each output pixel is the minimum of its 3×3
    /// neighbourhood (neighbours outside the image are ignored). Thins white strokes.
    /// The output is pointwise ≤ the input.
    public static func erode(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                             side: Int) {
        morphology(source, into: destination, side: side, pick: min)
    }

    /// A 3×3 rank filter computed separably (rows, then columns): exact for max and min.
    @inline(__always)
    private static func morphology(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                                   side: Int, pick: (Float, Float) -> Float) {
        let n = side * side
        checkPrecondition(side > 0 && source.count == n && destination.count == n, "morphology: buffers must hold side² pixels")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { rows in
            for r in 0..<side {
                let base = r * side
                for c in 0..<side {
                    var v = source[base + c]
                    if c > 0 { v = pick(v, source[base + c - 1]) }
                    if c < side - 1 { v = pick(v, source[base + c + 1]) }
                    rows[base + c] = v
                }
            }
            for r in 0..<side {
                for c in 0..<side {
                    var v = rows[r * side + c]
                    if r > 0 { v = pick(v, rows[(r - 1) * side + c]) }
                    if r < side - 1 { v = pick(v, rows[(r + 1) * side + c]) }
                    destination[r * side + c] = v
                }
            }
        }
    }
}

extension SquareImage {
    /// The image dilated by a 3×3 square (see `ImageOps.dilate`).
    public func dilated() -> SquareImage { mapped { ImageOps.dilate($0, into: $1, side: side) } }
    /// The image eroded by a 3×3 square (see `ImageOps.erode`).
    public func eroded() -> SquareImage { mapped { ImageOps.erode($0, into: $1, side: side) } }
}
