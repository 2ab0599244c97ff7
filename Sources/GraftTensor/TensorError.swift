/// Errors thrown by tensor construction and tensor operations.
///
/// Every case carries what a user needs to fix the call: the operation, and both shapes
/// or counts involved.
public enum TensorError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The number of scalars does not match the product of the shape.
    case countMismatch(shape: [Int], expected: Int, actual: Int)
    /// Two operands of an operation have incompatible shapes.
    case shapeMismatch(operation: String, lhs: [Int], rhs: [Int])
    /// A shape is invalid (a negative dimension, or an element count that overflows `Int`).
    case invalidShape(shape: [Int], reason: String)
    /// An operation needs a specific rank.
    case rankMismatch(operation: String, expected: Int, shape: [Int])
    /// An element index has the wrong number of entries or one outside its dimension.
    case indexOutOfBounds(index: [Int], shape: [Int])

    public var description: String {
        switch self {
        case let .countMismatch(shape, expected, actual):
            return "shape \(shape) needs \(expected) scalars, got \(actual)"
        case let .shapeMismatch(operation, lhs, rhs):
            return "\(operation): shapes \(lhs) and \(rhs) do not match"
        case let .invalidShape(shape, reason):
            return "invalid shape \(shape): \(reason)"
        case let .rankMismatch(operation, expected, shape):
            return "\(operation): expected a rank-\(expected) tensor, got shape \(shape)"
        case let .indexOutOfBounds(index, shape):
            return index.count == shape.count ? "index \(index) out of bounds for shape \(shape)"
                : "index \(index) has \(index.count) entries, shape \(shape) has rank \(shape.count)"
        }
    }
}
