import Foundation
import GraftTensor

/// Everything an `Optimizer` needs to continue exactly where it stopped: per group, the
/// member paths and shapes, the step count, the aggregator's state and, per chain member, its
/// kind, name, configuration and state (named tensors and scalars for every parameter); the
/// anchors θ0; the global counters.
///
/// In memory the state tensors are `Tensor`s; on disk (`encoded()`) they are raw float32
/// little-endian after a small JSON header that holds the structure and the scalars, so a
/// snapshot file is the raw state plus a few kilobytes. A restore checks the whole structure
/// against the optimizer before it changes anything.
public struct OptimizerSnapshot: Sendable, Equatable {
    /// One chain member's state over a group's parameters.
    public struct Member: Sendable, Equatable {
        /// The member's kind (e.g. `scale_by_adam`).
        public var kind: String
        /// The member's name, if it has one.
        public var name: String?
        /// Settings that change the meaning of the state (e.g. `amsgrad`).
        public var configuration: [String: String]
        /// Per parameter (group order): the state layout.
        public var layouts: [StateLayout]
        /// Per parameter: the state tensors, in layout order.
        public var tensors: [[Tensor]]
        /// Per parameter: the scalars, in layout order.
        public var scalars: [[Double]]

        /// Memberwise initialiser.
        public init(kind: String, name: String?, configuration: [String: String], layouts: [StateLayout],
                    tensors: [[Tensor]], scalars: [[Double]]) {
            self.kind = kind
            self.name = name
            self.configuration = configuration
            self.layouts = layouts
            self.tensors = tensors
            self.scalars = scalars
        }

        /// How this member is named in errors: its name, else its kind and position.
        func label(_ index: Int) -> String { name ?? "#\(index) \(kind)" }
    }

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
        /// The chain members' states, in chain order.
        public var members: [Member]
        /// The aggregator's state, JSON-encoded (small: counters and a generator).
        public var aggregatorState: Data

        /// Memberwise initialiser.
        public init(name: String, paths: [String], shapes: [[Int]], step: Int, members: [Member], aggregatorState: Data) {
            self.name = name
            self.paths = paths
            self.shapes = shapes
            self.step = step
            self.members = members
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

    /// Bytes of state tensor data (excluding anchors).
    public var stateBytes: Int {
        groups.reduce(0) { $0 + $1.members.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count * 4 } } } }
    }
}

/// Why a snapshot cannot be restored into an optimizer. Every case names where it differs.
public enum RestoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The snapshot's groups differ from the optimizer's (names or order).
    case groupMismatch(expected: [String], found: [String])
    /// A group's parameters differ (paths, order or shapes).
    case memberMismatch(group: String, path: String, expected: String, found: String)
    /// A group's chain differs: another member kind, name or configuration, or another count.
    case chainMismatch(group: String, member: String, expected: String, found: String)
    /// A member's state for a parameter has another layout (tensor names or shapes, scalars)
    /// or a tensor of the wrong length.
    case stateMismatch(group: String, member: String, path: String, expected: String, found: String)
    /// A state does not decode (the aggregator's, or a negative step).
    case undecodableState(group: String, reason: String)
    /// An anchor has the wrong shape or is missing.
    case anchorMismatch(path: String, reason: String)

    public var description: String {
        switch self {
        case let .groupMismatch(expected, found): return "snapshot groups \(found) do not match the optimizer's groups \(expected)"
        case let .memberMismatch(group, path, expected, found):
            return "group '\(group)', parameter '\(path)': expected \(expected), snapshot has \(found)"
        case let .chainMismatch(group, member, expected, found):
            return "group '\(group)', chain member \(member): the optimizer has \(expected), the snapshot has \(found)"
        case let .stateMismatch(group, member, path, expected, found):
            return "group '\(group)', member \(member), parameter '\(path)': expected state \(expected), snapshot has \(found)"
        case let .undecodableState(group, reason): return "group '\(group)': state does not match this chain (\(reason))"
        case let .anchorMismatch(path, reason): return "anchor of '\(path)': \(reason)"
        }
    }
}

extension Optimizer {
    /// A snapshot of every state, anchor and counter (a copy: the optimizer may go on).
    public func snapshot() throws -> OptimizerSnapshot {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        var groups: [OptimizerSnapshot.Group] = []
        var anchors: [String: Tensor] = [:]
        for rt in runtimes {
            let paths = rt.infos.map(\.path)
            var members: [OptimizerSnapshot.Member] = []
            for (m, member) in rt.members.enumerated() {
                let storage = rt.storages[m]
                var tensors: [[Tensor]] = [], scalars: [[Double]] = []
                for k in rt.infos.indices {
                    let view = storage.view(k)
                    tensors.append(storage.layouts[k].tensors.enumerated().map { j, spec in view.copyTensor(j, shape: spec.shape) })
                    scalars.append((0..<view.scalarCount).map { view[scalar: $0] })
                }
                members.append(.init(kind: member.kind, name: member.name, configuration: member.configuration,
                                     layouts: storage.layouts, tensors: tensors, scalars: scalars))
            }
            groups.append(.init(name: rt.group.name, paths: paths, shapes: rt.infos.map(\.shape), step: rt.step,
                                members: members, aggregatorState: try encoder.encode(rt.aggregatorState)))
            for (k, a) in rt.anchors.enumerated() { if let a { anchors[paths[k]] = a } }
        }
        return OptimizerSnapshot(groups: groups, anchors: anchors, stepCount: stepCount, skippedSteps: skippedSteps)
    }

    /// A restore checked and decoded in full, ready to commit without any further failure.
    public struct PreparedRestore {
        fileprivate let groups: [(storages: [MemberStorage], aggregator: AnyGradientAggregator.State, step: Int, anchors: [Tensor?])]
        fileprivate let stepCount: Int
        fileprivate let skippedSteps: Int
    }

    /// Checks `snapshot` against this optimizer (groups, parameter paths and shapes, every
    /// chain member's kind, name and configuration, every state layout and tensor length,
    /// anchors) and decodes everything into fresh memory, changing nothing.
    public func prepareRestore(_ snapshot: OptimizerSnapshot) throws -> PreparedRestore {
        let names = runtimes.map(\.group.name)
        guard snapshot.groups.map(\.name) == names else { throw RestoreError.groupMismatch(expected: names, found: snapshot.groups.map(\.name)) }
        guard snapshot.stepCount >= 0, snapshot.skippedSteps >= 0 else {
            throw RestoreError.undecodableState(group: names.first ?? "", reason: "negative counters")
        }
        var prepared: [(storages: [MemberStorage], aggregator: AnyGradientAggregator.State, step: Int, anchors: [Tensor?])] = []
        for (rt, g) in zip(runtimes, snapshot.groups) {
            try checkParameters(rt, g)
            guard g.step >= 0 else { throw RestoreError.undecodableState(group: g.name, reason: "negative step \(g.step)") }
            guard g.members.count == rt.members.count else {
                throw RestoreError.chainMismatch(group: g.name, member: "count", expected: "\(rt.members.count) members",
                                                 found: "\(g.members.count) members")
            }
            let storages = GroupRuntime.makeStorages(members: rt.members, infos: rt.infos)
            for (m, (member, saved)) in zip(rt.members, g.members).enumerated() {
                let label = saved.label(m)
                guard member.kind == saved.kind else {
                    throw RestoreError.chainMismatch(group: g.name, member: label, expected: "kind \(member.kind)", found: "kind \(saved.kind)")
                }
                guard member.name == saved.name else {
                    throw RestoreError.chainMismatch(group: g.name, member: label, expected: "name \(member.name ?? "none")",
                                                     found: "name \(saved.name ?? "none")")
                }
                guard member.configuration == saved.configuration else {
                    throw RestoreError.chainMismatch(group: g.name, member: label, expected: describe(member.configuration),
                                                     found: describe(saved.configuration))
                }
                guard saved.layouts.count == rt.infos.count, saved.tensors.count == rt.infos.count, saved.scalars.count == rt.infos.count else {
                    throw RestoreError.stateMismatch(group: g.name, member: label, path: rt.infos.last?.path ?? "",
                                                     expected: "\(rt.infos.count) parameters", found: "\(saved.layouts.count)")
                }
                let storage = storages[m]
                for (k, info) in rt.infos.enumerated() {
                    let layout = storage.layouts[k]
                    guard saved.layouts[k] == layout else {
                        throw RestoreError.stateMismatch(group: g.name, member: label, path: info.path, expected: describe(layout),
                                                         found: describe(saved.layouts[k]))
                    }
                    guard saved.scalars[k].count == layout.scalars.count, saved.tensors[k].count == layout.tensors.count else {
                        throw RestoreError.stateMismatch(group: g.name, member: label, path: info.path, expected: describe(layout),
                                                         found: "\(saved.tensors[k].count) tensors and \(saved.scalars[k].count) scalars")
                    }
                    let view = storage.view(k)
                    for (j, spec) in layout.tensors.enumerated() {
                        let t = saved.tensors[k][j]
                        guard t.shape == spec.shape, t.count == spec.count else {
                            throw RestoreError.stateMismatch(group: g.name, member: label, path: info.path,
                                                             expected: "\(spec.name) of shape \(spec.shape)",
                                                             found: "shape \(t.shape) with \(t.count) values")
                        }
                        t.withUnsafeBufferPointer { src in
                            if let base = src.baseAddress { view.tensor(j).update(from: base, count: src.count) }
                        }
                    }
                    for (j, v) in saved.scalars[k].enumerated() { view[scalar: j] = v }
                }
            }
            let aggregator = rt.group.aggregator
            let aggregatorState: AnyGradientAggregator.State
            do {
                let decoder = JSONDecoder()
                decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
                let decode: @Sendable (any Decoder) throws -> AnyGradientAggregator.State = { try aggregator.decodeState(from: $0) }
                decoder.userInfo[aggregatorDecoderKey] = decode
                aggregatorState = try decoder.decode(AggregatorStateBox.self, from: g.aggregatorState).state
            } catch {
                throw RestoreError.undecodableState(group: g.name, reason: "aggregator: \(error)")
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
            prepared.append((storages, aggregatorState, g.step, anchors))
        }
        return PreparedRestore(groups: prepared, stepCount: snapshot.stepCount, skippedSteps: snapshot.skippedSteps)
    }

    private func checkParameters(_ rt: GroupRuntime, _ g: OptimizerSnapshot.Group) throws {
        guard g.shapes.count == g.paths.count else {
            throw RestoreError.memberMismatch(group: g.name, path: g.paths.last ?? "", expected: "a shape per path",
                                              found: "\(g.shapes.count) shapes for \(g.paths.count) paths")
        }
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
        guard g.paths.count == rt.infos.count else {
            throw RestoreError.memberMismatch(group: g.name, path: g.paths.last ?? "", expected: "\(rt.infos.count) members",
                                              found: "\(g.paths.count)")
        }
    }

    /// Installs a prepared restore (cannot fail).
    public func commitRestore(_ prepared: PreparedRestore) {
        for (rt, p) in zip(runtimes, prepared.groups) {
            for (storage, fresh) in zip(rt.storages, p.storages) { storage.copy(from: fresh) }
            rt.aggregatorState = p.aggregator
            rt.step = p.step
            rt.setAnchors(p.anchors)
        }
        restoreCounters(stepCount: prepared.stepCount, skippedSteps: prepared.skippedSteps)
    }

    /// Restores `snapshot` (all checked first: on error nothing changes).
    public func restore(_ snapshot: OptimizerSnapshot) throws {
        commitRestore(try prepareRestore(snapshot))
    }
}

private func describe(_ configuration: [String: String]) -> String {
    configuration.isEmpty ? "no settings" : configuration.keys.sorted().map { "\($0) = \(configuration[$0]!)" }.joined(separator: ", ")
}

private func describe(_ layout: StateLayout) -> String {
    let tensors = layout.tensors.map { "\($0.name)\($0.shape)" }.joined(separator: ", ")
    return "tensors [\(tensors)], scalars [\(layout.scalars.joined(separator: ", "))]"
}

/// Decodes an aggregator state through the aggregator that knows its concrete type.
private let aggregatorDecoderKey = CodingUserInfoKey(rawValue: "graft.aggregatorDecoder")!

private struct AggregatorStateBox: Decodable {
    let state: AnyGradientAggregator.State
    init(from decoder: any Decoder) throws {
        guard let decode = decoder.userInfo[aggregatorDecoderKey] as? @Sendable (any Decoder) throws -> AnyGradientAggregator.State else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "no aggregator decoder"))
        }
        state = try decode(decoder)
    }
}
