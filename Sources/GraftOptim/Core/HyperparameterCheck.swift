/// The hyperparameter checks Graft's own transforms run in their initialisers, public so that
/// a transform written in another package refuses bad values the same way: each throws
/// `OptimizerError.invalidHyperparameter(key:value:allowed:)` naming the key, the value and
/// the allowed range.
/// ```swift
/// import GraftOptim
///
/// struct Shrink {
///     let factor: Float
///     init(factor: Float) throws {
///         try HyperparameterCheck.unitInterval("factor", factor)
///         self.factor = factor
///     }
/// }
/// ```
public enum HyperparameterCheck {
    /// Requires a finite number.
    public static func finite(_ key: String, _ value: Float) throws { try Check.finite(key, value) }
    /// Requires a finite number ≥ 0: [0, ∞).
    public static func nonNegative(_ key: String, _ value: Float) throws { try Check.nonNegative(key, value) }
    /// Requires a finite number > 0: (0, ∞).
    public static func positive(_ key: String, _ value: Float) throws { try Check.positive(key, value) }
    /// Requires a decay rate β in [0, 1) (Adam's β1, β2, momentum).
    public static func beta(_ key: String, _ value: Float) throws { try Check.beta(key, value) }
    /// Requires a number in [0, 1].
    public static func unitInterval(_ key: String, _ value: Float) throws { try Check.unitInterval(key, value) }
    /// Requires an integer ≥ 1.
    public static func positiveInteger(_ key: String, _ value: Int) throws { try Check.positiveInt(key, value) }
}
