import GraftTensor

/// What the trainer needs from data-parallel training: this process's rank among `size`
/// processes and an in-place sum over all of them. `GraftDistributed`'s communicators (MPI,
/// and one process) conform; `GraftTrain` itself never links MPI.
///
/// With `size` ranks, each global batch of `n` rows is split into contiguous shards of
/// `⌊n·(r+1)/size⌋ − ⌊n·r/size⌋` rows (`BatchSampler.shard`). Each rank computes the mean-loss
/// gradient `g_r` of its `n_r` rows; the global mean-loss gradient is
/// `g = Σ_r (n_r / n) · g_r`, obtained with one sum all-reduce of the scaled gradients.
public protocol DataParallelism: AnyObject {
    /// This process's rank, `0 ..< size`.
    var rank: Int { get }
    /// Number of processes.
    var size: Int { get }
    /// Replaces `buffer` on every rank by the elementwise sum of all ranks' buffers (same
    /// count on every rank).
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws
    /// Replaces `buffer` on every rank by the elementwise maximum over all ranks.
    func allReduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws
}

/// Errors of data-parallel training detected by the trainer.
public enum DataParallelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A global batch has fewer rows than there are ranks.
    case batchSmallerThanRanks(batch: Int, ranks: Int)
    /// The parameters differ between ranks (checksums differ) after `epoch`.
    case parametersDiverged(epoch: Int, checksum: UInt64)
    /// `GradientBucket.allReduce` got another number of extras than it has slots.
    case extrasMismatch(expected: Int, actual: Int)

    /// A readable message.
    public var description: String {
        switch self {
        case let .batchSmallerThanRanks(batch, ranks):
            "a batch of \(batch) rows cannot be shared by \(ranks) ranks (every rank needs at least one row)"
        case let .parametersDiverged(epoch, checksum):
            "parameters differ between ranks after epoch \(epoch) (this rank's checksum \(String(checksum, radix: 16)))"
        case let .extrasMismatch(expected, actual):
            "gradient bucket: \(actual) extra values for \(expected) slots"
        }
    }
}

extension DataParallelism {
    /// Rows `lower ..< upper` of a global batch of `rows` owned by `rank`:
    /// `⌊rows·rank/size⌋ ..< ⌊rows·(rank+1)/size⌋` (shard sizes differ by at most one).
    public func shard(ofRows rows: Int) -> Range<Int> {
        (rows * rank / size) ..< (rows * (rank + 1) / size)
    }

    /// Throws `parametersDiverged` unless every rank holds bitwise the same `parameters`
    /// (compares a 64-bit FNV-1a checksum of their bits: one all-reduce of 4 doubles).
    public func checkParametersEqual(_ parameters: [NamedParameter], epoch: Int) throws {
        let sum = ParameterChecksum.of(parameters)
        let hi = Double(sum >> 32), lo = Double(sum & 0xffff_ffff)
        var values = [hi, lo, -hi, -lo]
        try values.withUnsafeMutableBufferPointer { try allReduceMax($0) }
        // max(x) == min(x) on every half means every rank sent the same value.
        guard values[0] == -values[2], values[1] == -values[3] else {
            throw DataParallelError.parametersDiverged(epoch: epoch, checksum: sum)
        }
    }
}

/// A cheap checksum of parameter values: FNV-1a over the paths and the float bits, in order.
public enum ParameterChecksum {
    /// The 64-bit FNV-1a hash of every parameter's path and value bits.
    public static func of(_ parameters: [NamedParameter]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for p in parameters {
            for b in p.path.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            p.parameter.value.withUnsafeBufferPointer { values in
                for v in values { h = (h ^ UInt64(v.bitPattern)) &* 0x100_0000_01b3 }
            }
        }
        return h
    }
}

/// The gradients of a set of parameters flattened into one buffer (the "bucket"), so a
/// data-parallel step needs a single all-reduce instead of one per tensor. The buffer is
/// allocated once and reused every step.
public final class GradientBucket {
    /// The parameters whose gradients travel, in bucket order.
    public let parameters: [NamedParameter]
    /// Floats in the bucket: all gradient elements plus `extraSlots` trailing values.
    public let count: Int
    /// Trailing slots after the gradients (e.g. the loss), reduced with them.
    public let extraSlots: Int
    private var buffer: [Float]

    /// A bucket for the gradients of `parameters` followed by `extraSlots` floats.
    public init(parameters: [NamedParameter], extraSlots: Int = 0) {
        self.parameters = parameters
        self.extraSlots = extraSlots
        self.count = parameters.reduce(0) { $0 + $1.parameter.gradient.count } + extraSlots
        self.buffer = [Float](repeating: 0, count: count)
    }

    /// Averages the gradients over ranks in place: packs `scale · gradient` of every parameter
    /// (and `scale · extras[i]`) into the bucket, sums it over all ranks with one all-reduce,
    /// and unpacks it into the gradients. Returns the reduced extras.
    /// With `scale = n_r / n` (this rank's share of the global batch) the result is the
    /// gradient of the global batch's mean loss.
    @discardableResult
    public func allReduce(scale: Float, extras: [Float] = [], over group: any DataParallelism) throws -> [Float] {
        guard extras.count == extraSlots else { throw DataParallelError.extrasMismatch(expected: extraSlots, actual: extras.count) }
        pack(scale: scale, accumulating: false)
        try buffer.withUnsafeMutableBufferPointer { bucket in
            for (i, e) in extras.enumerated() { bucket[count - extraSlots + i] = scale * e }
            try group.allReduceSum(bucket)
        }
        unpack()
        return Array(buffer[(count - extraSlots)...])
    }

    /// Writes `scale · gradient` of every parameter into the bucket (`accumulating`: adds it,
    /// `b ← b + scale·g`, in float32), in bucket order.
    func pack(scale: Float, accumulating: Bool) {
        buffer.withUnsafeMutableBufferPointer { bucket in
            var offset = 0
            for p in parameters {
                p.parameter.gradient.withUnsafeBufferPointer { g in
                    if accumulating {
                        for i in g.indices { bucket[offset + i] += scale * g[i] }
                    } else {
                        for i in g.indices { bucket[offset + i] = scale * g[i] }
                    }
                    offset += g.count
                }
            }
        }
    }

    /// Copies the bucket back into the gradients of the parameters `include` accepts (by index in
    /// `parameters`); the others are left as they are.
    func unpack(include: (Int) -> Bool = { _ in true }) {
        buffer.withUnsafeBufferPointer { bucket in
            var offset = 0
            for (j, p) in parameters.enumerated() {
                let n = p.parameter.gradient.count
                if include(j) {
                    p.parameter.gradient.withUnsafeMutableBufferPointer { g in
                        g.baseAddress!.update(from: bucket.baseAddress! + offset, count: n)
                    }
                }
                offset += n
            }
        }
    }
}

extension GradientBucket {
    /// Averages several objectives' gradients (e.g. the tasks of PCGrad) over ranks with one
    /// all-reduce: every objective's tensors (paths in sorted order) scaled by `scale` go into
    /// one buffer, which is summed over ranks and unpacked into new dictionaries. Every rank
    /// must pass the same paths and shapes.
    public static func allReduce(objectives: [[String: Tensor]], scale: Float,
                                 over group: any DataParallelism) throws -> [[String: Tensor]] {
        let keys = objectives.map { $0.keys.sorted() }
        let total = zip(objectives, keys).reduce(0) { sum, o in o.1.reduce(sum) { $0 + o.0[$1]!.count } }
        var buffer = [Float](repeating: 0, count: total)
        var offset = 0
        for (o, ks) in zip(objectives, keys) {
            for k in ks {
                o[k]!.withUnsafeBufferPointer { g in for i in g.indices { buffer[offset + i] = scale * g[i] } }
                offset += o[k]!.count
            }
        }
        try buffer.withUnsafeMutableBufferPointer { try group.allReduceSum($0) }
        offset = 0
        var result: [[String: Tensor]] = []
        for (o, ks) in zip(objectives, keys) {
            var reduced: [String: Tensor] = [:]
            for k in ks {
                var t = o[k]!
                t.withUnsafeMutableBufferPointer { g in
                    g.baseAddress!.update(from: Array(buffer[offset..<(offset + g.count)]), count: g.count)
                }
                offset += t.count
                reduced[k] = t
            }
            result.append(reduced)
        }
        return result
    }
}
