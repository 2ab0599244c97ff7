import GraftTensor

/// What one transform keeps for one parameter: named float32 tensors and named scalars.
///
/// Every transform's state is described this way, so the optimizer owns all state memory
/// (contiguous, 64-byte aligned, allocated once), workers reach it through raw pointers
/// bound before they start (no shared `inout` crosses threads), and snapshots store the
/// tensors as binary with the names, shapes and scalars in a small header.
public struct StateLayout: Sendable, Equatable {
    /// One state tensor: its name and shape.
    public struct TensorSpec: Sendable, Equatable {
        /// The tensor's name within its member (e.g. `"m"`).
        public let name: String
        /// The tensor's shape (usually the parameter's).
        public let shape: [Int]
        /// A state tensor called `name` of shape `shape`.
        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }
        /// The element count.
        public var count: Int { shape.reduce(1, *) }
    }

    /// The state tensors, zero-filled when the state is made.
    public var tensors: [TensorSpec]
    /// The scalar names (stored as `Double`, zero when the state is made).
    public var scalars: [String]

    /// A layout of `tensors` and `scalars`.
    public init(tensors: [TensorSpec] = [], scalars: [String] = []) {
        self.tensors = tensors
        self.scalars = scalars
    }

    /// No state.
    public static let empty = StateLayout()

    /// Tensors named `names`, each of the parameter's shape, plus `scalars`.
    public static func perElement(_ names: [String], of parameter: ParameterInfo, scalars: [String] = []) -> StateLayout {
        StateLayout(tensors: names.map { TensorSpec(name: $0, shape: parameter.shape) }, scalars: scalars)
    }

    /// Bytes of tensor data.
    public var tensorBytes: Int { tensors.reduce(0) { $0 + $1.count * 4 } }
}

/// One member's state for one parameter, as raw pointers into optimizer-owned memory.
///
/// Valid while the optimizer lives. Tensor `j` of the layout is `tensor(j)`; scalar `j` is
/// `scalars[j]`. Two views of different parameters never overlap, so workers may write
/// their own tensors' views concurrently.
public struct StateView: @unchecked Sendable {
    @usableFromInline let floats: UnsafeMutablePointer<Float>?
    @usableFromInline let offsets: UnsafePointer<Int>?
    /// The number of state tensors.
    public let tensorCount: Int
    /// The scalars (`scalarCount` of them).
    public let scalars: UnsafeMutablePointer<Double>?
    /// The number of scalars.
    public let scalarCount: Int

    @usableFromInline init(floats: UnsafeMutablePointer<Float>?, offsets: UnsafePointer<Int>?, tensorCount: Int,
                           scalars: UnsafeMutablePointer<Double>?, scalarCount: Int) {
        self.floats = floats
        self.offsets = offsets
        self.tensorCount = tensorCount
        self.scalars = scalars
        self.scalarCount = scalarCount
    }

    /// The first element of state tensor `j`.
    @inlinable public func tensor(_ j: Int) -> UnsafeMutablePointer<Float> {
        floats! + offsets![j]
    }

    /// State tensor `j` as a buffer.
    @inlinable public func tensorBuffer(_ j: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: floats! + offsets![j], count: offsets![j + 1] - offsets![j])
    }

    /// Scalar `j`.
    @inlinable public subscript(scalar j: Int) -> Double {
        get { scalars![j] }
        nonmutating set { scalars![j] = newValue }
    }

    /// State tensor `j` copied into a `Tensor` of `shape` (for inspection).
    public func copyTensor(_ j: Int, shape: [Int]) -> Tensor {
        let b = tensorBuffer(j)
        return (try? Tensor(shape: shape, scalars: Array(b))) ?? Tensor(Array(b))
    }
}

/// The state memory of one chain member over a group's parameters.
@usableFromInline final class MemberStorage: @unchecked Sendable {
    let layouts: [StateLayout]
    let floats: UnsafeMutablePointer<Float>?
    let floatCount: Int
    /// Per parameter: `tensorCount + 1` offsets into `floats`, flattened.
    let offsets: UnsafeMutablePointer<Int>
    let offsetStart: [Int]
    let scalars: UnsafeMutablePointer<Double>?
    let scalarStart: [Int]
    let tensorCounts: [Int]
    let scalarCounts: [Int]
    /// The view of every parameter, made once (a step binds one per tensor per member).
    @usableFromInline let views: UnsafeMutablePointer<StateView>
    @usableFromInline let viewCount: Int

    init(layouts: [StateLayout]) {
        self.layouts = layouts
        tensorCounts = layouts.map(\.tensors.count)
        scalarCounts = layouts.map(\.scalars.count)
        var total = 0, offsetCount = 0, scalarCount = 0
        var offsetStart: [Int] = [], scalarStart: [Int] = []
        var flat: [Int] = []
        for layout in layouts {
            offsetStart.append(offsetCount)
            scalarStart.append(scalarCount)
            total = (total + 15) / 16 * 16  // each parameter's region starts 64-byte aligned
            for spec in layout.tensors { flat.append(total); total += spec.count }
            flat.append(total)
            offsetCount += layout.tensors.count + 1
            scalarCount += layout.scalars.count
        }
        floatCount = total
        // Always a valid pointer, so empty state tensors (of empty parameters) have an address.
        let capacity = max(16, total)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: 64)
        floats = raw.bindMemory(to: Float.self, capacity: capacity)
        floats!.initialize(repeating: 0, count: capacity)
        offsets = UnsafeMutablePointer<Int>.allocate(capacity: max(1, flat.count))
        offsets.initialize(from: flat, count: flat.count)
        if scalarCount > 0 {
            scalars = UnsafeMutablePointer<Double>.allocate(capacity: scalarCount)
            scalars!.initialize(repeating: 0, count: scalarCount)
        } else {
            scalars = nil
        }
        self.offsetStart = offsetStart
        self.scalarStart = scalarStart
        viewCount = layouts.count
        views = UnsafeMutablePointer<StateView>.allocate(capacity: max(1, layouts.count))
        for k in layouts.indices {
            let sc = scalarCounts[k]
            (views + k).initialize(to: StateView(floats: floats, offsets: UnsafePointer(offsets + offsetStart[k]), tensorCount: tensorCounts[k],
                                                 scalars: sc == 0 ? nil : scalars! + scalarStart[k], scalarCount: sc))
        }
    }

    deinit {
        if let floats { UnsafeMutableRawPointer(floats).deallocate() }
        offsets.deallocate()
        scalars?.deallocate()
        views.deinitialize(count: viewCount)
        views.deallocate()
    }

    /// The state of parameter `k`.
    @inlinable func view(_ k: Int) -> StateView {
        checkPrecondition(k >= 0 && k < viewCount, "state view \(k) of \(viewCount)")
        return views[k]
    }

    /// Copies every value of `other` (same layouts) into this storage.
    func copy(from other: MemberStorage) {
        if let floats, let src = other.floats { floats.update(from: src, count: floatCount) }
        if let scalars, let src = other.scalars { scalars.update(from: src, count: scalarCount) }
    }

    /// Total scalar count.
    var scalarCount: Int { (scalarStart.last ?? 0) + (scalarCounts.last ?? 0) }
}

/// The states of a group's chain members, as a transform sees them: `view(k)` is the state of
/// parameter `k` for this transform (the member at `first`); composite transforms pass
/// `advanced(by:)` to their later members.
public struct GroupState: @unchecked Sendable {
    @usableFromInline let storages: [MemberStorage]
    @usableFromInline let first: Int

    @usableFromInline init(storages: [MemberStorage], first: Int = 0) {
        self.storages = storages
        self.first = first
    }

    /// The state of parameter `k` (its index in the group) for this member.
    @inlinable public func view(_ k: Int) -> StateView { storages[first].view(k) }

    /// The state seen by the member `n` places later in the chain.
    @inlinable public func advanced(by n: Int) -> GroupState { GroupState(storages: storages, first: first + n) }
}
