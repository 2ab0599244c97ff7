import GraftTensor

/// A gradient transform: a small value that rewrites a parameter group's running update,
/// with state made of named tensors and scalars (the central abstraction of Graft, after
/// optax's `GradientTransformation`).
///
/// The core is two things: the **state** each member keeps per parameter (`stateLayout`,
/// owned by the optimizer) and an **update of the group** (`update(_:state:)`). A transform
/// that sees the whole group (clip by global norm) implements `update` directly. Per-element
/// rules conform to `ElementwiseTransform` instead and get fused with their neighbours into
/// one loop over memory; per-tensor reductions (DiGraP, SPD, FTP) conform to
/// `FusableTransform` with a reduction pass. Transforms are validated when built (their
/// initialisers `throw`); `update` never validates, never allocates per element and never
/// throws.
public protocol GradientTransform: Sendable {
    /// The leaf members of this transform in chain order (a leaf transform is its own single
    /// member). The optimizer allocates one state per member and parameter.
    var members: [TransformMember] { get }

    /// `members.count`, without building the array.
    var memberCount: Int { get }

    /// Rewrites every slot's `update` in place. `state.view(k)` is this transform's state of
    /// parameter `k`; a composite passes `state.advanced(by:)` to its later members.
    func update(_ group: GroupStep, state: GroupState)

    /// The state this transform keeps for one parameter (leaf transforms; default: none).
    func stateLayout(for parameter: ParameterInfo) -> StateLayout

    /// Sets the initial state of one parameter (called once, on zero-filled memory; default:
    /// leave it at zero).
    func initializeState(_ state: StateView, for parameter: ParameterInfo)

    /// A typed copy of one parameter's state for inspection (e.g. `ScaleByAdam.TensorState`),
    /// or `nil` (default).
    func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)?

    /// Telemetry of one parameter: named numbers (e.g. DiGraP's `omega`). Default: none.
    func telemetry(_ state: StateView, for parameter: ParameterInfo) -> [String: Double]

    /// A stable name of the transform's kind, recorded in snapshots (default: the type name).
    var kind: String { get }

    /// The settings that change the meaning of the state (e.g. `amsgrad`, the ω mode),
    /// recorded in snapshots: a restore into a member with other settings is refused.
    var configuration: [String: String] { get }

    /// Whether the transform reads anchors θ0 (the optimizer snapshots `.initial` anchors only
    /// for groups whose transform uses them).
    var usesAnchors: Bool { get }

    /// Whether the transform reads a caller-provided gradient (every step must then carry one).
    var usesProvidedGradient: Bool { get }

    /// The fused form of the whole transform, when it is one kernel (see `FusableTransform`);
    /// `nil` otherwise. The optimizer then runs the group in one pass per reduction plus one
    /// elementwise pass that reads g and writes θ directly.
    func makeKernelRunner() -> KernelRunner?
}

extension GradientTransform {
    public var members: [TransformMember] { [TransformMember(leaf: self)] }
    public var memberCount: Int { 1 }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .empty }
    public func initializeState(_ state: StateView, for parameter: ParameterInfo) {}
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? { nil }
    public func telemetry(_ state: StateView, for parameter: ParameterInfo) -> [String: Double] { [:] }
    public var kind: String { String(describing: Self.self) }
    public var configuration: [String: String] { [:] }
    public var usesAnchors: Bool { false }
    public var usesProvidedGradient: Bool { false }
    public func makeKernelRunner() -> KernelRunner? { nil }

    /// The names of the named members, in chain order.
    public var memberNames: [String] { members.compactMap(\.name) }
}

/// One leaf member of a chain: what the optimizer needs to allocate, initialise, inspect and
/// snapshot its state.
public struct TransformMember: Sendable {
    /// The member's kind (see `GradientTransform.kind`).
    public let kind: String
    /// The member's settings (see `GradientTransform.configuration`).
    public let configuration: [String: String]
    /// The member's name, when it was given one with `named(_:)`.
    public internal(set) var name: String?
    let layout: @Sendable (ParameterInfo) -> StateLayout
    let initialize: @Sendable (StateView, ParameterInfo) -> Void
    let inspect: @Sendable (StateView, ParameterInfo) -> (any Sendable)?
    let telemetry: @Sendable (StateView, ParameterInfo) -> [String: Double]

    /// The member description of a leaf transform.
    public init<T: GradientTransform>(leaf: T) {
        kind = leaf.kind
        configuration = leaf.configuration
        name = nil
        layout = { leaf.stateLayout(for: $0) }
        initialize = { leaf.initializeState($0, for: $1) }
        inspect = { leaf.inspectState($0, for: $1) }
        telemetry = { leaf.telemetry($0, for: $1) }
    }

    /// The state layout of this member for `parameter`.
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { layout(parameter) }
}

/// A state with nothing in it (kept for aggregators without state).
public struct EmptyState: Codable, Sendable, Equatable {
    /// The empty state.
    public init() {}
}
