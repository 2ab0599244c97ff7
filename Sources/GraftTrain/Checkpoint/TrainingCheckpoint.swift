import Foundation
import GraftOptim
import GraftTensor

/// A whole training state: parameter values by path, the optimizer's snapshot (every
/// transform and aggregator state, per-group step counts, anchors θ0) and free metadata
/// (epoch, generator states, …), stored as one `TensorArchive` (versioned, checksummed,
/// written atomically).
///
/// Archive layout: tensors `param/<path>` and `anchor/<path>`; metadata `format`
/// (`graft-training-checkpoint/1`), `optimizer` (JSON: groups with member paths, shapes,
/// steps and encoded states; counters) and `user.<key>` for `metadata`.
public struct TrainingCheckpoint: Sendable, Equatable {
    /// The format tag stored in the archive.
    public static let format = "graft-training-checkpoint/1"

    /// Parameter values by path.
    public var parameters: [String: Tensor]
    /// The optimizer's state.
    public var optimizer: OptimizerSnapshot
    /// Caller metadata (epoch, data-order generator state, …).
    public var metadata: [String: String]

    /// Captures `parameters` and `optimizer` now.
    public init(parameters: [NamedParameter], optimizer: Optimizer, metadata: [String: String] = [:]) throws {
        var values: [String: Tensor] = [:]
        for p in parameters { values[p.path] = p.parameter.value }
        self.parameters = values
        self.optimizer = try optimizer.snapshot()
        self.metadata = metadata
    }

    private struct GroupRecord: Codable {
        let name: String, paths: [String], shapes: [[Int]], step: Int
        let transformState: String, aggregatorState: String
    }
    private struct OptimizerRecord: Codable {
        let groups: [GroupRecord]
        let stepCount: Int, skippedSteps: Int
    }

    private static var sortedEncoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }

    /// The archive form.
    public func archive() throws -> TensorArchive {
        var tensors: [String: Tensor] = [:]
        for (path, t) in parameters { tensors["param/" + path] = t }
        for (path, t) in optimizer.anchors { tensors["anchor/" + path] = t }
        let record = OptimizerRecord(groups: optimizer.groups.map {
            GroupRecord(name: $0.name, paths: $0.paths, shapes: $0.shapes, step: $0.step,
                        transformState: String(decoding: $0.transformState, as: UTF8.self),
                        aggregatorState: String(decoding: $0.aggregatorState, as: UTF8.self))
        }, stepCount: optimizer.stepCount, skippedSteps: optimizer.skippedSteps)
        var meta = ["format": TrainingCheckpoint.format,
                    "optimizer": String(decoding: try Self.sortedEncoder.encode(record), as: UTF8.self)]
        for (k, v) in metadata { meta["user." + k] = v }
        return TensorArchive(tensors: tensors, metadata: meta)
    }

    /// Parses a verified archive.
    public init(archive: TensorArchive, file: String) throws {
        guard archive.metadata["format"] == TrainingCheckpoint.format else {
            throw ArchiveError.malformed(file: file, reason: "not a training checkpoint (format \(archive.metadata["format"] ?? "missing"))")
        }
        guard let text = archive.metadata["optimizer"],
              let record = try? JSONDecoder().decode(OptimizerRecord.self, from: Data(text.utf8)) else {
            throw ArchiveError.malformed(file: file, reason: "optimizer record missing or unreadable")
        }
        var parameters: [String: Tensor] = [:], anchors: [String: Tensor] = [:]
        for (key, t) in archive.tensors {
            if key.hasPrefix("param/") { parameters[String(key.dropFirst(6))] = t }
            else if key.hasPrefix("anchor/") { anchors[String(key.dropFirst(7))] = t }
            else { throw ArchiveError.malformed(file: file, reason: "unexpected tensor \(key)") }
        }
        self.parameters = parameters
        self.optimizer = OptimizerSnapshot(groups: record.groups.map {
            .init(name: $0.name, paths: $0.paths, shapes: $0.shapes, step: $0.step,
                  transformState: Data($0.transformState.utf8), aggregatorState: Data($0.aggregatorState.utf8))
        }, anchors: anchors, stepCount: record.stepCount, skippedSteps: record.skippedSteps)
        var user: [String: String] = [:]
        for (k, v) in archive.metadata where k.hasPrefix("user.") { user[String(k.dropFirst(5))] = v }
        self.metadata = user
    }

    /// Writes the checkpoint atomically: a crash mid-write leaves the previous file intact.
    public func write(to url: URL) throws { try archive().write(to: url) }

    /// Reads and verifies a checkpoint (magic, version, checksum, structure).
    public static func read(from url: URL) throws -> TrainingCheckpoint {
        try TrainingCheckpoint(archive: try TensorArchive.read(from: url), file: url.path)
    }

    /// Restores parameter values and optimizer state. Everything is checked first (paths,
    /// shapes, decodable states); on any error neither the parameters nor the optimizer
    /// change.
    public func restore(into parameters: [NamedParameter], optimizer: Optimizer) throws {
        var known = Set<String>()
        for p in parameters {
            known.insert(p.path)
            guard let t = self.parameters[p.path] else { throw CheckpointError.missingParameter(path: p.path) }
            guard t.shape == p.parameter.shape else {
                throw CheckpointError.shapeMismatch(path: p.path, expected: p.parameter.shape, found: t.shape)
            }
        }
        if let extra = self.parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw CheckpointError.unexpectedParameter(path: extra)
        }
        let prepared = try optimizer.prepareRestore(self.optimizer)
        for p in parameters { p.parameter.value = self.parameters[p.path]! }
        optimizer.commitRestore(prepared)
    }
}

/// A checkpoint that does not fit the model it is restored into.
public enum CheckpointError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingParameter(path: String)
    case unexpectedParameter(path: String)
    case shapeMismatch(path: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case let .missingParameter(path): return "checkpoint has no value for parameter '\(path)'"
        case let .unexpectedParameter(path): return "checkpoint has a parameter '\(path)' the model does not have"
        case let .shapeMismatch(path, expected, found): return "checkpoint parameter '\(path)' has shape \(found), the model expects \(expected)"
        }
    }
}
