import GraftTensor
/// One single-channel square image, row-major, pixels nominally in [0, 1].
///
/// A convenient value type for single images (tests, previews, examples). Batches are
/// processed through the buffer kernels of `ImageOps` on a data set's tensor instead, which
/// allocate nothing per image.
public struct SquareImage: Sendable, Equatable {
    /// The side length in pixels.
    public let side: Int
    /// `side · side` pixels, row-major (row 0 at the top).
    public var pixels: [Float]

    /// An image from row-major pixels.
    /// - Throws: `DataError.invalidArgument` unless `side > 0` and
    ///   `pixels.count == side · side`.
    public init(side: Int, pixels: [Float]) throws {
        guard side > 0, side <= 1 << 15 else { throw DataError.invalidArgument("invalid image side \(side)") }
        guard pixels.count == side * side else {
            throw DataError.invalidArgument("a \(side)×\(side) image needs \(side * side) pixels, got \(pixels.count)")
        }
        self.side = side
        self.pixels = pixels
    }

    /// A black image.
    /// - Throws: `DataError.invalidArgument` unless `side` is in `1...32768`.
    public init(side: Int) throws {
        guard side > 0, side <= 1 << 15 else { throw DataError.invalidArgument("invalid image side \(side)") }
        try self.init(side: side, pixels: [Float](repeating: 0, count: side * side))
    }

    /// The pixel at `row`, `column` (bounds are checked).
    public subscript(row: Int, column: Int) -> Float {
        get {
            checkPrecondition((0..<side).contains(row) && (0..<side).contains(column), "pixel (\(row), \(column)) outside a \(side)×\(side) image")
            return pixels[row * side + column]
        }
        set {
            checkPrecondition((0..<side).contains(row) && (0..<side).contains(column), "pixel (\(row), \(column)) outside a \(side)×\(side) image")
            pixels[row * side + column] = newValue
        }
    }

    /// Applies a buffer kernel `body(source, destination)` and returns the result.
    @inlinable
    func mapped(_ body: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) -> SquareImage {
        var out = self
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in body(src, dst) }
        }
        return out
    }
}

extension DigitDataset {
    /// Image `index` as a `SquareImage`.
    /// - Throws: `DataError.indexOutOfRange` for an index outside `0..<count`.
    public func image(at index: Int) throws -> SquareImage {
        guard (0..<count).contains(index) else { throw DataError.indexOutOfRange(index: index, count: count) }
        let p = pixelCount
        return try SquareImage(side: side, pixels: Array(images.scalars[(index * p)..<((index + 1) * p)]))
    }
}
