import Foundation

/// Images read from an IDX image file: `count` images of `rows × columns` unsigned bytes,
/// row-major, image after image.
public struct IDXImages: Sendable, Equatable {
    /// The number of images.
    public let count: Int
    /// Rows per image.
    public let rows: Int
    /// Columns per image.
    public let columns: Int
    /// `count · rows · columns` pixels.
    public let pixels: [UInt8]

    /// Creates an image set, checking that `pixels` holds exactly `count · rows · columns`
    /// bytes.
    /// - Throws: `DataError.invalidArgument` when the sizes disagree or a size is negative.
    public init(count: Int, rows: Int, columns: Int, pixels: [UInt8]) throws {
        guard count >= 0, rows >= 0, columns >= 0 else {
            throw DataError.invalidArgument("IDX images: negative size \(count)×\(rows)×\(columns)")
        }
        let (perImage, o1) = rows.multipliedReportingOverflow(by: columns)
        let (total, o2) = perImage.multipliedReportingOverflow(by: count)
        guard !o1, !o2, total == pixels.count else {
            throw DataError.invalidArgument("IDX images: \(count)×\(rows)×\(columns) does not match \(pixels.count) pixels")
        }
        self.count = count
        self.rows = rows
        self.columns = columns
        self.pixels = pixels
    }
}

/// The IDX file format of the MNIST distribution (LeCun et al.), unsigned-byte variant:
/// a big-endian header of a magic number and int32 dimensions, then the data.
///
/// - images: `0x00000803`, N, rows, columns, then N·rows·columns `UInt8`
/// - labels: `0x00000801`, N, then N `UInt8`
///
/// The reader trusts nothing in a file: it checks the magic number, that the header is
/// complete, that every dimension is non-negative and at most `maximumSide`, that the
/// product of the dimensions does not overflow and equals the payload size exactly, and
/// that every label is a valid class. Each failure is a `DataError` naming the file.
public enum IDX {
    /// The magic number of an unsigned-byte, three-dimensional (image) file.
    public static let imageMagic: UInt32 = 0x0000_0803
    /// The magic number of an unsigned-byte, one-dimensional (label) file.
    public static let labelMagic: UInt32 = 0x0000_0801
    /// The largest accepted image side; larger headers are treated as corrupt.
    public static let maximumSide = 1 << 15

    // MARK: - Reading files

    /// Reads an IDX image file.
    /// - Throws: `DataError` (missing file, wrong magic, truncated header, invalid
    ///   dimensions, payload size mismatch).
    public static func readImages(at url: URL) throws -> IDXImages {
        try parseImages(FileBytes.read(url), file: url.path)
    }

    /// Reads an IDX label file, checking every label is in `0..<classCount`.
    /// - Throws: `DataError` (missing file, wrong magic, truncated header, invalid
    ///   dimensions, payload size mismatch, label out of range).
    public static func readLabels(at url: URL, classCount: Int = 10) throws -> [Int] {
        try parseLabels(FileBytes.read(url), file: url.path, classCount: classCount)
    }

    // MARK: - Parsing bytes

    /// Parses the bytes of an IDX image file; `file` names it in errors.
    public static func parseImages(_ bytes: [UInt8], file: String) throws -> IDXImages {
        try checkMagic(bytes, expected: imageMagic, file: file)
        let headerBytes = 16
        guard bytes.count >= headerBytes else {
            throw DataError.truncatedHeader(file: file, expectedBytes: headerBytes, actualBytes: bytes.count)
        }
        let dims = [int32(bytes, at: 4), int32(bytes, at: 8), int32(bytes, at: 12)]
        if let bad = dims.firstIndex(where: { $0 < 0 }) {
            throw DataError.invalidDimensions(file: file, dimensions: dims,
                                              reason: "\(["count", "rows", "columns"][bad]) is negative")
        }
        let (n, rows, columns) = (dims[0], dims[1], dims[2])
        guard rows >= 1, columns >= 1 else {
            throw DataError.invalidDimensions(file: file, dimensions: dims, reason: "an image side is zero")
        }
        guard rows <= maximumSide, columns <= maximumSide else {
            throw DataError.invalidDimensions(file: file, dimensions: dims,
                                              reason: "an image side exceeds \(maximumSide)")
        }
        let (perImage, o1) = rows.multipliedReportingOverflow(by: columns)
        let (expected, o2) = perImage.multipliedReportingOverflow(by: n)
        guard !o1, !o2 else {
            throw DataError.invalidDimensions(file: file, dimensions: dims, reason: "count × rows × columns overflows")
        }
        let actual = bytes.count - headerBytes
        guard actual == expected else {
            throw DataError.payloadSizeMismatch(file: file, expectedBytes: expected, actualBytes: actual)
        }
        return try IDXImages(count: n, rows: rows, columns: columns, pixels: Array(bytes[headerBytes...]))
    }

    /// Parses the bytes of an IDX label file; `file` names it in errors. Labels must lie in
    /// `0..<classCount` (`classCount` in 1...256).
    public static func parseLabels(_ bytes: [UInt8], file: String, classCount: Int = 10) throws -> [Int] {
        guard (1...256).contains(classCount) else {
            throw DataError.invalidArgument("classCount must be in 1...256, got \(classCount)")
        }
        try checkMagic(bytes, expected: labelMagic, file: file)
        let headerBytes = 8
        guard bytes.count >= headerBytes else {
            throw DataError.truncatedHeader(file: file, expectedBytes: headerBytes, actualBytes: bytes.count)
        }
        let n = int32(bytes, at: 4)
        guard n >= 0 else {
            throw DataError.invalidDimensions(file: file, dimensions: [n], reason: "count is negative")
        }
        let actual = bytes.count - headerBytes
        guard actual == n else {
            throw DataError.payloadSizeMismatch(file: file, expectedBytes: n, actualBytes: actual)
        }
        var labels = [Int]()
        labels.reserveCapacity(n)
        for i in 0..<n {
            let label = Int(bytes[headerBytes + i])
            guard label < classCount else {
                throw DataError.labelOutOfRange(file: file, index: i, label: label, classCount: classCount)
            }
            labels.append(label)
        }
        return labels
    }

    // MARK: - Writing

    /// The bytes of an IDX image file holding `images`.
    /// - Throws: `DataError.invalidArgument` when a dimension does not fit an int32.
    public static func encode(_ images: IDXImages) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16 + images.pixels.count)
        append(imageMagic, to: &out)
        for d in [images.count, images.rows, images.columns] { try append(dimension: d, to: &out) }
        out.append(contentsOf: images.pixels)
        return out
    }

    /// The bytes of an IDX label file holding `labels` (each in 0...255).
    /// - Throws: `DataError.invalidArgument` for a label outside 0...255.
    public static func encode(labels: [Int]) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(8 + labels.count)
        append(labelMagic, to: &out)
        try append(dimension: labels.count, to: &out)
        for (i, label) in labels.enumerated() {
            guard let byte = UInt8(exactly: label) else {
                throw DataError.invalidArgument("label \(label) at index \(i) does not fit an unsigned byte")
            }
            out.append(byte)
        }
        return out
    }

    /// Atomically writes `images` as an IDX image file.
    public static func write(_ images: IDXImages, to url: URL) throws {
        try AtomicFile.write(encode(images), to: url)
    }

    /// Atomically writes `labels` as an IDX label file.
    public static func write(labels: [Int], to url: URL) throws {
        try AtomicFile.write(encode(labels: labels), to: url)
    }

    // MARK: - Helpers

    private static func checkMagic(_ bytes: [UInt8], expected: UInt32, file: String) throws {
        guard bytes.count >= 4 else {
            throw DataError.truncatedHeader(file: file, expectedBytes: expected == imageMagic ? 16 : 8,
                                            actualBytes: bytes.count)
        }
        let found = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        guard found == expected else { throw DataError.wrongMagic(file: file, expected: expected, found: found) }
    }

    /// The big-endian signed 32-bit integer at `offset` (the caller checked the bounds).
    private static func int32(_ bytes: [UInt8], at offset: Int) -> Int {
        let u = UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16
            | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
        return Int(Int32(bitPattern: u))
    }

    private static func append(_ word: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: word >> 24))
        out.append(UInt8(truncatingIfNeeded: word >> 16))
        out.append(UInt8(truncatingIfNeeded: word >> 8))
        out.append(UInt8(truncatingIfNeeded: word))
    }

    private static func append(dimension: Int, to out: inout [UInt8]) throws {
        guard let d = Int32(exactly: dimension), d >= 0 else {
            throw DataError.invalidArgument("IDX dimension \(dimension) does not fit a non-negative int32")
        }
        append(UInt32(bitPattern: d), to: &out)
    }
}
