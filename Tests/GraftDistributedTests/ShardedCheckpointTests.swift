import Foundation
import GraftDistributed
import GraftOptim
import GraftTensor
import GraftTestSupport
import GraftTrain
import Testing

/// A sharded optimizer driven by deterministic gradients (the same on every rank, as after an
/// all-reduce), checkpointed and resumed on other numbers of ranks.
///
/// Each run saves `sharded-<ranks>.snapshot` / `.values` after `savedSteps` steps into
/// `GRAFT_MPI_CHECKPOINT_DIR` (a fresh temporary folder when unset), then resumes every
/// checkpoint it finds there, whatever rank count wrote it, and compares the continuation
/// with one uninterrupted run in one process. `make mpi-test` runs 2 ranks, then 3, then one
/// process, with `GRAFT_MPI_RESUME_FROM=2` so the 3- and 1-process runs must find the 2-rank
/// checkpoint.
extension Collective {
@Suite struct ShardedCheckpointTests {
    static let savedSteps = 4, totalSteps = 9
    static let shapes: [(String, [Int])] = [("w1", [6, 5]), ("b1", [6]), ("w2", [4, 6]), ("b2", [4]), ("w3", [3, 4]), ("b3", [3])]

    static func parameters() -> [NamedParameter] {
        shapes.enumerated().map { i, s in
            NamedParameter(path: s.0, parameter: Parameter(randomNormalTensor(s.1, seed: UInt64(i + 1))))
        }
    }

    static func groups() throws -> [ParameterGroup] {
        [try ParameterGroup("matrices", selecting: .rank(2), transform: try Recipes.digrap(learningRate: 1e-2, omega: .learned(mu: 0.5))),
         try ParameterGroup("vectors", selecting: .all, transform: try Recipes.adam(learningRate: 1e-2))]
    }

    /// Step t's gradient: noise plus a pull toward 0 (so it depends on the trajectory).
    static func setGradients(_ parameters: [NamedParameter], step t: Int) throws {
        for (i, p) in parameters.enumerated() {
            var g = randomNormalTensor(p.parameter.shape, seed: UInt64(1000 * t + i))
            try g.scaleAndAdd(p.parameter.value, alpha: 0.1, beta: 0.05)
            p.parameter.gradient = g
        }
    }

    static func values(_ parameters: [NamedParameter]) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.path, $0.parameter.value) })
    }

    /// The uninterrupted run in one process, after `steps` steps.
    static func reference(steps: Int) throws -> (values: [String: Tensor], snapshot: OptimizerSnapshot) {
        let ps = parameters()
        let optimizer = try Optimizer(parameters: ps, groups: try groups())
        for t in 0..<steps { try setGradients(ps, step: t); try optimizer.step() }
        return (values(ps), try optimizer.snapshot())
    }

    static func directory() throws -> URL {
        if let dir = ProcessInfo.processInfo.environment["GRAFT_MPI_CHECKPOINT_DIR"] {
            let url = URL(fileURLWithPath: dir)
            if world.isRoot { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
            try world.barrier()
            return url
        }
        let mine = world.isRoot ? Array(FileManager.default.temporaryDirectory
            .appendingPathComponent("graft-sharded-\(UUID().uuidString)").path.utf8) : []
        let url = URL(fileURLWithPath: String(decoding: try world.broadcastBytes(mine, root: 0), as: UTF8.self))
        if world.isRoot { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        try world.barrier()
        return url
    }

    @Test func gatheredSnapshotIsTheUnshardedOne() throws {
        let ps = Self.parameters()
        let sharded = try ShardedOptimizer(parameters: ps, groups: try Self.groups(), communicator: world)
        for t in 0..<Self.savedSteps { try Self.setGradients(ps, step: t); try sharded.step() }
        let gathered = try sharded.gatheredSnapshot()
        let reference = try Self.reference(steps: Self.savedSteps)
        #expect(Self.values(ps) == reference.values, "per-tensor transforms on whole tensors: bitwise the one-process step")
        if world.isRoot {
            #expect(gathered == reference.snapshot)
        } else {
            #expect(gathered == nil)
        }
    }

    @Test func splitAndMergeRoundTripForAnyRankCount() throws {
        let full = try Self.reference(steps: 3).snapshot
        let ps = Self.parameters()
        let order = Dictionary(uniqueKeysWithValues: ps.enumerated().map { ($1.path, $0) })
        for ranks in 1...4 {
            let assignment = try ShardAssignment(sizes: ps.map { $0.parameter.value.count }, ranks: ranks)
            let parts = (0..<ranks).map { r in
                SnapshotSharding.part(of: full, keeping: Set(assignment.owned(by: r).map { ps[$0].path }))
            }
            #expect(parts.reduce(0) { $0 + $1.groups.reduce(0) { $0 + $1.paths.count } } == ps.count)
            let merged = try SnapshotSharding.merge(parts.filter { !$0.groups.isEmpty }, groupOrder: ["matrices", "vectors"],
                                                    pathOrder: order, stepCount: full.stepCount)
            #expect(merged == full, "\(ranks) ranks")
        }
        // Overlapping parts are refused, naming the group and path.
        let whole = SnapshotSharding.part(of: full, keeping: Set(ps.map(\.path)))
        #expect(throws: DistributedError.snapshotMismatch("group matrices: w1 is held by two ranks")) {
            try SnapshotSharding.merge([whole, whole], groupOrder: ["matrices", "vectors"], pathOrder: order, stepCount: 3)
        }
    }

    @Test func restoreRefusesAnotherModel() throws {
        let full = try Self.reference(steps: 2).snapshot
        var ps = Self.parameters()
        ps.removeLast()
        let sharded = try ShardedOptimizer(parameters: ps, groups: try Self.groups(), communicator: world)
        #expect(throws: DistributedError.snapshotMismatch("paths differ: missing [], unknown [\"b3\"]")) { try sharded.restore(full) }
    }

    @Test func checkpointResumesOnAnyNumberOfRanks() throws {
        let dir = try Self.directory()
        let ranks = world.size
        // Save after `savedSteps` sharded steps (rank 0 writes).
        let ps = Self.parameters()
        let sharded = try ShardedOptimizer(parameters: ps, groups: try Self.groups(), communicator: world)
        for t in 0..<Self.savedSteps { try Self.setGradients(ps, step: t); try sharded.step() }
        let snapshot = try sharded.gatheredSnapshot()
        if let snapshot {
            try AtomicFile.write(try snapshot.encoded(), to: dir.appendingPathComponent("sharded-\(ranks).snapshot"))
            try TensorArchive(tensors: Self.values(ps), metadata: ["ranks": "\(ranks)", "steps": "\(Self.savedSteps)"])
                .write(to: dir.appendingPathComponent("sharded-\(ranks).values"))
        }
        try world.barrier()

        let expected = try Self.reference(steps: Self.totalSteps).values
        var found: [Int] = []
        for saved in 1...8 {
            let snapshotFile = dir.appendingPathComponent("sharded-\(saved).snapshot")
            guard FileManager.default.fileExists(atPath: snapshotFile.path) else { continue }
            found.append(saved)
            let archive = try TensorArchive.read(from: dir.appendingPathComponent("sharded-\(saved).values"))
            #expect(archive.metadata["ranks"] == "\(saved)")
            // Resume sharded on this run's ranks.
            let resumed = Self.parameters()
            for p in resumed { p.parameter.value = archive.tensors[p.path]! }
            let optimizer = try ShardedOptimizer(parameters: resumed, groups: try Self.groups(), communicator: world)
            let bytes = world.isRoot ? [UInt8](try Data(contentsOf: snapshotFile)) : []
            try optimizer.restoreBroadcast(world.isRoot ? try OptimizerSnapshot(decoding: bytes) : nil)
            for t in Self.savedSteps..<Self.totalSteps { try Self.setGradients(resumed, step: t); try optimizer.step() }
            #expect(Self.values(resumed) == expected, "saved on \(saved) ranks, resumed on \(ranks)")

            // Resume in one process with a plain Optimizer.
            let single = Self.parameters()
            for p in single { p.parameter.value = archive.tensors[p.path]! }
            let plain = try Optimizer(parameters: single, groups: try Self.groups())
            try plain.restore(try OptimizerSnapshot(decoding: [UInt8](try Data(contentsOf: snapshotFile))))
            for t in Self.savedSteps..<Self.totalSteps { try Self.setGradients(single, step: t); try plain.step() }
            #expect(Self.values(single) == expected, "saved on \(saved) ranks, resumed in one plain optimizer")
        }
        #expect(found.contains(ranks))
        if let required = ProcessInfo.processInfo.environment["GRAFT_MPI_RESUME_FROM"] {
            for r in required.split(separator: ",").compactMap({ Int($0) }) {
                #expect(found.contains(r), "no checkpoint written by \(r) ranks in \(dir.path)")
            }
        }
    }
}
}

@Suite struct ShardAssignmentTests {
    @Test func balancedByLargestFirst() throws {
        let a = try ShardAssignment(sizes: [10, 7, 7, 3, 1], ranks: 2)
        #expect(a.owners == [0, 1, 1, 0, 0])
        #expect(a.loads == [14, 14])
        let b = try ShardAssignment(sizes: [10, 7, 7, 3, 1], ranks: 3)
        #expect(b.owners == [0, 1, 2, 1, 2])
        #expect(b.loads == [10, 10, 8])
        let c = try ShardAssignment(sizes: [5], ranks: 3)
        #expect(c.owned(by: 0) == [0] && c.owned(by: 1).isEmpty && c.owned(by: 2).isEmpty)
        #expect(throws: DistributedError.invalidArgument("ranks must be ≥ 1, got 0")) { try ShardAssignment(sizes: [1], ranks: 0) }
    }

    @Test func everyLoadIsWithinTheLargestTensorOfTheMean() throws {
        var g = SeededGenerator(seed: 4)
        for ranks in 1...5 {
            let sizes = (0..<23).map { _ in 1 + g.next(below: 1000) }
            let a = try ShardAssignment(sizes: sizes, ranks: ranks)
            #expect(a.loads.reduce(0, +) == sizes.reduce(0, +))
            let mean = Double(sizes.reduce(0, +)) / Double(ranks)
            for load in a.loads { #expect(Double(load) <= mean + Double(sizes.max()!)) }
            for r in 0..<ranks { #expect(a.owned(by: r).reduce(0) { $0 + sizes[$1] } == a.loads[r]) }
        }
    }

    @Test func batchShardsPartitionTheGlobalBatch() throws {
        let images = randomUniformTensor([23, 3], seed: 2)
        let labels = Array(0..<23)
        for ranks in 1...4 {
            var whole = try BatchSampler(images: images, labels: labels, batchSize: 7, dropLast: false, seed: 6)
            var shards = try (0..<ranks).map { r in
                var s = try BatchSampler(images: images, labels: labels, batchSize: 7, dropLast: false, seed: 6)
                try s.setShard(rank: r, of: ranks)
                s.startEpoch()
                return s
            }
            whole.startEpoch()
            while let batch = whole.next() {
                var joined: [Int] = []
                var counts: [Int] = []
                for r in 0..<ranks {
                    let part = shards[r].next()!
                    joined += part.labels
                    counts.append(part.labels.count)
                    #expect(shards[r].lastGlobalRows == batch.labels.count)
                }
                #expect(joined == batch.labels)
                #expect(counts.max()! - counts.min()! <= 1)
            }
        }
    }

    @Test func misuseThrows() throws {
        var sampler = try BatchSampler(images: randomUniformTensor([8, 2], seed: 1), labels: Array(0..<8), batchSize: 4, seed: 1)
        #expect(throws: DataError.invalidArgument("shard: rank 2 is outside 0..<2")) { try sampler.setShard(rank: 2, of: 2) }
        #expect(throws: DataError.invalidArgument("shard: a batch of 4 rows cannot be shared by 5 ranks")) { try sampler.setShard(rank: 0, of: 5) }
        let bucket = GradientBucket(parameters: [NamedParameter(path: "p", parameter: Parameter(Tensor(zeros: [2])))], extraSlots: 1)
        #expect(throws: DataParallelError.extrasMismatch(expected: 1, actual: 0)) {
            try bucket.allReduce(scale: 1, over: SingleProcessCommunicator())
        }
    }
}
