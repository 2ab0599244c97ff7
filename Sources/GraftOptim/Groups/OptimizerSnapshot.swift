import Foundation
import GraftTensor

/// Everything an `Optimizer` needs to continue exactly where it stopped: per group, the
/// member paths and shapes (to verify a restore), the step count and the serialised states
/// of its aggregator and transform chain; the anchors θ0; the global counters.
///
/// States are encoded with `JSONEncoder` (shortest round-tripping float text, so a restore
/// is bit-exact). The snapshot holds no reference to the optimizer.
public struct OptimizerSnapshot: Sendable, Equatable {
    /// One group's part.
    public struct Group: Sendable, Equatable {
        /// The group's name.
        public var name: String
        /// The group's member paths, in order.
        public var paths: [String]
        /// The members' shapes, in order.
        public var shapes: [[Int]]
        /// Steps the group has taken.
        public var step: Int
        /// The chain's state, JSON-encoded.
        public var transformState: Data
        /// The aggregator's state, JSON-encoded.
        public var aggregatorState: Data

        /// Memberwise initialiser.
        public init(name: String, paths: [String], shapes: [[Int]], step: Int, transformState: Data, aggregatorState: Data) {
            self.name = name
            self.paths = paths
            self.shapes = shapes
            self.step = step
            self.transformState = transformState
            self.aggregatorState = aggregatorState
        }
    }

    /// Groups in the optimizer's order.
    public var groups: [Group]
    /// Stored anchors θ0 by path (zero anchors are not stored).
    public var anchors: [String: Tensor]
    /// `Optimizer.stepCount`.
    public var stepCount: Int
    /// `Optimizer.skippedSteps`.
    public var skippedSteps: Int

    /// Memberwise initialiser.
    public init(groups: [Group], anchors: [String: Tensor], stepCount: Int, skippedSteps: Int) {
        self.groups = groups
        self.anchors = anchors
        self.stepCount = stepCount
        self.skippedSteps = skippedSteps
    }
}

/// Why a snapshot cannot be restored into an optimizer.
public enum RestoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The snapshot's groups differ from the optimizer's (names or order).
    case groupMismatch(expected: [String], found: [String])
    /// A group's members differ (paths, order or shapes).
    case memberMismatch(group: String, path: String, expected: String, found: String)
    /// A state does not decode as the group's chain expects (a different chain configuration).
    case undecodableState(group: String, reason: String)
    /// An anchor has the wrong shape or is missing.
    case anchorMismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case let .groupMismatch(expected, found): return "snapshot groups \(found) do not match the optimizer's groups \(expected)"
        case let .memberMismatch(group, path, expected, found):
            return "group '\(group)', parameter '\(path)': expected \(expected), snapshot has \(found)"
        case let .undecodableState(group, reason): return "group '\(group)': state does not match this chain (\(reason))"
        case let .anchorMismatch(path, reason): return "anchor of '\(path)': \(reason)"
        }
    }
}

private let stateDecoderKey = CodingUserInfoKey(rawValue: "graft.stateDecoder")!

/// Decodes an erased state through a closure given in `userInfo`.
private struct ErasedStateBox<S>: Decodable {
    let value: S
    init(from decoder: any Decoder) throws {
        guard let decode = decoder.userInfo[stateDecoderKey] as? @Sendable (any Decoder) throws -> S else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "no state decoder"))
        }
        value = try decode(decoder)
    }
}

private func decodeErased<S>(_ data: Data, _ decode: @escaping @Sendable (any Decoder) throws -> S) throws -> S {
    let decoder = JSONDecoder()
    decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    decoder.userInfo[stateDecoderKey] = decode
    return try decoder.decode(ErasedStateBox<S>.self, from: data).value
}

extension Optimizer {
    /// A snapshot of every state, anchor and counter.
    /// - Throws: `EncodingError` when a state holds a non-finite number that JSON cannot carry.
    public func snapshot() throws -> OptimizerSnapshot {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]  // deterministic bytes: equal states give equal snapshots
        // Adam's second moment legitimately overflows to +inf for gradients above ~1.8e19.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var groups: [OptimizerSnapshot.Group] = []
        var anchors: [String: Tensor] = [:]
        for rt in runtimes {
            let paths = rt.infos.map(\.path)
            groups.append(.init(name: rt.group.name, paths: paths, shapes: rt.infos.map(\.shape), step: rt.step,
                                transformState: try encoder.encode(rt.state), aggregatorState: try encoder.encode(rt.aggregatorState)))
            for (k, a) in rt.anchors.enumerated() { if let a { anchors[paths[k]] = a } }
        }
        return OptimizerSnapshot(groups: groups, anchors: anchors, stepCount: stepCount, skippedSteps: skippedSteps)
    }

    /// A restore checked and decoded in full, ready to commit without any further failure.
    public struct PreparedRestore {
        fileprivate let states: [(AnyGradientTransform.State, AnyGradientAggregator.State, Int, [Tensor?])]
        fileprivate let stepCount: Int
        fileprivate let skippedSteps: Int
    }

    /// Checks `snapshot` against this optimizer (groups, member paths and shapes, anchors) and
    /// decodes every state, changing nothing.
    public func prepareRestore(_ snapshot: OptimizerSnapshot) throws -> PreparedRestore {
        let names = runtimes.map(\.group.name)
        guard snapshot.groups.map(\.name) == names else { throw RestoreError.groupMismatch(expected: names, found: snapshot.groups.map(\.name)) }
        var prepared: [(AnyGradientTransform.State, AnyGradientAggregator.State, Int, [Tensor?])] = []
        for (rt, g) in zip(runtimes, snapshot.groups) {
            for (k, info) in rt.infos.enumerated() {
                guard k < g.paths.count else {
                    throw RestoreError.memberMismatch(group: g.name, path: info.path, expected: "a member", found: "none")
                }
                guard g.paths[k] == info.path else {
                    throw RestoreError.memberMismatch(group: g.name, path: info.path, expected: "path \(info.path)", found: "path \(g.paths[k])")
                }
                guard g.shapes[k] == info.shape else {
                    throw RestoreError.memberMismatch(group: g.name, path: info.path, expected: "shape \(info.shape)", found: "shape \(g.shapes[k])")
                }
            }
            guard g.paths.count == rt.infos.count, g.shapes.count == g.paths.count else {
                throw RestoreError.memberMismatch(group: g.name, path: g.paths.last ?? "", expected: "\(rt.infos.count) members",
                                                  found: "\(g.paths.count)")
            }
            guard g.step >= 0 else { throw RestoreError.undecodableState(group: g.name, reason: "negative step \(g.step)") }
            let transform = rt.transform, aggregator = rt.group.aggregator
            let state: AnyGradientTransform.State
            let aggregatorState: AnyGradientAggregator.State
            do {
                state = try decodeErased(g.transformState) { try transform.decodeState(from: $0) }
                aggregatorState = try decodeErased(g.aggregatorState) { try aggregator.decodeState(from: $0) }
            } catch {
                throw RestoreError.undecodableState(group: g.name, reason: "\(error)")
            }
            var anchors: [Tensor?] = []
            for (k, info) in rt.infos.enumerated() {
                if rt.anchors[k] != nil {
                    guard let a = snapshot.anchors[info.path] else { throw RestoreError.anchorMismatch(path: info.path, reason: "missing") }
                    guard a.shape == info.shape else {
                        throw RestoreError.anchorMismatch(path: info.path, reason: "shape \(a.shape), expected \(info.shape)")
                    }
                    anchors.append(a)
                } else {
                    anchors.append(nil)
                }
            }
            prepared.append((state, aggregatorState, g.step, anchors))
        }
        return PreparedRestore(states: prepared, stepCount: snapshot.stepCount, skippedSteps: snapshot.skippedSteps)
    }

    /// Installs a prepared restore (cannot fail).
    public func commitRestore(_ prepared: PreparedRestore) {
        for (rt, p) in zip(runtimes, prepared.states) {
            rt.state = p.0
            rt.aggregatorState = p.1
            rt.step = p.2
            rt.anchors = p.3
            for k in rt.anchors.indices where rt.anchors[k] != nil { _ = rt.anchors[k]!.unsafeMutableStorage() }
        }
        restoreCounters(stepCount: prepared.stepCount, skippedSteps: prepared.skippedSteps)
    }

    /// Restores `snapshot` (all checked first: on error nothing changes).
    public func restore(_ snapshot: OptimizerSnapshot) throws {
        commitRestore(try prepareRestore(snapshot))
    }
}
