/// The state of one transform over a list of parameters, outside an optimizer: for authors
/// who drive a transform by hand (law tests, custom loops). An `Optimizer` keeps the same
/// memory per group.
public final class TransformState: @unchecked Sendable {
    /// The transform's leaf members.
    public let members: [TransformMember]
    /// The parameters, in order.
    public let parameters: [ParameterInfo]
    let storages: [MemberStorage]

    /// Fresh, initialised state of `transform` for `parameters`.
    public init<T: GradientTransform>(_ transform: T, parameters: [ParameterInfo]) {
        members = transform.members
        self.parameters = parameters
        storages = GroupRuntime.makeStorages(members: members, infos: parameters)
    }

    private init(members: [TransformMember], parameters: [ParameterInfo], storages: [MemberStorage]) {
        self.members = members
        self.parameters = parameters
        self.storages = storages
    }

    /// The view a transform's `update` takes.
    public var groupState: GroupState { GroupState(storages: storages) }

    /// State of member `m` for parameter `k`.
    public func view(member m: Int, parameter k: Int) -> StateView { storages[m].view(k) }

    /// The typed inspection value of member `m` for parameter `k`.
    public func inspect(member m: Int, parameter k: Int) -> (any Sendable)? {
        members[m].inspect(storages[m].view(k), parameters[k])
    }

    /// An independent copy of every value.
    public func copy() -> TransformState {
        let fresh = storages.map { MemberStorage(layouts: $0.layouts) }
        for (a, b) in zip(fresh, storages) { a.copy(from: b) }
        return TransformState(members: members, parameters: parameters, storages: fresh)
    }

    /// Whether every state tensor and scalar has the same bits as `other`'s.
    public func isBitwiseEqual(to other: TransformState) -> Bool {
        guard storages.count == other.storages.count else { return false }
        for (a, b) in zip(storages, other.storages) {
            guard a.layouts == b.layouts, a.floatCount == b.floatCount, a.scalarCount == b.scalarCount else { return false }
            for i in 0..<a.floatCount where a.floats![i].bitPattern != b.floats![i].bitPattern { return false }
            for i in 0..<a.scalarCount where a.scalars![i].bitPattern != b.scalars![i].bitPattern { return false }
        }
        return true
    }
}

extension GradientTransform {
    /// Fresh state for driving this transform by hand.
    public func makeState(for parameters: [ParameterInfo]) -> TransformState { TransformState(self, parameters: parameters) }

    /// `update(group, state: state.groupState)`.
    public func update(_ group: GroupStep, state: TransformState) { update(group, state: state.groupState) }
}
