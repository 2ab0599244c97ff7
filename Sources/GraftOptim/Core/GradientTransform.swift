import GraftTensor

/// A gradient transform: a small value that rewrites a group's running update in place,
/// with typed state (the central abstraction of Graft, after optax's
/// `GradientTransformation`).
///
/// A transform acts on a whole parameter group at once, so it can reduce over the group
/// first (clip by global norm) before touching each tensor. Most transforms act tensor by
/// tensor: conform to `TensorTransform` instead and implement one tensor's update.
/// Transforms are validated when built (their initialisers `throw`); `update` never
/// validates, never allocates per element and never throws.
public protocol GradientTransform: Sendable {
    /// The state for a whole group (typically one value per parameter).
    associatedtype State: Codable & Sendable

    /// Creates the state for the group's parameters, in group order.
    func makeState(for parameters: [ParameterInfo]) -> State

    /// Rewrites every slot's `update` in place and advances `state`.
    func update(_ group: GroupStep, state: inout State)

    /// The state of one parameter (by its index in the group) for inspection, or `nil`.
    /// `member` selects a named chain member (`nil`: this transform itself).
    func inspect(_ state: State, member: String?, index: Int) -> (any Sendable)?

    /// Telemetry of one parameter: named numbers (e.g. DiGraP's `omega`, `projected_steps`).
    func telemetry(_ state: State, index: Int) -> [String: Double]

    /// The names of named members (see `Named`), in chain order.
    var memberNames: [String] { get }

    /// Whether the transform reads anchors θ0 (the optimizer snapshots `.initial` anchors only
    /// for groups whose transform uses them).
    var usesAnchors: Bool { get }

    /// Whether the transform reads a caller-provided gradient (every step must then carry one).
    var usesProvidedGradient: Bool { get }

    /// Decodes a state this transform encoded. Composite transforms (chains, erased members)
    /// route each part to the member that knows its concrete type. Default: `State(from:)`.
    func decodeState(from decoder: any Decoder) throws -> State

    /// Whether the transform is elementwise: element i of a tensor's new update depends only on
    /// element i of the slot's buffers and of the transform's state, and on numbers fixed for
    /// the step. Chains of elementwise transforms run block by block (a few thousand elements
    /// at a time, in cache), fused with the optimizer's gradient copy and parameter update:
    /// one pass over memory instead of one per member. Default: `false`.
    var isElementwise: Bool { get }

    /// Updates elements `range` of the tensor in `slot`, whose running update is
    /// `update[0 ..< range.count]` (element `range.lowerBound + k` at `update[k]`: the fused path
    /// keeps it in a small cache-resident buffer, not in `slot.update`). Called only when
    /// `isElementwise`; the optimizer may call it for disjoint ranges of one tensor from several
    /// threads.
    func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout State, step: StepInfo)
}

extension GradientTransform {
    public func inspect(_ state: State, member: String?, index: Int) -> (any Sendable)? { nil }
    public func telemetry(_ state: State, index: Int) -> [String: Double] { [:] }
    public var memberNames: [String] { [] }
    public var usesAnchors: Bool { false }
    public var usesProvidedGradient: Bool { false }
    public func decodeState(from decoder: any Decoder) throws -> State { try State(from: decoder) }
    public var isElementwise: Bool { false }
    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout State, step: StepInfo) {
        preconditionFailure("\(Self.self) is not elementwise")
    }
}

/// A transform that updates each tensor independently, with one `TensorState` per
/// parameter. The group-level `update` spreads tensors over the cores.
public protocol TensorTransform: GradientTransform where State == [TensorState] {
    /// One parameter's state.
    associatedtype TensorState: Codable & Sendable

    /// Creates one parameter's state.
    func makeTensorState(for parameter: ParameterInfo) -> TensorState

    /// Rewrites `slot.update` in place.
    func update(_ slot: TensorSlot, state: inout TensorState, step: StepInfo)

    /// Telemetry of one parameter (default: none).
    func tensorTelemetry(_ state: TensorState) -> [String: Double]
}

extension TensorTransform {
    public func makeState(for parameters: [ParameterInfo]) -> [TensorState] {
        parameters.map(makeTensorState(for:))
    }

    public func update(_ group: GroupStep, state: inout [TensorState]) {
        precondition(state.count == group.slots.count, "state holds \(state.count) tensors, group has \(group.slots.count)")
        state.withUnsafeMutableBufferPointer { states in
            let base = states.baseAddress!
            group.forEachTensor { i in
                update(group.slots[i], state: &base[i], step: group.info)
            }
        }
    }

    public func inspect(_ state: [TensorState], member: String?, index: Int) -> (any Sendable)? {
        member == nil && state.indices.contains(index) ? state[index] : nil
    }

    public func telemetry(_ state: [TensorState], index: Int) -> [String: Double] {
        state.indices.contains(index) ? tensorTelemetry(state[index]) : [:]
    }

    public func tensorTelemetry(_ state: TensorState) -> [String: Double] { [:] }
}

/// A tensor transform whose update is elementwise (see `GradientTransform.isElementwise`):
/// it implements the update of a range of elements, and gets the whole-tensor and the
/// blocked, fused forms for free.
public protocol ElementwiseTransform: TensorTransform {
    /// Rewrites the update of elements `range` in place: element `range.lowerBound + k` is at
    /// `update[k]` (a serial loop; callers split the work). Read θ, θ0 and g at the element's
    /// own index in `slot`.
    func update(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout TensorState, step: StepInfo)
}

extension ElementwiseTransform {
    public var isElementwise: Bool { true }

    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot,
                               state: inout [TensorState], step: StepInfo) {
        state.withUnsafeMutableBufferPointer { self.update(range, update, of: slot, state: &$0[slot.index], step: step) }
    }

    public func update(_ slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        guard let u = slot.update.baseAddress else { return }
        withUnsafeMutablePointer(to: &state) { pointer in
            slot.forBlocks { range in update(range, u + range.lowerBound, of: slot, state: &pointer.pointee, step: step) }
        }
    }
}

/// A state with nothing in it.
public struct EmptyState: Codable, Sendable, Equatable {
    /// The empty state.
    public init() {}
}
