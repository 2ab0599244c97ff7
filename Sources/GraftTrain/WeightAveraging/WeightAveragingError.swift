import GraftTensor

/// Why a weight average (WiSE-FT interpolation, a uniform or greedy soup) was refused.
/// Nothing is averaged when one is thrown.
public enum WeightAveragingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No weight set was given (a soup needs at least one ingredient).
    case noModels
    /// Weight set `model` (0-based, in the order given) has no tensor under `path`, which
    /// weight set `reference` has.
    case missingPath(path: String, model: Int, reference: Int)
    /// The tensor under `path` has shape `shape` in weight set `model` and `referenceShape`
    /// in weight set `reference`.
    case shapeMismatch(path: String, model: Int, shape: [Int], reference: Int, referenceShape: [Int])
    /// The interpolation coefficient α is NaN or infinite.
    case nonFiniteAlpha(Float)
    /// The validation function returned NaN or an infinity for candidate `candidate`
    /// (`nil`: for a soup of several candidates, listed in `members`).
    case nonFiniteScore(candidate: Int?, members: [Int], score: Double)

    /// A one-line message naming the path, the weight sets and both shapes.
    public var description: String {
        switch self {
        case .noModels:
            return "weight averaging needs at least one set of weights"
        case let .missingPath(path, model, reference):
            return "weights \(model) have no tensor \"\(path)\" (weights \(reference) have one): the paths must match"
        case let .shapeMismatch(path, model, shape, reference, referenceShape):
            return "\"\(path)\": shape \(shape) in weights \(model), \(referenceShape) in weights \(reference): the shapes must match"
        case let .nonFiniteAlpha(alpha):
            return "the interpolation coefficient α must be finite, got \(alpha)"
        case let .nonFiniteScore(candidate, members, score):
            if let candidate { return "the validation score of candidate \(candidate) is \(score): scores must be finite" }
            return "the validation score of the soup of candidates \(members) is \(score): scores must be finite"
        }
    }
}
