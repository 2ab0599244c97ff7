import Foundation
import GraftDistributed
import GraftNN
import GraftOptim
import GraftTensor
import GraftTestSupport
import GraftTrain
import Testing

/// Every test here calls collectives, so the suite runs serially: all ranks must call them in
/// the same order. Alone they run on one rank; `make mpi-test` runs them under
/// `mpirun -np 2` and `-np 3`.
extension Collective {
@Suite struct DistributedTests {
    @Test func collectives() throws {
        let n = world.size, r = world.rank
        var sums = (0..<1000).map { Float($0 % 7) + Float(r) }
        try world.allReduceSum(&sums)
        for i in 0..<1000 { #expect(sums[i] == Float(n) * Float(i % 7) + Float(n * (n - 1) / 2)) }

        var doubles = [Double(r) + 0.5, -Double(r)]
        try doubles.withUnsafeMutableBufferPointer { try world.allReduceMax($0) }
        #expect(doubles == [Double(n - 1) + 0.5, 0])

        var broadcast = [Float](repeating: Float(r), count: 33)
        try world.broadcast(&broadcast, root: n - 1)
        #expect(broadcast == [Float](repeating: Float(n - 1), count: 33))

        // Uneven all-gather: rank q sends q + 1 values 100q + i.
        let counts = (0..<n).map { $0 + 1 }
        let send = (0...r).map { Float(100 * r + $0) }
        var receive = [Float](repeating: -1, count: counts.reduce(0, +))
        try send.withUnsafeBufferPointer { s in try receive.withUnsafeMutableBufferPointer { try world.allGather(s, into: $0, counts: counts) } }
        #expect(receive == (0..<n).flatMap { q in (0...q).map { Float(100 * q + $0) } })

        let gathered = try world.gatherBytes(Array(repeating: UInt8(r), count: r), root: 0)
        if r == 0 { #expect(gathered == (0..<n).map { Array(repeating: UInt8($0), count: $0) }) } else { #expect(gathered == nil) }
        #expect(try world.broadcastBytes(r == 0 ? [1, 2, 3] : [], root: 0) == [1, 2, 3])
        try world.barrier()

        #expect(throws: DistributedError.self) { try world.broadcast(&broadcast, root: n) }
        #expect(throws: DistributedError.self) {
            try send.withUnsafeBufferPointer { s in try receive.withUnsafeMutableBufferPointer { try world.allGather(s, into: $0, counts: []) } }
        }
    }

    @Test func bucketAveragesGradientsOfUnevenShards() throws {
        // Each rank's gradient is its rank + 1 everywhere; shares n_r / n weight them.
        let p = Parameter(Tensor(zeros: [3, 4])), q = Parameter(Tensor(zeros: [5]))
        for t in [p, q] { t.gradient = Tensor(repeating: Float(world.rank + 1), shape: t.shape) }
        let bucket = GradientBucket(parameters: [NamedParameter(path: "p", parameter: p), NamedParameter(path: "q", parameter: q)], extraSlots: 1)
        let rows = 10, shard = world.shard(ofRows: rows)
        let extras = try bucket.allReduce(scale: Float(shard.count) / Float(rows), extras: [Float(world.rank)], over: world)
        let expected = (0..<world.size).reduce(Float(0)) { sum, q in
            let range = (rows * q / world.size)..<(rows * (q + 1) / world.size)
            return sum + Float(range.count) / Float(rows) * Float(q + 1)
        }
        for v in p.gradient.scalars + q.gradient.scalars { #expect(isClose(v, expected)) }
        #expect(extras.count == 1)
    }

    @Test(arguments: Recipe.allCases) func dataParallelTrainerMatchesOneProcess(recipe: Recipe) throws {
        let data = try syntheticData()
        func run(_ group: (any Communicator)?) throws -> [String: Tensor] {
            let classifier = try model()
            let optimizer = try Optimizer(parameters: classifier.namedParameters(),
                                          groups: [ParameterGroup("all", selecting: .all, transform: try recipe.transform())])
            var trainer = Trainer(epochs: 2, batchSize: 10, seed: 3)
            trainer.dataParallel = group
            trainer.checksParametersEachEpoch = true
            try trainer.train(classifier.model, on: data, optimizer: optimizer)
            return classifier.weights()
        }
        let reference = try run(nil)
        let parallel = try run(world)
        #expect(parityViolations(parallel, reference) == [], "\(recipe) on \(world.size) ranks")
        try world.checkParametersEqual(try model().namedParameters(), epoch: 0)
    }

    /// One process with as many micro-batches as there are ranks does the ranks' arithmetic:
    /// bitwise the same parameters for 1 and 2 ranks (the sum of two buffers is one float
    /// addition), within the parity tolerance for more (MPI chooses the association order).
    @Test(arguments: Recipe.allCases) func oneProcessWithAsManyMicroBatchesMatchesTheRanks(recipe: Recipe) throws {
        let data = try syntheticData()
        func run(_ group: (any Communicator)?, microBatches: Int) throws -> [String: Tensor] {
            let classifier = try model()
            let optimizer = try Optimizer(parameters: classifier.namedParameters(),
                                          groups: [ParameterGroup("all", selecting: .all, transform: try recipe.transform())])
            var trainer = Trainer(epochs: 3, batchSize: 12, seed: 4)
            trainer.dataParallel = group
            trainer.microBatches = microBatches
            try trainer.train(classifier.model, on: data, optimizer: optimizer)
            return classifier.weights()
        }
        let ranks = try run(world, microBatches: 1)
        let oneProcess = try run(nil, microBatches: world.size)
        if world.size <= 2 {
            for (path, value) in oneProcess.sorted(by: { $0.key < $1.key }) {
                #expect(bitwiseEqual(value.scalars, ranks[path]?.scalars ?? []), "\(recipe) \(path): \(world.size) ranks vs one process")
            }
        } else {
            #expect(parityViolations(ranks, oneProcess) == [], "\(recipe) on \(world.size) ranks")
        }
    }

    @Test(arguments: Recipe.allCases) func shardedOptimizerMatchesOneProcess(recipe: Recipe) throws {
        let data = try syntheticData()
        let reference = try model()
        let optimizer = try Optimizer(parameters: reference.namedParameters(),
                                      groups: [ParameterGroup("all", selecting: .all, transform: try recipe.transform())])
        try manualTraining(reference, data: data, batch: 10, epochs: 2, group: nil) { try optimizer.step() }

        let classifier = try model()
        let sharded = try ShardedOptimizer(parameters: classifier.namedParameters(),
                                           groups: [ParameterGroup("all", selecting: .all, transform: try recipe.transform())],
                                           communicator: world)
        try manualTraining(classifier, data: data, batch: 10, epochs: 2, group: world) { try sharded.step() }
        #expect(parityViolations(classifier.weights(), reference.weights()) == [], "\(recipe) sharded on \(world.size) ranks")
        try world.checkParametersEqual(classifier.namedParameters(), epoch: 2)
        // State is kept only for owned tensors: at most the largest load plus nothing else.
        let full = try optimizer.snapshot().stateBytes / 4
        let mine = try sharded.localStateFloats()
        let perElement = full / classifier.namedParameters().reduce(0) { $0 + $1.parameter.value.count }
        #expect(mine == sharded.assignment.loads[world.rank] * perElement)
    }

    @Test func pcgradDataParallelMatchesOneProcess() throws {
        let data = try syntheticData()
        func run(_ group: (any Communicator)?) throws -> [String: Tensor] {
            let classifier = try model()
            let r = try Recipes.pcgrad(learningRate: 5e-2)
            let optimizer = try Optimizer(parameters: classifier.namedParameters(), groups: [
                ParameterGroup("all", selecting: .all, aggregator: r.aggregator, transform: r.transform),
            ])
            var sampler = try BatchSampler(images: data.images, labels: data.labels, batchSize: 12, seed: 8)
            if let group { try sampler.setShard(rank: group.rank, of: group.size) }
            for _ in 0..<2 {
                sampler.startEpoch()
                while let b = sampler.next() {
                    // Two tasks: the label and the label shifted by one (conflicting on purpose).
                    let shifted = b.labels.map { ($0 + 1) % 4 }
                    var objectives = [try Trainer.gradient(of: classifier.model, images: b.images, labels: b.labels),
                                      try Trainer.gradient(of: classifier.model, images: b.images, labels: shifted)]
                    if let group {
                        objectives = try GradientBucket.allReduce(objectives: objectives, scale: Float(b.labels.count) / Float(sampler.lastGlobalRows), over: group)
                    }
                    try optimizer.step(objectives: objectives)
                }
            }
            return classifier.weights()
        }
        let reference = try run(nil)
        #expect(parityViolations(try run(world), reference) == [], "PCGrad on \(world.size) ranks")
    }

    @Test func divergedParametersAreDetected() throws {
        let p = Parameter(Tensor(repeating: 1, shape: [4]))
        let named = [NamedParameter(path: "p", parameter: p)]
        try world.checkParametersEqual(named, epoch: 1)
        guard world.size > 1 else { return }
        if world.rank == 1 { p.value = Tensor(repeating: 2, shape: [4]) }
        #expect(throws: DataParallelError.self) { try world.checkParametersEqual(named, epoch: 1) }
    }
}
}
