/// Errors thrown when a layer or a `Sequential` is configured with invalid arguments, or
/// when `forward` / `backward` get tensors of the wrong shape.
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
    /// `forward` got an input of a shape this layer does not accept: `expected` describes the
    /// accepted shapes (`[batch, …, 4]` for `Dense`, `images [batch, C, H, W]` for `Conv2d`),
    /// `actual` is the input's shape.
    case inputShapeMismatch(layer: String, expected: String, actual: [Int])
    /// `backward` got an output gradient whose shape is not that of the last output.
    case gradientShapeMismatch(layer: String, expected: [Int], actual: [Int])
    /// `backward` was called before any `forward`.
    case backwardBeforeForward(layer: String)
    /// An `Embedding` input holds `value` at flat `position` of an input of `shape`, which is
    /// not a whole number in `0..<vocabularySize`.
    case invalidTokenID(layer: String, position: Int, value: Float, shape: [Int], vocabularySize: Int)

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
        case let .inputShapeMismatch(layer, expected, actual):
            return "\(layer): expected input \(expected), got \(actual)"
        case let .gradientShapeMismatch(layer, expected, actual):
            return "\(layer): output gradient \(actual) does not match the last output \(expected)"
        case let .backwardBeforeForward(layer):
            return "\(layer): backward called before forward"
        case let .invalidTokenID(layer, position, value, shape, vocabularySize):
            return "\(layer): token id \(value) at position \(position) of the input \(shape) is not a whole number in 0..<\(vocabularySize)"
        }
    }
}
