/// A type-erased transform, for chains configured at run time (from a trace file, a CLI
/// flag, a config). Its state is boxed; the wrapped transform's own update is still
/// specialised, so erasure costs one dynamic call per group and step, not per element.
public struct AnyGradientTransform: GradientTransform {
    /// Opaque boxed state.
    public struct State: Codable, @unchecked Sendable {
        var box: any StateBox
        init(box: any StateBox) { self.box = box }

        public init(from decoder: any Decoder) throws {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "AnyGradientTransform state is restored through its optimizer, not decoded directly"))
        }
        public func encode(to encoder: any Encoder) throws { try box.encode(to: encoder) }
    }

    private let makeStateImpl: @Sendable ([ParameterInfo]) -> State
    private let updateImpl: @Sendable (GroupStep, inout State) -> Void
    private let inspectImpl: @Sendable (State, String?, Int) -> (any Sendable)?
    private let telemetryImpl: @Sendable (State, Int) -> [String: Double]
    private let decodeImpl: @Sendable (any Decoder) throws -> State
    private let updateElementsImpl: @Sendable (Range<Int>, UnsafeMutablePointer<Float>, TensorSlot, inout State, StepInfo) -> Void
    /// The wrapped transform's named members.
    public let memberNames: [String]
    /// Whether the wrapped transform is elementwise (see `GradientTransform.isElementwise`).
    public let isElementwise: Bool
    /// Whether the wrapped transform reads anchors.
    public let usesAnchors: Bool
    /// Whether the wrapped transform reads a caller-provided gradient.
    public let usesProvidedGradient: Bool

    /// Wraps `transform`.
    public init<T: GradientTransform>(_ transform: T) {
        if let already = transform as? AnyGradientTransform { self = already; return }
        makeStateImpl = { State(box: TypedStateBox<T.State>(value: transform.makeState(for: $0))) }
        updateImpl = { group, state in
            let typed = state.box as! TypedStateBox<T.State>
            transform.update(group, state: &typed.value)
        }
        inspectImpl = { state, member, index in
            transform.inspect((state.box as! TypedStateBox<T.State>).value, member: member, index: index)
        }
        telemetryImpl = { state, index in transform.telemetry((state.box as! TypedStateBox<T.State>).value, index: index) }
        decodeImpl = { decoder in State(box: TypedStateBox<T.State>(value: try transform.decodeState(from: decoder))) }
        updateElementsImpl = { range, update, slot, state, step in
            let typed = state.box as! TypedStateBox<T.State>
            transform.updateElements(range, update, of: slot, state: &typed.value, step: step)
        }
        memberNames = transform.memberNames
        isElementwise = transform.isElementwise
        usesAnchors = transform.usesAnchors
        usesProvidedGradient = transform.usesProvidedGradient
    }

    public func makeState(for parameters: [ParameterInfo]) -> State { makeStateImpl(parameters) }
    public func update(_ group: GroupStep, state: inout State) { updateImpl(group, &state) }
    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout State, step: StepInfo) {
        updateElementsImpl(range, update, slot, &state, step)
    }
    public func inspect(_ state: State, member: String?, index: Int) -> (any Sendable)? { inspectImpl(state, member, index) }
    public func telemetry(_ state: State, index: Int) -> [String: Double] { telemetryImpl(state, index) }

    /// Decodes a state previously encoded from this transform's state (through the wrapped
    /// transform, which knows the concrete type).
    public func decodeState(from decoder: any Decoder) throws -> State { try decodeImpl(decoder) }
}

/// A reference box so erased state mutates in place (no copy of the tensors it holds).
protocol StateBox: AnyObject, Encodable {}

final class TypedStateBox<Value: Codable & Sendable>: StateBox, @unchecked Sendable {
    var value: Value
    init(value: Value) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
