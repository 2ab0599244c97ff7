import GraftTensor

/// One parameter group at run time: its chain, members, state memory, anchors and the
/// buffers and plans its steps reuse.
final class GroupRuntime {
    let group: ParameterGroup
    let transform: AnyGradientTransform
    /// The chain's leaf members, in chain order.
    let members: [TransformMember]
    /// Indices into the optimizer's parameters.
    let indices: [Int]
    let infos: [ParameterInfo]
    /// Per member: rank and whether it has an anchor (read every step without copying infos).
    let ranks: [Int]
    let anchored: [Bool]
    /// One state storage per member.
    var storages: [MemberStorage]
    var aggregatorState: AnyGradientAggregator.State
    var anchors: [Tensor?]
    var step = 0

    /// The fused kernel when the whole chain is one.
    let kernel: KernelRunner?
    /// The kernel's plan (remade when the thread count changes).
    var kernelPlan: KernelPlan?
    /// Running updates and aggregates (the unfused path and K > 1 objectives), made on demand.
    var updates: [Tensor] = []
    var aggregates: [Tensor] = []
    var zeros: [Tensor?]
    /// Per-step buffers reused across steps.
    var kernelTensors: [KernelTensor] = []
    var inputs: [UnsafePointer<Float>] = []
    var outputs: [UnsafeMutablePointer<Float>] = []
    let flags = UnsafeMutablePointer<Int>.allocate(capacity: KernelPlan.maximumWorkers)
    /// A valid pointer for empty tensors.
    let emptyBuffer: UnsafeMutablePointer<Float> = {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 8)
        p.initialize(repeating: 0, count: 8)
        return p
    }()

    init(group: ParameterGroup, transform: AnyGradientTransform, indices: [Int], infos: [ParameterInfo], anchors: [Tensor?]) {
        self.group = group
        self.transform = transform
        self.indices = indices
        self.infos = infos
        ranks = infos.map(\.rank)
        anchored = infos.map(\.hasAnchor)
        self.anchors = anchors
        members = transform.members
        storages = GroupRuntime.makeStorages(members: members, infos: infos)
        aggregatorState = group.aggregator.makeState(for: infos)
        zeros = infos.map { _ in nil }
        kernel = transform.makeKernelRunner()
    }

    deinit {
        flags.deallocate()
        emptyBuffer.deallocate()
    }

    /// Fresh, initialised state memory for `members` over `infos`.
    static func makeStorages(members: [TransformMember], infos: [ParameterInfo]) -> [MemberStorage] {
        members.map { member in
            let storage = MemberStorage(layouts: infos.map { member.stateLayout(for: $0) })
            for (k, info) in infos.enumerated() { member.initialize(storage.view(k), info) }
            return storage
        }
    }

    var groupState: GroupState { GroupState(storages: storages) }

    /// The index of the member called `name`, if any.
    func memberIndex(named name: String) -> Int? { members.firstIndex { $0.name == name } }
}
