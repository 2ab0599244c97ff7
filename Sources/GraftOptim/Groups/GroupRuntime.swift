import GraftTensor

/// One parameter group at run time: its chain, members, state memory, anchors and the
/// buffers and plans its steps reuse.
///
/// Only the optimizer touches a runtime, from the thread that calls `step` (workers get raw
/// pointers bound before dispatch), so its mutable properties skip Swift's dynamic
/// exclusivity check, which costs a thread-local lookup per access and is read per tensor
/// per step. Everything a step needs per tensor that does not change between steps (the
/// parameter objects, ranks, anchor pointers, the kernel's tensor descriptions) is kept
/// here, so a step's bookkeeping per tensor is a few loads and stores (issue 13).
final class GroupRuntime {
    let group: ParameterGroup
    let transform: AnyGradientTransform
    /// The chain's leaf members, in chain order.
    let members: [TransformMember]
    /// Indices into the optimizer's parameters.
    let indices: [Int]
    /// The group's parameters (the same objects as the optimizer's, in group order).
    let parameters: [Parameter]
    /// `parameters` unretained (they are kept alive by `parameters`): the per-step binding calls
    /// them without a retain / release pair per parameter (about 6 ns each at 20 000 tensors).
    let unretainedParameters: [Unmanaged<Parameter>]
    let infos: [ParameterInfo]
    /// Each parameter's registered shape, as buffers into `shapeStorage` (checked every step).
    let shapes: [UnsafeBufferPointer<Int>]
    private let shapeStorage: UnsafeMutablePointer<Int>
    /// Per member: rank and whether it has an anchor (read every step without copying infos).
    let ranks: [Int]
    let anchored: [Bool]
    /// One state storage per member.
    @exclusivity(unchecked) var storages: [MemberStorage]
    @exclusivity(unchecked) var aggregatorState: AnyGradientAggregator.State
    /// Stored anchors θ0 (each with its own storage); change them only through `setAnchors`.
    @exclusivity(unchecked) private(set) var anchors: [Tensor?]
    /// The first element of each stored anchor (`nil`: none), valid while `anchors` is unchanged.
    @exclusivity(unchecked) private(set) var anchorPointers: [UnsafePointer<Float>?] = []
    @exclusivity(unchecked) var step = 0

    /// The fused kernel when the whole chain is one.
    let kernel: KernelRunner?
    /// The kernel's plan (remade when the thread count changes).
    @exclusivity(unchecked) var kernelPlan: KernelPlan?
    /// Running updates and aggregates (the unfused path and K > 1 objectives), made on demand.
    @exclusivity(unchecked) var updates: [Tensor] = []
    @exclusivity(unchecked) var aggregates: [Tensor] = []
    @exclusivity(unchecked) var zeros: [Tensor?]
    /// Per-step buffers, one entry per tensor, rewritten in place every step.
    @exclusivity(unchecked) var kernelTensors: [KernelTensor] = []
    @exclusivity(unchecked) var inputs: [UnsafePointer<Float>] = []
    @exclusivity(unchecked) var outputs: [UnsafeMutablePointer<Float>] = []
    /// This step's θ and gradient (of the single objective) per tensor, bound by the
    /// optimizer's checks at the start of the step.
    @exclusivity(unchecked) var values: [UnsafeMutableBufferPointer<Float>]
    @exclusivity(unchecked) var gradients: [UnsafeBufferPointer<Float>]
    let flags = UnsafeMutablePointer<Int>.allocate(capacity: KernelPlan.maximumWorkers)
    /// A valid pointer for empty tensors.
    let emptyBuffer: UnsafeMutablePointer<Float> = {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 8)
        p.initialize(repeating: 0, count: 8)
        return p
    }()

    init(group: ParameterGroup, transform: AnyGradientTransform, indices: [Int], parameters: [Parameter],
         infos: [ParameterInfo], anchors: [Tensor?]) {
        self.group = group
        self.transform = transform
        self.indices = indices
        self.parameters = parameters
        self.unretainedParameters = parameters.map { Unmanaged.passUnretained($0) }
        self.infos = infos
        ranks = infos.map(\.rank)
        let dimensions = infos.reduce(0) { $0 + $1.shape.count }
        shapeStorage = UnsafeMutablePointer<Int>.allocate(capacity: max(1, dimensions))
        var offset = 0, shapes: [UnsafeBufferPointer<Int>] = []
        for info in infos {
            (shapeStorage + offset).initialize(from: info.shape, count: info.shape.count)
            shapes.append(UnsafeBufferPointer(start: shapeStorage + offset, count: info.shape.count))
            offset += info.shape.count
        }
        self.shapes = shapes
        anchored = infos.map(\.hasAnchor)
        self.anchors = []
        members = transform.members
        storages = GroupRuntime.makeStorages(members: members, infos: infos)
        aggregatorState = group.aggregator.makeState(for: infos)
        zeros = infos.map { _ in nil }
        gradients = [UnsafeBufferPointer<Float>](repeating: UnsafeBufferPointer(start: nil, count: 0), count: infos.count)
        values = [UnsafeMutableBufferPointer<Float>](repeating: UnsafeMutableBufferPointer(start: nil, count: 0), count: infos.count)
        kernel = transform.makeKernelRunner()
        setAnchors(anchors)
    }

    deinit {
        shapeStorage.deallocate()
        flags.deallocate()
        emptyBuffer.deallocate()
    }

    /// Installs anchors: each gets its own storage (so a later in-place update of a parameter
    /// never touches it) and the pointer cache is rebuilt.
    func setAnchors(_ new: [Tensor?]) {
        anchors = new
        for k in anchors.indices where anchors[k] != nil { _ = anchors[k]!.unsafeMutableStorage() }
        anchorPointers = anchors.map { $0?.unsafeStorage().baseAddress }
    }

    /// Replaces the anchor of tensor `k` (see `setAnchors`).
    func setAnchor(_ k: Int, _ tensor: Tensor) {
        anchors[k] = tensor
        _ = anchors[k]!.unsafeMutableStorage()
        anchorPointers[k] = anchors[k]!.unsafeStorage().baseAddress
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
