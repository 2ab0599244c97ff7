/// A set of parameters that share one aggregator and one transform chain (PyTorch's
/// "param group", selected by predicates instead of by position).
///
/// ```swift
/// let backbone = try ParameterGroup("backbone", selecting: .hasAnchor) {
///     try DirectionalProjection(omega: .learned(mu: 0.5))
///     try ScaleByAdam()
///     try ScaleByLearningRate(1e-3)
/// }
/// let head = try ParameterGroup("head", selecting: .all, transform: Recipes.adamW(learningRate: 1e-3))
/// ```
public struct ParameterGroup: Sendable {
    /// The group's name (unique within an optimizer).
    public let name: String
    /// A parameter belongs to the first group any of whose selectors matches it.
    public let selectors: [ParameterSelector]
    /// The chain, or `nil` for a frozen group (no update, no state).
    public let transform: AnyGradientTransform?
    /// How several objective gradients become one.
    public let aggregator: AnyGradientAggregator
    /// This group's missing-gradient policy; `nil` uses the optimizer's (see
    /// `MissingGradientPolicy`). Set it with `missingGradients(_:)`.
    public private(set) var missingGradients: MissingGradientPolicy?

    /// A group with a transform.
    /// - Throws: `emptyGroup` when `selecting` is empty.
    @inlinable public init<T: GradientTransform>(_ name: String, selecting: [ParameterSelector],
                                      aggregator: some GradientAggregator = SumAggregator(), transform: T) throws {
        guard !selecting.isEmpty else { throw OptimizerError.emptyGroup(group: name) }
        self.name = name
        self.selectors = selecting
        self.transform = AnyGradientTransform(transform)
        self.aggregator = AnyGradientAggregator(aggregator)
    }

    /// A group with one selector and a transform.
    @inlinable public init<T: GradientTransform>(_ name: String, selecting: ParameterSelector,
                                      aggregator: some GradientAggregator = SumAggregator(), transform: T) throws {
        try self.init(name, selecting: [selecting], aggregator: aggregator, transform: transform)
    }

    /// A group whose chain is built with `@TransformBuilder`.
    @inlinable public init<T: GradientTransform>(_ name: String, selecting: ParameterSelector...,
                                      aggregator: some GradientAggregator = SumAggregator(),
                                      @TransformBuilder _ body: () throws -> T) throws {
        try self.init(name, selecting: selecting, aggregator: aggregator, transform: try body())
    }

    private init(frozen name: String, selectors: [ParameterSelector]) {
        self.name = name
        self.selectors = selectors
        self.transform = nil
        self.aggregator = AnyGradientAggregator(SumAggregator())
    }

    /// A frozen group: its parameters are never updated and keep no state.
    public static func frozen(_ name: String, selecting: ParameterSelector...) throws -> ParameterGroup {
        guard !selecting.isEmpty else { throw OptimizerError.emptyGroup(group: name) }
        return ParameterGroup(frozen: name, selectors: selecting)
    }

    /// Whether the group is frozen.
    public var isFrozen: Bool { transform == nil }

    /// The same group with its own missing-gradient policy, e.g. `.skip` for a head that
    /// only some batches reach, while the optimizer's default stays `.zero`.
    public func missingGradients(_ policy: MissingGradientPolicy) -> ParameterGroup {
        var copy = self
        copy.missingGradients = policy
        return copy
    }

    func matches(_ p: ParameterInfo) -> Bool { selectors.contains { $0.matches(p) } }
}
