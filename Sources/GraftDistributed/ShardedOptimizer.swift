import Foundation
import GraftOptim
import GraftTensor

/// ZeRO stage 1 over whole tensors: optimizer state sharded across ranks.
///
/// Each rank owns the trainable tensors `ShardAssignment` gives it (balanced by size), builds a
/// plain `Optimizer` over only those (the same groups, restricted to them), and keeps optimizer
/// state only for them: state memory per rank is about 1/N of the replicated one. A step
/// expects gradients already averaged over ranks (e.g. `GradientBucket.allReduce`); each rank
/// steps its own tensors, then one `allGather` gives every rank every new value.
///
/// Per-tensor reductions (DiGraP's d, ‖c‖², row cosines and ω; SPD; FTP; Adam) need only the
/// tensor itself and are exact. **Limitation:** group-global transforms — `ClipByGlobalNorm`,
/// and aggregators that combine several objectives over the whole group (PCGrad) — see only the
/// rank's own tensors here, so their result differs from the unsharded step. Use replicated
/// data parallelism (`Optimizer` on every rank) for those.
///
/// Checkpoints: `gatheredSnapshot()` merges every rank's `Optimizer.snapshot()` on rank 0 into
/// the snapshot an unsharded optimizer over all parameters would have (same groups, path order,
/// state), so it restores into a plain `Optimizer`, or into a `ShardedOptimizer` on any number
/// of ranks (`restore(_:)` re-splits it).
public final class ShardedOptimizer {
    /// All parameters (every rank holds every value).
    public let parameters: [NamedParameter]
    /// The communicator.
    public let communicator: any Communicator
    /// Owner of each trainable parameter (indices into `trainableIndices`).
    public let assignment: ShardAssignment
    /// Indices into `parameters` of the trainable parameters, in order.
    public let trainableIndices: [Int]
    /// This rank's optimizer over the tensors it owns (`nil` when it owns none).
    public let local: Optimizer?
    /// Steps taken.
    public private(set) var stepCount = 0
    private let groupOrder: [String]
    private let ownedByRank: [[Int]]  // per rank: indices into `parameters`
    private var sendBuffer: [Float]
    private var receiveBuffer: [Float]
    private let counts: [Int]

    /// Shards `parameters` over the ranks of `communicator`.
    /// - Parameters:
    ///   - groups: the optimizer's groups, as for `Optimizer` (each rank keeps the groups that
    ///     select at least one of its tensors).
    ///   - anchors, nonFinitePolicy: as for `Optimizer`. With `.skip`, a rank skips only when its
    ///     own tensors have non-finite gradients: use `.throw` (the default) so ranks stay equal.
    /// - Throws: whatever `Optimizer.init` throws for this rank's part.
    public init(parameters: [NamedParameter], groups: [ParameterGroup], communicator: any Communicator,
                anchors: [String: Tensor] = [:], nonFinitePolicy: NonFinitePolicy = .throw) throws {
        self.parameters = parameters
        self.communicator = communicator
        let trainable = parameters.indices.filter { parameters[$0].parameter.isTrainable }
        self.trainableIndices = trainable
        let assignment = try ShardAssignment(sizes: trainable.map { parameters[$0].parameter.value.count }, ranks: communicator.size)
        self.assignment = assignment
        let owned = (0..<communicator.size).map { r in assignment.owned(by: r).map { trainable[$0] } }
        self.ownedByRank = owned
        self.groupOrder = groups.map(\.name)
        let mine = owned[communicator.rank].map { parameters[$0] }
        // Keep the groups that take at least one of this rank's tensors (first match wins, as in Optimizer).
        var taken = Set<String>(), kept: [ParameterGroup] = []
        for g in groups {
            var took = false
            for p in mine where !taken.contains(p.path) {
                let info = ParameterInfo(path: p.path, shape: p.parameter.shape, anchor: p.parameter.anchor, isTrainable: true)
                if g.selectors.contains(where: { $0.matches(info) }) { taken.insert(p.path); took = true }
            }
            if took { kept.append(g) }
        }
        let myAnchors = anchors.filter { path, _ in mine.contains { $0.path == path } }
        self.local = mine.isEmpty ? nil
            : try Optimizer(parameters: mine, groups: kept, anchors: myAnchors, nonFinitePolicy: nonFinitePolicy)
        self.counts = owned.map { $0.reduce(0) { $0 + parameters[$1].parameter.value.count } }
        self.sendBuffer = [Float](repeating: 0, count: counts[communicator.rank])
        self.receiveBuffer = [Float](repeating: 0, count: counts.reduce(0, +))
    }

    /// Paths of the tensors `rank` owns.
    public func ownedPaths(rank: Int) -> [String] { ownedByRank[rank].map { parameters[$0].path } }

    /// Floats of optimizer state this rank keeps (its `local` optimizer's snapshot size / 4).
    public func localStateFloats() throws -> Int { try (local?.snapshot().stateBytes ?? 0) / 4 }

    /// One step: this rank's optimizer updates its tensors from their (already averaged)
    /// gradients, then every rank receives every new value with one all-gather.
    public func step(learningRateScale: Float = 1, providedGradients: [String: Tensor]? = nil) throws {
        try local?.step(learningRateScale: learningRateScale, providedGradients: providedGradients)
        try exchangeValues()
        stepCount += 1
    }

    /// Copies each rank's owned values to every rank (one `allGather`).
    public func exchangeValues() throws {
        let rank = communicator.rank
        sendBuffer.withUnsafeMutableBufferPointer { send in
            var offset = 0
            for i in ownedByRank[rank] {
                parameters[i].parameter.value.withUnsafeBufferPointer { v in
                    (send.baseAddress! + offset).update(from: v.baseAddress!, count: v.count)
                    offset += v.count
                }
            }
        }
        try sendBuffer.withUnsafeBufferPointer { send in
            try receiveBuffer.withUnsafeMutableBufferPointer { receive in
                try communicator.allGather(send, into: receive, counts: counts)
            }
        }
        receiveBuffer.withUnsafeBufferPointer { receive in
            var offset = 0
            for r in 0..<communicator.size {
                for i in ownedByRank[r] {
                    let n = parameters[i].parameter.value.count
                    if r != rank {
                        parameters[i].parameter.value.withUnsafeMutableBufferPointer { v in
                            v.baseAddress!.update(from: receive.baseAddress! + offset, count: n)
                        }
                    }
                    offset += n
                }
            }
        }
    }

    /// Every rank's optimizer snapshot merged on rank 0 (`nil` on other ranks): the snapshot of
    /// an unsharded `Optimizer` over all parameters. Collective: every rank must call it.
    public func gatheredSnapshot() throws -> OptimizerSnapshot? {
        let bytes = try local?.snapshot().encoded() ?? []
        guard let all = try communicator.gatherBytes(bytes, root: 0) else { return nil }
        let parts = try all.filter { !$0.isEmpty }.map { try OptimizerSnapshot(decoding: $0) }
        let order = Dictionary(uniqueKeysWithValues: parameters.enumerated().map { ($1.path, $0) })
        return try SnapshotSharding.merge(parts, groupOrder: groupOrder, pathOrder: order, stepCount: stepCount)
    }

    /// Restores from a full snapshot (of an unsharded optimizer, or `gatheredSnapshot()` of a
    /// run on any number of ranks): this rank keeps its tensors' part. Every rank must pass the
    /// same snapshot (see `restoreBroadcast`). Throws before changing anything if the snapshot's
    /// trainable paths are not exactly this optimizer's.
    public func restore(_ snapshot: OptimizerSnapshot) throws {
        let expected = Set(trainableIndices.map { parameters[$0].path })
        let given = Set(snapshot.groups.flatMap(\.paths))
        guard given == expected else {
            let missing = expected.subtracting(given).sorted(), extra = given.subtracting(expected).sorted()
            throw DistributedError.snapshotMismatch("paths differ: missing \(missing), unknown \(extra)")
        }
        let mine = Set(ownedPaths(rank: communicator.rank))
        if let local {
            try local.restore(SnapshotSharding.part(of: snapshot, keeping: mine))
        }
        stepCount = snapshot.stepCount
    }

    /// Rank 0's snapshot sent to every rank, then `restore(_:)` (collective).
    public func restoreBroadcast(_ snapshot: OptimizerSnapshot?) throws {
        let bytes = try communicator.isRoot ? (snapshot?.encoded() ?? []) : []
        let received = try communicator.broadcastBytes(bytes, root: 0)
        guard !received.isEmpty else { throw DistributedError.invalidArgument("restoreBroadcast: rank 0 passed no snapshot") }
        try restore(try OptimizerSnapshot(decoding: received))
    }
}
