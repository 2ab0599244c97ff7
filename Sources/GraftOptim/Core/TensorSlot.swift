import GraftTensor

/// One parameter's buffers during one optimizer step, as a transform sees them.
///
/// `update` is the running update `u`: it holds the aggregated gradient when the chain
/// starts and is rewritten in place by each member; after the chain the optimizer applies
/// `θ ← θ + u`. The other buffers are read-only and hold the values *before* the step:
/// `value` is θ_t, `gradient` the aggregated raw gradient g_t (what DiGraP's
/// hypergradient, FTP and SPD read), `anchor` θ0. Pointers are valid during the step only.
public struct TensorSlot: @unchecked Sendable {
    /// The parameter's index in its group.
    public let index: Int
    /// Path, shape and anchor kind.
    public let info: ParameterInfo
    /// θ_t, before the step.
    public let value: UnsafeBufferPointer<Float>
    /// θ0 for an `.initial` (or explicit) anchor; `nil` for `.zero` (θ0 = 0, no copy) and `.none`.
    public let anchorValues: UnsafeBufferPointer<Float>?
    /// The aggregated raw gradient g_t of this step.
    public let gradient: UnsafeBufferPointer<Float>
    /// A caller-provided gradient at θ_t (e.g. of a validation batch), when the step has one.
    public let providedGradient: UnsafeBufferPointer<Float>?
    /// The running update u (θ ← θ + u after the chain).
    public let update: UnsafeMutableBufferPointer<Float>
    /// Whether kernels on this tensor should split work over the cores (large tensors; small
    /// ones are instead spread over the cores one tensor per thread).
    public let splitsAcrossCores: Bool

    /// A slot over buffers the caller keeps alive for the step.
    public init(index: Int, info: ParameterInfo, value: UnsafeBufferPointer<Float>, anchorValues: UnsafeBufferPointer<Float>?,
                gradient: UnsafeBufferPointer<Float>, providedGradient: UnsafeBufferPointer<Float>?,
                update: UnsafeMutableBufferPointer<Float>, splitsAcrossCores: Bool) {
        self.index = index
        self.info = info
        self.value = value
        self.anchorValues = anchorValues
        self.gradient = gradient
        self.providedGradient = providedGradient
        self.update = update
        self.splitsAcrossCores = splitsAcrossCores
    }

    /// The element count.
    @inlinable public var count: Int { update.count }
    /// Whether anchor-based transforms act on this parameter.
    @inlinable public var hasAnchor: Bool { info.anchor != .none }

    /// Runs `body` over `0..<count`, split over the cores when `splitsAcrossCores`.
    @inlinable public func forChunks(_ body: (Range<Int>) -> Void) {
        if splitsAcrossCores { Parallel.forChunks(count: count, body) } else if count > 0 { body(0..<count) }
    }
}

/// The step-wide facts every transform of a group sees.
public struct StepInfo: Sendable {
    /// The step count t (1 at the first step).
    public let step: Int
    /// A multiplier on every learning rate at this step (how traces record schedules); 1 by default.
    public let learningRateScale: Float

    /// Facts of step `step` (1-based).
    public init(step: Int, learningRateScale: Float = 1) {
        self.step = step
        self.learningRateScale = learningRateScale
    }
}

/// A group's tensors for one step, with the plan for spreading work over the cores.
public struct GroupStep: @unchecked Sendable {
    /// Step-wide facts.
    public let info: StepInfo
    /// One slot per parameter of the group, in group order.
    public let slots: [TensorSlot]
    /// How the group's tensors are spread over the cores.
    public let plan: Plan
    /// Groups with at least this many elements spread kernels over the threads.
    public let parallelThreshold: Int

    /// Tensors with at least this many elements split their own kernels over the cores.
    public static let largeTensorThreshold = Parallel.minimumElements

    /// The spread of a group's tensors over the cores: large tensors one after another with
    /// their kernels split, small tensors in bins balanced by element count, one bin per worker.
    /// It depends only on the tensors' sizes and the thread count, so optimizers compute it once.
    public struct Plan: Sendable, Equatable {
        /// Indices of small tensors assigned to each worker.
        let smallTensorBins: [[Int]]
        /// Indices of large tensors.
        let largeTensors: [Int]
        /// The thread count the plan was made for.
        public let threads: Int

        /// The plan for `slots` with `Parallel.threads` workers.
        public init(for slots: [TensorSlot]) {
            var large: [Int] = []
            var small: [(Int, Int)] = []
            for s in slots {
                if s.splitsAcrossCores { large.append(s.index) } else { small.append((s.index, s.count)) }
            }
            let workers = Parallel.threads
            threads = workers
            let smallTotal = small.reduce(0) { $0 + $1.1 }
            if workers <= 1 || smallTotal < Parallel.minimumElements || small.count < 2 {
                smallTensorBins = small.isEmpty ? [] : [small.map(\.0)]
            } else {
                // Greedy balancing: largest first into the lightest bin.
                var bins = [[Int]](repeating: [], count: workers)
                var loads = [Int](repeating: 0, count: workers)
                for (i, n) in small.sorted(by: { $0.1 > $1.1 }) {
                    let b = loads.indices.min { loads[$0] < loads[$1] }!
                    bins[b].append(i)
                    loads[b] += n
                }
                smallTensorBins = bins.map { $0.sorted() }.filter { !$0.isEmpty }
            }
            largeTensors = large
        }
    }

    /// A group step over `slots`, spread over the cores by `plan` (computed from the slots when
    /// not given).
    public init(info: StepInfo, slots: [TensorSlot], plan: Plan? = nil, parallelThreshold: Int = GroupStep.parallelThreshold) {
        self.info = info
        self.slots = slots
        self.plan = plan ?? Plan(for: slots)
        self.parallelThreshold = parallelThreshold
    }

    /// The default element count from which a group's kernels use every thread: 2^16
    /// (below it one thread finishes before a second one is woken).
    public static let parallelThreshold = 1 << 16

    /// Calls `body` once per tensor index: large tensors one after another (their kernels split
    /// over the cores), small tensors spread over the cores. `body` must only touch state of
    /// its own tensor.
    public func forEachTensor(_ body: (Int) -> Void) {
        for i in plan.largeTensors { body(i) }
        if plan.smallTensorBins.count <= 1 {
            for bin in plan.smallTensorBins { for i in bin { body(i) } }
        } else {
            let bins = plan.smallTensorBins
            Parallel.forEach(iterations: bins.count) { b in for i in bins[b] { body(i) } }
        }
    }
}
