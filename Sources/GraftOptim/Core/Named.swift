/// A chain member with a name, so its state can be read back:
/// `optimizer.state(of: "digrap", for: "body.0.weight")`.
public struct Named<Wrapped: GradientTransform>: GradientTransform {
    /// The member's name (unique within a chain by convention).
    public let name: String
    /// The transform.
    public let wrapped: Wrapped

    /// Names `wrapped` as `name` within its chain.
    public init(_ name: String, _ wrapped: Wrapped) {
        self.name = name
        self.wrapped = wrapped
    }

    public func makeState(for parameters: [ParameterInfo]) -> Wrapped.State { wrapped.makeState(for: parameters) }
    public func update(_ group: GroupStep, state: inout Wrapped.State) { wrapped.update(group, state: &state) }

    public func inspect(_ state: Wrapped.State, member: String?, index: Int) -> (any Sendable)? {
        if member == name { return wrapped.inspect(state, member: nil, index: index) }
        return wrapped.inspect(state, member: member, index: index)
    }

    public func telemetry(_ state: Wrapped.State, index: Int) -> [String: Double] { wrapped.telemetry(state, index: index) }
    public var memberNames: [String] { [name] + wrapped.memberNames }
    public func decodeState(from decoder: any Decoder) throws -> Wrapped.State { try wrapped.decodeState(from: decoder) }
    public var isElementwise: Bool { wrapped.isElementwise }
    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout Wrapped.State, step: StepInfo) {
        wrapped.updateElements(range, update, of: slot, state: &state, step: step)
    }
    public var usesAnchors: Bool { wrapped.usesAnchors }
    public var usesProvidedGradient: Bool { wrapped.usesProvidedGradient }
}

extension GradientTransform {
    /// This transform as a named chain member.
    public func named(_ name: String) -> Named<Self> { Named(name, self) }
}
