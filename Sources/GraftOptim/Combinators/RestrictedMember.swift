extension TransformMember {
    /// This member with state only for the parameters `selector` selects: elsewhere its layout
    /// is empty and it is neither initialised, inspected nor asked for telemetry (how `Masked`
    /// keeps its inner members' state for the selected tensors only).
    func restricted(to selector: ParameterSelector) -> TransformMember {
        let member = self
        return TransformMember(kind: kind, configuration: configuration, name: name,
                               layout: { selector.matches($0) ? member.layout($0) : .empty },
                               initialize: { view, info in if selector.matches(info) { member.initialize(view, info) } },
                               inspect: { view, info in selector.matches(info) ? member.inspect(view, info) : nil },
                               telemetry: { view, info in selector.matches(info) ? member.telemetry(view, info) : [:] })
    }

    /// A member from its parts.
    init(kind: String, configuration: [String: String], name: String?,
         layout: @escaping @Sendable (ParameterInfo) -> StateLayout,
         initialize: @escaping @Sendable (StateView, ParameterInfo) -> Void,
         inspect: @escaping @Sendable (StateView, ParameterInfo) -> (any Sendable)?,
         telemetry: @escaping @Sendable (StateView, ParameterInfo) -> [String: Double]) {
        self.kind = kind
        self.configuration = configuration
        self.name = name
        self.layout = layout
        self.initialize = initialize
        self.inspect = inspect
        self.telemetry = telemetry
    }
}
