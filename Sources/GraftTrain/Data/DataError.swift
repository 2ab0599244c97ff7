/// Errors thrown while locating, reading, verifying or splitting data sets.
///
/// Every case that concerns a file names it (`file` is the path as given), and says what
/// was expected and what was found, so the message alone tells a user what to fix.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not exist.
    case missingFile(file: String)
    /// The file exists but could not be read (permissions, a directory, an I/O error).
    case unreadableFile(file: String, reason: String)
    /// Writing the file failed (the previous content, if any, is left intact).
    case writeFailed(file: String, reason: String)
    /// The file is larger than the reader accepts (`limit` bytes), so it is refused
    /// before being read into memory.
    case fileTooLarge(file: String, bytes: Int, limit: Int)
    /// The first four bytes are not the expected IDX magic number.
    case wrongMagic(file: String, expected: UInt32, found: UInt32)
    /// The file ends before its header does.
    case truncatedHeader(file: String, expectedBytes: Int, actualBytes: Int)
    /// The payload after the header is shorter (truncated) or longer (trailing bytes) than
    /// the header's dimensions require.
    case payloadSizeMismatch(file: String, expectedBytes: Int, actualBytes: Int)
    /// A header dimension is negative, zero where it must not be, absurdly large, or the
    /// dimensions' product overflows.
    case invalidDimensions(file: String, dimensions: [Int], reason: String)
    /// Images are not square (the image operations and `DigitDataset` need a side length).
    case nonSquareImages(file: String, rows: Int, columns: Int)
    /// A label is outside `0..<classCount`.
    case labelOutOfRange(file: String, index: Int, label: Int, classCount: Int)
    /// An image file and a label file disagree on the number of samples.
    case countMismatch(imagesFile: String, images: Int, labelsFile: String, labels: Int)
    /// A file's SHA-256 digest differs from the one listed in the checksum file.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// The checksum file does not list this file.
    case checksumNotListed(file: String, checksumFile: String)
    /// A line of a checksum file is not `HASH  filename`.
    case malformedChecksumFile(file: String, line: Int, reason: String)
    /// The data folder was not found; `searched` lists every place that was tried, in order.
    case dataNotFound(searched: [String])
    /// A class has fewer samples than a split asks for.
    case notEnoughSamples(label: Int, available: Int, required: Int)
    /// An index (for example in `DigitDataset.subset`) is outside `0..<count`.
    case indexOutOfRange(index: Int, count: Int)
    /// Arguments are inconsistent (for example images and labels of different lengths
    /// passed to `DigitDataset.init`).
    case invalidArgument(String)

    /// The file the error is about, when there is one.
    public var file: String? {
        switch self {
        case let .missingFile(file), let .unreadableFile(file, _), let .writeFailed(file, _),
             let .fileTooLarge(file, _, _),
             let .wrongMagic(file, _, _), let .truncatedHeader(file, _, _),
             let .payloadSizeMismatch(file, _, _), let .invalidDimensions(file, _, _),
             let .nonSquareImages(file, _, _), let .labelOutOfRange(file, _, _, _),
             let .checksumMismatch(file, _, _), let .checksumNotListed(file, _),
             let .malformedChecksumFile(file, _, _):
            return file
        case let .countMismatch(imagesFile, _, _, _):
            return imagesFile
        case .dataNotFound, .notEnoughSamples, .indexOutOfRange, .invalidArgument:
            return nil
        }
    }

    /// A one-line explanation naming the file and what is wrong.
    public var description: String {
        switch self {
        case let .missingFile(file):
            return "\(file): no such file"
        case let .unreadableFile(file, reason):
            return "\(file): cannot be read (\(reason))"
        case let .writeFailed(file, reason):
            return "\(file): cannot be written (\(reason))"
        case let .fileTooLarge(file, bytes, limit):
            return "\(file): \(bytes) bytes is more than the \(limit)-byte limit"
        case let .wrongMagic(file, expected, found):
            return "\(file): wrong magic number \(DataError.hex(found)), expected \(DataError.hex(expected))"
        case let .truncatedHeader(file, expected, actual):
            return "\(file): truncated header: \(actual) bytes, the header needs \(expected)"
        case let .payloadSizeMismatch(file, expected, actual):
            let what = actual < expected ? "truncated payload" : "trailing bytes after the payload"
            return "\(file): \(what): the header announces \(expected) payload bytes, the file has \(actual)"
        case let .invalidDimensions(file, dimensions, reason):
            return "\(file): invalid dimensions \(dimensions): \(reason)"
        case let .nonSquareImages(file, rows, columns):
            return "\(file): images are \(rows)×\(columns), expected square images"
        case let .labelOutOfRange(file, index, label, classCount):
            return "\(file): label \(label) of sample \(index) is outside 0..<\(classCount)"
        case let .countMismatch(imagesFile, images, labelsFile, labels):
            return "\(imagesFile) has \(images) images but \(labelsFile) has \(labels) labels"
        case let .checksumMismatch(file, expected, actual):
            return "\(file): SHA-256 \(actual) does not match the listed \(expected)"
        case let .checksumNotListed(file, checksumFile):
            return "\(file): not listed in \(checksumFile)"
        case let .malformedChecksumFile(file, line, reason):
            return "\(file):\(line): \(reason)"
        case let .dataNotFound(searched):
            return "data folder not found; looked in:\n" + searched.map { "  - \($0)" }.joined(separator: "\n")
                + "\nPass its path explicitly or set GRAFT_DATA to the Data/digits16 folder."
        case let .notEnoughSamples(label, available, required):
            return "class \(label) has \(available) samples, the split needs \(required)"
        case let .indexOutOfRange(index, count):
            return "index \(index) is outside 0..<\(count)"
        case let .invalidArgument(message):
            return message
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
