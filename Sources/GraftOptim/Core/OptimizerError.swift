import GraftTensor

/// Errors thrown when a transform, group or optimizer is built, or when a step receives
/// inconsistent input. Every case names the place (key, group, parameter path) and the
/// offending value, so a message is actionable on its own.
public enum OptimizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A hyperparameter outside its allowed range, e.g. `adam.beta1 = 1.0 (allowed: [0, 1))`.
    case invalidHyperparameter(key: String, value: String, allowed: String)
    /// Two hyperparameters that cannot be combined (e.g. Nesterov without momentum).
    case incompatibleHyperparameters(key: String, reason: String)
    /// A group with no selector, or a selector that selects nothing.
    case emptyGroup(group: String)
    /// A group every parameter of which was already taken by an earlier group.
    case shadowedGroup(group: String, by: String)
    /// Two groups share a name.
    case duplicateGroup(group: String)
    /// Two parameters share a path.
    case duplicateParameter(path: String)
    /// A parameter that no group selects (and no default group exists).
    case unassignedParameter(path: String)
    /// A gradient or anchor whose shape differs from its parameter's.
    case shapeMismatch(path: String, expected: [Int], actual: [Int])
    /// A gradient for a path the optimizer does not know.
    case unknownPath(path: String)
    /// A step with no objective gradients.
    case noObjectives
    /// A NaN or ±Inf in a gradient under the `.throw` policy.
    case nonFiniteGradient(path: String, group: String, step: Int)
    /// A step whose finite inputs produced a non-finite new value (e.g. a learning rate near
    /// float32's limit), or, under `NonFinitePolicy.unchecked`, whose unscanned non-finite
    /// gradient did. The step was applied: restore a checkpoint to continue.
    case nonFiniteUpdate(path: String, group: String, step: Int)
    /// A step that needs a caller-provided gradient (DiGraP's `provided` hypergradient source) lacks it.
    case missingProvidedGradient(group: String, step: Int)
    /// A member name looked up in `state(of:for:)` that the chain does not have.
    case unknownMember(name: String)
    /// Two members of one group's chain share a name (names must be unique, as in optax's `named_chain`).
    case duplicateMember(name: String, group: String)
    /// A group whose selectors match only frozen (`isTrainable == false`) parameters.
    case onlyFrozenParameters(group: String, paths: [String])
    /// No group's chain has a `ParameterEMA` (asked for averaged parameters).
    case noParameterAverage
    /// A step, or a second `loadAveragedParameters()`, while the averaged parameters are loaded.
    case averagedParametersLoaded
    /// `restoreParameters()` without a `loadAveragedParameters()` before it.
    case nothingToRestore

    public var description: String {
        switch self {
        case let .invalidHyperparameter(key, value, allowed):
            return "invalid hyperparameter \(key) = \(value) (allowed: \(allowed))"
        case let .incompatibleHyperparameters(key, reason):
            return "invalid hyperparameters for \(key): \(reason)"
        case let .emptyGroup(group):
            return "parameter group '\(group)' selects no parameter"
        case let .shadowedGroup(group, by):
            return "parameter group '\(group)' selects only parameters already taken by group '\(by)' (first match wins)"
        case let .duplicateGroup(group):
            return "two parameter groups are named '\(group)'"
        case let .duplicateParameter(path):
            return "two parameters have the path '\(path)'"
        case let .unassignedParameter(path):
            return "parameter '\(path)' is selected by no group (add a default group or a selector)"
        case let .shapeMismatch(path, expected, actual):
            return "'\(path)': expected shape \(expected), got \(actual)"
        case let .unknownPath(path):
            return "unknown parameter path '\(path)'"
        case .noObjectives:
            return "a step needs at least one objective gradient"
        case let .nonFiniteGradient(path, group, step):
            return "non-finite gradient (NaN or Inf) for '\(path)' in group '\(group)' at step \(step); nothing was updated"
        case let .nonFiniteUpdate(path, group, step):
            return "step \(step) of group '\(group)' produced a non-finite value for '\(path)' from finite gradients (learning rate or scale too large?); the step was applied"
        case let .missingProvidedGradient(group, step):
            return "group '\(group)' learns ω from a provided gradient, but step \(step) has none"
        case let .unknownMember(name):
            return "no chain member is named '\(name)'"
        case let .duplicateMember(name, group):
            return "two members of group '\(group)''s chain are named '\(name)' (member names must be unique within a chain)"
        case let .onlyFrozenParameters(group, paths):
            let shown = paths.prefix(3).map { "'\($0)'" }.joined(separator: ", ") + (paths.count > 3 ? ", …" : "")
            return "parameter group '\(group)' selects only frozen parameters (\(paths.count): \(shown)); set isTrainable = true on them or remove the group"
        case .noParameterAverage:
            return "no group's chain has a ParameterEMA member: there are no averaged parameters"
        case .averagedParametersLoaded:
            return "the averaged parameters are loaded: call restoreParameters() before stepping (or loading them) again"
        case .nothingToRestore:
            return "restoreParameters() needs a loadAveragedParameters() before it"
        }
    }
}

/// Validation helpers used by transform initialisers (never inside a step).
enum Check {
    static func finite(_ key: String, _ v: Float) throws {
        guard v.isFinite else { throw OptimizerError.invalidHyperparameter(key: key, value: "\(v)", allowed: "a finite number") }
    }
    static func nonNegative(_ key: String, _ v: Float) throws {
        guard v.isFinite, v >= 0 else { throw OptimizerError.invalidHyperparameter(key: key, value: "\(v)", allowed: "[0, ∞)") }
    }
    static func positive(_ key: String, _ v: Float) throws {
        guard v.isFinite, v > 0 else { throw OptimizerError.invalidHyperparameter(key: key, value: "\(v)", allowed: "(0, ∞)") }
    }
    static func beta(_ key: String, _ v: Float) throws {
        guard v.isFinite, v >= 0, v < 1 else { throw OptimizerError.invalidHyperparameter(key: key, value: "\(v)", allowed: "[0, 1)") }
    }
    static func unitInterval(_ key: String, _ v: Float) throws {
        guard v.isFinite, v >= 0, v <= 1 else { throw OptimizerError.invalidHyperparameter(key: key, value: "\(v)", allowed: "[0, 1]") }
    }
    static func customName(_ key: String, _ name: String) throws {
        guard !name.isEmpty else { throw OptimizerError.invalidHyperparameter(key: "\(key).name", value: "\"\"", allowed: "a non-empty name") }
    }
    static func positiveInt(_ key: String, _ v: Int) throws {
        guard v > 0 else { throw OptimizerError.invalidHyperparameter(key: key, value: "\(v)", allowed: "an integer ≥ 1") }
    }
}
