/// A chain of erased transforms built at run time (for example from a trace's `chain`
/// recipe): each member runs over the whole group in order. Prefer the statically typed
/// chains of `@TransformBuilder` in code: they fuse.
public struct SequenceTransform: GradientTransform {
    /// The members, applied in order.
    public let transforms: [AnyGradientTransform]

    /// A chain of `members`, applied in order.
    public init(_ members: [AnyGradientTransform]) { self.transforms = members }

    public var members: [TransformMember] { transforms.flatMap(\.members) }
    public var memberCount: Int { transforms.reduce(0) { $0 + $1.memberCount } }

    public func update(_ group: GroupStep, state: GroupState) {
        var offset = 0
        for m in transforms {
            m.update(group, state: state.advanced(by: offset))
            offset += m.memberCount
        }
    }

    public var usesAnchors: Bool { transforms.contains { $0.usesAnchors } }
    public var usesProvidedGradient: Bool { transforms.contains { $0.usesProvidedGradient } }
    /// A one-member sequence runs as its member does (fused when it is a kernel); an empty
    /// one as `Identity`.
    public func makeKernelRunner() -> KernelRunner? {
        switch transforms.count {
        case 0: return Identity().makeKernelRunner()
        case 1: return transforms[0].makeKernelRunner()
        default: return nil
        }
    }
}
