/// A type-erased transform, for chains chosen at run time (from a trace file, a CLI flag, a
/// config) and for recipes that return one type whatever their options.
///
/// Erasure costs one dynamic call per group and step, never per element: the wrapped
/// transform's kernel is specialised when it is wrapped (this initialiser is inlinable, so
/// that happens in the module that knows the concrete type).
public struct AnyGradientTransform: GradientTransform {
    @usableFromInline let updateImpl: @Sendable (GroupStep, GroupState) -> Void
    @usableFromInline let membersImpl: @Sendable () -> [TransformMember]
    @usableFromInline let kernelRunner: KernelRunner?
    /// The number of leaf members.
    public let memberCount: Int
    /// Whether the wrapped transform reads anchors.
    public let usesAnchors: Bool
    /// Whether the wrapped transform reads a caller-provided gradient.
    public let usesProvidedGradient: Bool

    /// Wraps `transform` (an already erased one is kept as it is).
    @inlinable public init<T: GradientTransform>(_ transform: T) {
        if let already = transform as? AnyGradientTransform { self = already; return }
        updateImpl = { transform.update($0, state: $1) }
        membersImpl = { transform.members }
        kernelRunner = transform.makeKernelRunner()
        memberCount = transform.memberCount
        usesAnchors = transform.usesAnchors
        usesProvidedGradient = transform.usesProvidedGradient
    }

    public var members: [TransformMember] { membersImpl() }
    public func update(_ group: GroupStep, state: GroupState) { updateImpl(group, state) }
    public func makeKernelRunner() -> KernelRunner? { kernelRunner }
    /// Whether the wrapped transform runs as one fused kernel.
    public var isFused: Bool { kernelRunner != nil }
}

extension GradientTransform {
    /// This transform erased to `AnyGradientTransform`: for choosing between two recipes of
    /// different static types with a ternary or storing them in one variable. A fused chain
    /// stays one kernel (erasure costs one dynamic call per group step, not per element):
    /// ```swift
    /// import GraftOptim
    ///
    /// func recipe(sgd: Bool) throws -> AnyGradientTransform {
    ///     try sgd ? Recipes.sgd(learningRate: 0.1, momentum: 0.9).erased()
    ///             : Recipes.adam(learningRate: 1e-3).erased()
    /// }
    /// ```
    @inlinable public func erased() -> AnyGradientTransform { AnyGradientTransform(self) }
}
