import Foundation
import GraftNN
import GraftOptim
import GraftTensor

/// What a training run reports after each optimizer step.
public struct TrainingStep: Sendable {
    /// Epoch (1-based).
    public let epoch: Int
    /// Global step (1-based).
    public let step: Int
    /// Steps in the whole run.
    public let totalSteps: Int
    /// The batch's loss.
    public let loss: Float
    /// Steps per second so far.
    public let stepsPerSecond: Double
}

/// A plain supervised training loop: shuffled mini-batches, softmax cross-entropy, backward
/// pass, one optimizer step per batch.
public struct Trainer {
    /// Epochs to run.
    public var epochs: Int
    /// Rows per batch (the last partial batch of an epoch is dropped).
    public var batchSize: Int
    /// Seed of the batch order.
    public var seed: UInt64
    /// Data-parallel training (`nil`: one process). Every rank runs the same loop over the same
    /// global batches; each computes the gradient of its shard, the gradients (and the loss) are
    /// averaged with one bucketed all-reduce per step, and every rank takes the same step.
    public var dataParallel: (any DataParallelism)?
    /// Micro-batches per batch (gradient accumulation; 1: none). Each batch (with
    /// `dataParallel`, each rank's shard of it) of `n` rows is cut into `microBatches`
    /// contiguous parts of `⌊n·(k+1)/K⌋ − ⌊n·k/K⌋` rows; the mean-loss gradient `g_k` of each
    /// part is computed by its own forward and backward pass, and the batch's gradient is
    /// `Σ_k (n_k/n)·g_k`, added in order `k = 0, 1, …` in float32. That is the gradient of the
    /// batch's mean loss (up to rounding) with the activation memory of one part, and it is
    /// exactly the arithmetic of `K` data-parallel ranks: a one-process run with
    /// `microBatches: 2` is bitwise the same as a 2-rank run (`mpirun -np 2`), whose sum
    /// all-reduce of two buffers is one float addition per element. (For more ranks the
    /// all-reduce's association order is MPI's, so agreement is to rounding.)
    public var microBatches: Int = 1
    /// With `dataParallel`, check at the end of every epoch that all ranks hold the same
    /// parameters (a checksum; throws `DataParallelError.parametersDiverged`). On by default in
    /// debug builds.
    public var checksParametersEachEpoch: Bool = {
        #if DEBUG
        true
        #else
        false
        #endif
    }()

    /// A loop of `epochs` over batches of `batchSize`, in an order seeded by `seed`.
    public init(epochs: Int, batchSize: Int, seed: UInt64) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
    }

    /// Optimizer steps a run over `count` examples takes (`Int.max` when the product
    /// overflows; `train` refuses such a run).
    public func totalSteps(examples count: Int) -> Int {
        guard batchSize > 0 else { return 0 }
        let (n, overflow) = epochs.multipliedReportingOverflow(by: count / batchSize)
        return overflow ? Int.max : n
    }

    /// Trains `model` on `data` with `optimizer`.
    /// - Parameters:
    ///   - augment: optional per-epoch transformation of the training images (e.g. seeded augmentation).
    ///   - providedGradient: optional caller-provided gradient at the current parameters for each
    ///     step (e.g. of a validation batch), passed to `Optimizer.step(providedGradients:)`.
    ///   - onStep: called after every step.
    /// - Returns: the mean loss of the last epoch.
    @discardableResult
    public func train(_ model: any Layer, on data: DigitDataset, optimizer: Optimizer,
                      augment: ((DigitDataset, Int) throws -> DigitDataset)? = nil,
                      providedGradient: (() throws -> [String: Tensor])? = nil,
                      onStep: (TrainingStep) -> Void = { _ in }) throws -> Float {
        let loss = try SoftmaxCrossEntropy()
        guard batchSize > 0 else { throw DataError.invalidArgument("batch size \(batchSize) must be ≥ 1") }
        let perEpoch = data.count / batchSize
        guard perEpoch > 0 else {
            throw DataError.invalidArgument("\(data.name): \(data.count) examples cannot fill one batch of \(batchSize)")
        }
        let (total, overflow) = epochs.multipliedReportingOverflow(by: perEpoch)
        guard epochs >= 0, !overflow else {
            throw DataError.invalidArgument("\(epochs) epochs of \(perEpoch) steps: the step count overflows")
        }
        let start = Date()
        var step = 0
        var lastEpochLoss: Float = .nan
        var orderSeed = SeededGenerator(seed: seed)
        if let dp = dataParallel, dp.size > 1, batchSize < dp.size {
            throw DataParallelError.batchSmallerThanRanks(batch: batchSize, ranks: dp.size)
        }
        let ranks = max(1, dataParallel?.size ?? 1)
        guard microBatches >= 1, microBatches <= batchSize / ranks else {
            throw DataError.invalidArgument("\(microBatches) micro-batches: must be 1 … \(batchSize / ranks) (rows per batch\(ranks > 1 ? " and rank" : ""))")
        }
        let accumulator = microBatches > 1
            ? MicroBatchAccumulator(parameters: model.namedParameters().filter(\.parameter.isTrainable)) : nil
        let bucket = dataParallel.map { _ in
            GradientBucket(parameters: model.namedParameters().filter(\.parameter.isTrainable), extraSlots: 1)
        }
        for epoch in 1...max(1, epochs) where epochs > 0 {
            let epochData = try augment?(data, epoch) ?? data
            var sampler = try BatchSampler(images: epochData.images, labels: epochData.labels, batchSize: batchSize,
                                           seed: orderSeed.next())
            if let dp = dataParallel { try sampler.setShard(rank: dp.rank, of: dp.size) }
            sampler.startEpoch()
            var sum: Double = 0, batches = 0
            while let batch = sampler.next() {
                let provided = try providedGradient?()
                var batchLoss: Float
                if let accumulator {
                    batchLoss = try accumulator.gradient(of: model, loss: loss, images: batch.images, labels: batch.labels,
                                                         parts: microBatches)
                } else {
                    model.clearGradients()
                    let out = try loss(model.forward(batch.images), labels: batch.labels)
                    try model.accumulateParameterGradients(out.gradient)
                    batchLoss = out.value
                }
                if let dp = dataParallel, let bucket {
                    let share = Float(batch.labels.count) / Float(sampler.lastGlobalRows)
                    batchLoss = try bucket.allReduce(scale: share, extras: [batchLoss], over: dp)[0]
                }
                try optimizer.step(providedGradients: provided)
                step += 1
                sum += Double(batchLoss)
                batches += 1
                onStep(TrainingStep(epoch: epoch, step: step, totalSteps: total, loss: batchLoss,
                                    stepsPerSecond: Double(step) / max(1e-9, Date().timeIntervalSince(start))))
            }
            lastEpochLoss = Float(sum / Double(max(1, batches)))
            if let dp = dataParallel, checksParametersEachEpoch, dp.size > 1 {
                try dp.checkParametersEqual(model.namedParameters(), epoch: epoch)
            }
        }
        return lastEpochLoss
    }

    /// The gradient of the loss on one batch at the model's current parameters, by path
    /// (parameter gradients are left zeroed afterwards).
    public static func gradient(of model: any Layer, images: Tensor, labels: [Int]) throws -> [String: Tensor] {
        let loss = try SoftmaxCrossEntropy()
        model.zeroGradients()
        let out = try loss(model.forward(images), labels: labels)
        try model.accumulateParameterGradients(out.gradient)
        var grads: [String: Tensor] = [:]
        for p in model.namedParameters() where p.parameter.isTrainable { grads[p.path] = p.parameter.gradient }
        model.zeroGradients()
        return grads
    }
}
