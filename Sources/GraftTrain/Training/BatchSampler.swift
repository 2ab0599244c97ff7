import GraftTensor

/// Shuffled mini-batches of a dataset, one epoch at a time, gathered into a batch tensor the
/// sampler reuses (drop the returned batch before asking for the next one and no storage is
/// allocated). The order of every epoch comes from the sampler's seeded generator.
public struct BatchSampler {
    /// The images `[N, features]` batches are drawn from.
    public let images: Tensor
    /// The labels.
    public let labels: [Int]
    /// Rows per batch.
    public let batchSize: Int
    /// Whether a last, smaller batch is dropped (training) or kept (evaluation).
    public let dropLast: Bool
    private var generator: SeededGenerator
    private var order: [Int] = []
    private var position = 0
    private var buffer: Tensor
    private var labelBuffer: [Int] = []
    /// Data-parallel sharding: rank `index` of `count` receives only rows
    /// `⌊n·index/count⌋ ..< ⌊n·(index+1)/count⌋` of each global batch of `n` rows. The order and
    /// the global batches are the same on every rank (same seed), so the shards partition them.
    /// `(0, 1)` (the default) is the whole batch. Set with `setShard(rank:of:)`.
    public private(set) var shard: (index: Int, count: Int) = (0, 1)
    /// Rows of the last global batch returned by `next()` (before sharding).
    public private(set) var lastGlobalRows = 0

    /// - Throws: `invalidArgument` for a batch size < 1 or an images / labels mismatch.
    public init(images: Tensor, labels: [Int], batchSize: Int, dropLast: Bool = true, seed: UInt64) throws {
        guard batchSize >= 1 else { throw DataError.invalidArgument("batch size must be ≥ 1, got \(batchSize)") }
        guard images.rank == 2, images.shape[0] == labels.count else {
            throw DataError.invalidArgument("images \(images.shape) do not match \(labels.count) labels")
        }
        self.images = images
        self.labels = labels
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.generator = SeededGenerator(seed: seed)
        self.buffer = Tensor(zeros: [min(batchSize, labels.count), images.shape[1]])
    }

    /// Makes `next()` return only rank `rank`'s rows of each global batch of `ranks` ranks.
    /// - Throws: `invalidArgument` unless `0 ≤ rank < ranks` and `ranks ≤ batchSize`.
    public mutating func setShard(rank: Int, of ranks: Int) throws {
        guard ranks >= 1, (0..<ranks).contains(rank) else {
            throw DataError.invalidArgument("shard: rank \(rank) is outside 0..<\(ranks)")
        }
        guard ranks <= batchSize else {
            throw DataError.invalidArgument("shard: a batch of \(batchSize) rows cannot be shared by \(ranks) ranks")
        }
        shard = (rank, ranks)
    }

    /// Full batches per epoch (plus one partial batch when `dropLast` is false).
    public var batchesPerEpoch: Int {
        dropLast ? labels.count / batchSize : (labels.count + batchSize - 1) / batchSize
    }

    /// Starts a new epoch in a freshly shuffled order.
    public mutating func startEpoch() {
        order = generator.permutation(labels.count)
        position = 0
    }

    /// The next batch of this epoch, or `nil` at its end.
    public mutating func next() -> (images: Tensor, labels: [Int])? {
        let remaining = order.count - position
        guard remaining > 0, !(dropLast && remaining < batchSize) else { return nil }
        let global = min(batchSize, remaining)
        let lower = position + global * shard.index / shard.count, upper = position + global * (shard.index + 1) / shard.count
        let n = upper - lower
        let width = images.shape[1]
        if buffer.shape[0] != n { buffer = Tensor(zeros: [n, width]) }
        labelBuffer.removeAll(keepingCapacity: true)
        let rows = order[lower..<upper]
        images.withUnsafeBufferPointer { src in
            buffer.withUnsafeMutableBufferPointer { dst in
                for (r, i) in rows.enumerated() {
                    (dst.baseAddress! + r * width).update(from: src.baseAddress! + i * width, count: width)
                }
            }
        }
        for i in rows { labelBuffer.append(labels[i]) }
        position += global
        lastGlobalRows = global
        return (buffer, labelBuffer)
    }
}
