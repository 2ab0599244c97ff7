/// Why a safetensors file was refused (reading) or could not be written.
///
/// Every case names the file, and every case about one tensor names the tensor, so the
/// message alone tells a user what is wrong. Readers treat files as hostile: nothing is
/// allocated from a size read in a file before that size has been checked against the file.
public enum SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Opening, reading, writing or renaming failed (`reason` is the system's message).
    case io(file: String, reason: String)
    /// The file is shorter than the 8-byte header length.
    case fileTooShort(file: String, bytes: Int)
    /// The header length exceeds `limit` (the reference library's 100 MB cap).
    case headerTooLarge(file: String, headerBytes: UInt64, limit: Int)
    /// The header length runs past the end of the file.
    case headerBeyondFile(file: String, headerBytes: UInt64, fileBytes: Int)
    /// The header is not UTF-8, not JSON, does not start with `{`, or has the wrong structure.
    case invalidHeader(file: String, reason: String)
    /// Two entries of the header (or of `__metadata__`) have the same name.
    case duplicateName(file: String, name: String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or one of them has the wrong type.
    case invalidEntry(file: String, tensor: String, reason: String)
    /// The dtype is valid safetensors but cannot be read into `Float` (integers, FP8, booleans).
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// The shape's element count (or its byte count) overflows a 64-bit integer.
    case shapeOverflow(file: String, tensor: String, shape: [UInt64])
    /// `data_offsets` are reversed or point past the end of the data section.
    case offsetsOutOfBounds(file: String, tensor: String, begin: UInt64, end: UInt64, dataBytes: Int)
    /// `end − begin` differs from the element count × the dtype's size.
    case byteLengthMismatch(file: String, tensor: String, dtype: String, shape: [Int], expectedBytes: Int, actualBytes: Int)
    /// Sorted by offset, this tensor does not start where the previous one ends: a hole
    /// (`begin > expectedBegin`) or an overlap (`begin < expectedBegin`).
    case notContiguous(file: String, tensor: String, begin: Int, expectedBegin: Int)
    /// The tensors cover `coveredBytes` of the `dataBytes` after the header (trailing bytes).
    case dataNotCovered(file: String, coveredBytes: Int, dataBytes: Int)
    /// A finite F64 value is too large for `Float`.
    case valueOutOfRange(file: String, tensor: String, index: Int, value: Double)
    /// No tensor of this name in the file.
    case missingTensor(file: String, tensor: String)
    /// A name cannot be written (empty, or the reserved `__metadata__`).
    case invalidName(file: String, name: String, reason: String)

    /// A one-line explanation naming the file, the tensor and what is wrong.
    public var description: String {
        switch self {
        case let .io(file, reason):
            return "\(file): \(reason)"
        case let .fileTooShort(file, bytes):
            return "\(file): \(bytes) bytes is shorter than the 8-byte header length of a safetensors file"
        case let .headerTooLarge(file, headerBytes, limit):
            return "\(file): the header claims \(headerBytes) bytes, more than the \(limit)-byte limit"
        case let .headerBeyondFile(file, headerBytes, fileBytes):
            return "\(file): the header claims \(headerBytes) bytes but the file has only \(fileBytes) bytes"
        case let .invalidHeader(file, reason):
            return "\(file): invalid header: \(reason)"
        case let .duplicateName(file, name):
            return "\(file): the header names \"\(name)\" twice"
        case let .invalidEntry(file, tensor, reason):
            return "\(file): tensor \"\(tensor)\": \(reason)"
        case let .unsupportedDType(file, tensor, dtype):
            return "\(file): tensor \"\(tensor)\" has dtype \(dtype); Graft reads F32, F16, BF16 and F64"
        case let .shapeOverflow(file, tensor, shape):
            return "\(file): tensor \"\(tensor)\": the byte count of shape \(shape) overflows"
        case let .offsetsOutOfBounds(file, tensor, begin, end, dataBytes):
            return "\(file): tensor \"\(tensor)\": data_offsets [\(begin), \(end)] are not within the \(dataBytes) data bytes"
        case let .byteLengthMismatch(file, tensor, dtype, shape, expected, actual):
            return "\(file): tensor \"\(tensor)\": \(dtype) × \(shape) needs \(expected) bytes, data_offsets span \(actual)"
        case let .notContiguous(file, tensor, begin, expectedBegin):
            let what = begin > expectedBegin ? "leaves a hole" : "overlaps the previous tensor"
            return "\(file): tensor \"\(tensor)\" starts at byte \(begin) and \(what) (expected \(expectedBegin))"
        case let .dataNotCovered(file, covered, dataBytes):
            return "\(file): the tensors cover \(covered) of the \(dataBytes) data bytes"
        case let .valueOutOfRange(file, tensor, index, value):
            return "\(file): tensor \"\(tensor)\": element \(index) = \(value) is outside Float's range"
        case let .missingTensor(file, tensor):
            return "\(file): no tensor named \"\(tensor)\""
        case let .invalidName(file, name, reason):
            return "\(file): cannot write tensor \"\(name)\": \(reason)"
        }
    }
}
