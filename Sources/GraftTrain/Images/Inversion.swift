import GraftTensor
extension ImageOps {
    /// Inverts polarity, `1 − x` (white on black becomes black on white).
    public static func invert(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>) {
        checkPrecondition(source.count == destination.count, "invert: buffers differ in size")
        for i in 0..<source.count { destination[i] = 1 - source[i] }
    }
}

extension SquareImage {
    /// The image with inverted polarity, `1 − x`.
    public func inverted() -> SquareImage { mapped { ImageOps.invert($0, into: $1) } }
}
