import Foundation
import GraftOptim
import GraftTensor

/// Splitting an `OptimizerSnapshot` into a rank's part and merging the parts again; the
/// structure (groups, paths in group order, per-path state) is that of `Optimizer.snapshot()`.
public enum SnapshotSharding {
    /// The part of `snapshot` for the paths in `keep`: each group restricted to those paths (in
    /// their order), groups left empty dropped, anchors restricted.
    public static func part(of snapshot: OptimizerSnapshot, keeping keep: Set<String>) -> OptimizerSnapshot {
        var groups: [OptimizerSnapshot.Group] = []
        for g in snapshot.groups {
            let idx = g.paths.indices.filter { keep.contains(g.paths[$0]) }
            guard !idx.isEmpty else { continue }
            let members = g.members.map { m in
                OptimizerSnapshot.Member(kind: m.kind, name: m.name, configuration: m.configuration,
                                         layouts: idx.map { m.layouts[$0] }, tensors: idx.map { m.tensors[$0] },
                                         scalars: idx.map { m.scalars[$0] })
            }
            groups.append(.init(name: g.name, paths: idx.map { g.paths[$0] }, shapes: idx.map { g.shapes[$0] }, step: g.step,
                                members: members, aggregatorState: g.aggregatorState))
        }
        return OptimizerSnapshot(groups: groups, anchors: snapshot.anchors.filter { keep.contains($0.key) },
                                 stepCount: snapshot.stepCount, skippedSteps: snapshot.skippedSteps)
    }

    /// Merges the parts of disjoint path sets: groups ordered by `groupOrder`, paths within a
    /// group by `pathOrder` (the parameter index), members checked to agree in kind, name and
    /// configuration. The aggregator state and step of a group are the first part's.
    /// - Throws: `snapshotMismatch` naming the group (and path) when parts disagree or overlap.
    public static func merge(_ parts: [OptimizerSnapshot], groupOrder: [String], pathOrder: [String: Int],
                             stepCount: Int) throws -> OptimizerSnapshot {
        var byName: [String: [OptimizerSnapshot.Group]] = [:]
        for p in parts { for g in p.groups { byName[g.name, default: []].append(g) } }
        for name in byName.keys where !groupOrder.contains(name) {
            throw DistributedError.snapshotMismatch("group \(name) is not one of \(groupOrder)")
        }
        var groups: [OptimizerSnapshot.Group] = []
        for name in groupOrder {
            guard let pieces = byName[name], let first = pieces.first else { continue }
            var rows: [(order: Int, group: Int, index: Int)] = []
            var seen = Set<String>()
            for (gi, g) in pieces.enumerated() {
                guard g.members.count == first.members.count,
                      zip(g.members, first.members).allSatisfy({ $0.kind == $1.kind && $0.name == $1.name && $0.configuration == $1.configuration }) else {
                    throw DistributedError.snapshotMismatch("group \(name): the ranks' chains differ")
                }
                guard g.step == first.step else {
                    throw DistributedError.snapshotMismatch("group \(name): steps differ between ranks (\(g.step) vs \(first.step))")
                }
                for (k, path) in g.paths.enumerated() {
                    guard seen.insert(path).inserted else { throw DistributedError.snapshotMismatch("group \(name): \(path) is held by two ranks") }
                    guard let o = pathOrder[path] else { throw DistributedError.snapshotMismatch("group \(name): unknown path \(path)") }
                    rows.append((o, gi, k))
                }
            }
            rows.sort { $0.order < $1.order }
            let members = first.members.indices.map { m in
                OptimizerSnapshot.Member(kind: first.members[m].kind, name: first.members[m].name,
                                         configuration: first.members[m].configuration,
                                         layouts: rows.map { pieces[$0.group].members[m].layouts[$0.index] },
                                         tensors: rows.map { pieces[$0.group].members[m].tensors[$0.index] },
                                         scalars: rows.map { pieces[$0.group].members[m].scalars[$0.index] })
            }
            groups.append(.init(name: name, paths: rows.map { pieces[$0.group].paths[$0.index] },
                                shapes: rows.map { pieces[$0.group].shapes[$0.index] }, step: first.step,
                                members: members, aggregatorState: first.aggregatorState))
        }
        var anchors: [String: Tensor] = [:]
        for p in parts { anchors.merge(p.anchors) { a, _ in a } }
        return OptimizerSnapshot(groups: groups, anchors: anchors, stepCount: stepCount,
                                 skippedSteps: parts.map(\.skippedSteps).max() ?? 0)
    }
}
