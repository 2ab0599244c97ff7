/// A chain of erased transforms built at run time (for example from a trace's `chain`
/// recipe): each member runs over the whole group in order. Prefer the statically typed
/// `Chain` from `@TransformBuilder` in code.
public struct SequenceTransform: GradientTransform {
    /// The members' states, in order.
    public struct State: Codable, Sendable {
        /// One state per member, in order.
        public var members: [AnyGradientTransform.State]
        enum CodingKeys: String, CodingKey { case members }
    }

    /// The members, applied in order.
    public let members: [AnyGradientTransform]

    /// A chain of `members`, applied in order.
    public init(_ members: [AnyGradientTransform]) { self.members = members }

    public func makeState(for parameters: [ParameterInfo]) -> State {
        State(members: members.map { $0.makeState(for: parameters) })
    }

    public func update(_ group: GroupStep, state: inout State) {
        for i in members.indices { members[i].update(group, state: &state.members[i]) }
    }

    public func inspect(_ state: State, member: String?, index: Int) -> (any Sendable)? {
        for i in members.indices { if let s = members[i].inspect(state.members[i], member: member, index: index) { return s } }
        return nil
    }

    public func telemetry(_ state: State, index: Int) -> [String: Double] {
        members.indices.reduce(into: [:]) { acc, i in acc.merge(members[i].telemetry(state.members[i], index: index)) { _, b in b } }
    }

    public func decodeState(from decoder: any Decoder) throws -> State {
        let c = try decoder.container(keyedBy: State.CodingKeys.self)
        var list = try c.nestedUnkeyedContainer(forKey: .members)
        var states: [AnyGradientTransform.State] = []
        for member in members {
            guard !list.isAtEnd else {
                throw DecodingError.dataCorrupted(.init(codingPath: list.codingPath, debugDescription: "fewer states than members"))
            }
            states.append(try member.decodeState(from: try list.superDecoder()))
        }
        guard list.isAtEnd else {
            throw DecodingError.dataCorrupted(.init(codingPath: list.codingPath, debugDescription: "more states than members"))
        }
        return State(members: states)
    }

    public var memberNames: [String] { members.flatMap(\.memberNames) }
    public var isElementwise: Bool { members.allSatisfy(\.isElementwise) }
    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout State, step: StepInfo) {
        for i in members.indices { members[i].updateElements(range, update, of: slot, state: &state.members[i], step: step) }
    }
    public var usesAnchors: Bool { members.contains { $0.usesAnchors } }
    public var usesProvidedGradient: Bool { members.contains { $0.usesProvidedGradient } }
}
