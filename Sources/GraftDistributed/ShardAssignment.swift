/// Which rank owns which tensor under ZeRO-1 sharding: whole tensors, balanced by size.
///
/// Greedy longest-processing-time assignment: tensors in decreasing element count (ties: lower
/// index first) each go to the rank with the fewest elements so far (ties: lower rank). The
/// largest load is at most 4/3 of the optimum, and at most the mean load plus the largest
/// tensor. Deterministic: every rank computes the same assignment from the shapes alone.
public struct ShardAssignment: Sendable, Equatable {
    /// Owner rank of each tensor, in input order.
    public let owners: [Int]
    /// Elements per rank.
    public let loads: [Int]
    /// Ranks.
    public let ranks: Int

    /// Assigns tensors of `sizes` elements to `ranks` ranks.
    /// - Throws: `invalidArgument` for `ranks < 1` or a negative size.
    public init(sizes: [Int], ranks: Int) throws {
        guard ranks >= 1 else { throw DistributedError.invalidArgument("ranks must be ≥ 1, got \(ranks)") }
        if let bad = sizes.firstIndex(where: { $0 < 0 }) {
            throw DistributedError.invalidArgument("tensor \(bad) has negative size \(sizes[bad])")
        }
        let order = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
        var owners = [Int](repeating: 0, count: sizes.count)
        var loads = [Int](repeating: 0, count: ranks)
        for i in order {
            var best = 0
            for r in 1..<ranks where loads[r] < loads[best] { best = r }
            owners[i] = best
            loads[best] += sizes[i]
        }
        self.owners = owners
        self.loads = loads
        self.ranks = ranks
    }

    /// Indices of the tensors `rank` owns, in input order.
    public func owned(by rank: Int) -> [Int] { owners.indices.filter { owners[$0] == rank } }
}
