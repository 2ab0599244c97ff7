/// Errors thrown when a layer or a `Sequential` is configured with invalid arguments.
///
/// Each case names the layer type and the offending argument, so the message says what to
/// change.
public enum LayerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A size argument (features, rank) is outside its valid range.
    case invalidSize(layer: String, argument: String, value: Int, expected: String)
    /// A real-valued hyperparameter (probability, slope, epsilon, alpha) is outside its range.
    case invalidHyperparameter(layer: String, argument: String, value: Float, expected: String)
    /// A tensor given to a layer initialiser has the wrong shape.
    case shapeMismatch(layer: String, argument: String, expected: [Int], actual: [Int])
    /// A child path segment is empty or contains `"."`.
    case invalidName(String)
    /// Two children of one `Sequential` resolve to the same path segment.
    case duplicateName(String)
    /// The same layer object appears twice in one tree (its cached activations would be
    /// overwritten by its second use, and its parameters listed twice).
    case repeatedLayer(path: String)
    /// `addLoRA` was asked to adapt a path that is not a `Dense` layer (`type` is what is there).
    case notDense(path: String, type: String)
    /// `addLoRA` found no layer (or no `Dense`) under a requested path pattern.
    case noLayerAtPath(String)

    /// A one-line message naming what is wrong and what was expected.
    public var description: String {
        switch self {
        case let .invalidSize(layer, argument, value, expected):
            return "\(layer): \(argument) = \(value) is invalid (expected \(expected))"
        case let .invalidHyperparameter(layer, argument, value, expected):
            return "\(layer): \(argument) = \(value) is invalid (expected \(expected))"
        case let .shapeMismatch(layer, argument, expected, actual):
            return "\(layer): \(argument) has shape \(actual), expected \(expected)"
        case let .invalidName(name):
            return "invalid path segment \"\(name)\" (must be non-empty and contain no \".\")"
        case let .duplicateName(name):
            return "two children share the path segment \"\(name)\""
        case let .repeatedLayer(path):
            return "the layer at \"\(path)\" already appears elsewhere in the same model"
        case let .notDense(path, type):
            return "the layer at \"\(path)\" is a \(type), not a Dense layer LoRA can adapt"
        case let .noLayerAtPath(pattern):
            return "no Dense layer matches the path \"\(pattern)\""
        }
    }
}
