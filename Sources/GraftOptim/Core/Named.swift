/// A chain member with a name, so its state can be read back:
/// `optimizer.state(of: "digrap", for: "body.0.weight")`. Names are unique within a chain.
/// Naming changes nothing else: a named fusable member still fuses with its neighbours.
public struct Named<Wrapped: GradientTransform>: GradientTransform {
    /// The member's name.
    public let name: String
    /// The transform.
    public let wrapped: Wrapped

    /// Names `wrapped` as `name` within its chain.
    @inlinable public init(_ name: String, _ wrapped: Wrapped) {
        self.name = name
        self.wrapped = wrapped
    }

    /// The wrapped members; a single member takes the name, several are named
    /// `name.<inner name or index>`.
    public var members: [TransformMember] {
        var list = wrapped.members
        if list.count == 1 {
            list[0].name = name
        } else {
            for k in list.indices { list[k].name = "\(name).\(list[k].name ?? String(k))" }
        }
        return list
    }

    @inlinable public var memberCount: Int { wrapped.memberCount }
    @inlinable public func update(_ group: GroupStep, state: GroupState) { wrapped.update(group, state: state) }
    public var usesAnchors: Bool { wrapped.usesAnchors }
    public var usesProvidedGradient: Bool { wrapped.usesProvidedGradient }
    @inlinable public func makeKernelRunner() -> KernelRunner? { wrapped.makeKernelRunner() }
}

extension Named: FusableTransform where Wrapped: FusableTransform {
    @inlinable public var reductionPasses: Int { wrapped.reductionPasses }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { wrapped.reductionApplies(pass, to: parameter) }
    @inlinable public func scratchSize(segments: Int) -> Int { wrapped.scratchSize(segments: segments) }
    @inlinable public func prepareKernel(_ step: StepInfo) -> Wrapped.KernelPrepared { wrapped.prepareKernel(step) }
    @inlinable public func bindKernel(_ prepared: Wrapped.KernelPrepared, _ tensor: KernelTensor, _ state: GroupState,
                                      pass: Int, commit: Bool) -> Wrapped.KernelLanes {
        wrapped.bindKernel(prepared, tensor, state, pass: pass, commit: commit)
    }
    @inlinable public func finishReduction(_ pass: Int, _ prepared: Wrapped.KernelPrepared, _ tensor: KernelTensor, _ state: GroupState) {
        wrapped.finishReduction(pass, prepared, tensor, state)
    }
}

extension GradientTransform {
    /// This transform as a named chain member.
    @inlinable public func named(_ name: String) -> Named<Self> { Named(name, self) }
}
