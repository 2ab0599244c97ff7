import Foundation
import GraftOptim
import GraftTensor

/// A whole training state: parameter values by path, the optimizer's snapshot (every
/// transform and aggregator state, per-group step counts, anchors θ0) and free metadata
/// (epoch, generator states, …), stored as one `TensorArchive` (versioned, checksummed,
/// written atomically).
///
/// Archive layout: tensors `param/<path>` and `optimizer/<index>` (every optimizer state
/// tensor, then the anchors, binary); metadata `format` (`graft-training-checkpoint/2`),
/// `optimizer` (the snapshot's JSON header: groups, members, layouts, scalars, counters) and
/// `user.<key>` for `metadata`. Checkpoints of format 1 (JSON optimizer state) are refused
/// with a message saying so.
public struct TrainingCheckpoint: Sendable, Equatable {
    /// The format tag stored in the archive.
    public static let format = "graft-training-checkpoint/2"

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

    /// The archive form: parameters as `param/<path>`, the optimizer's tensors (state then
    /// anchors, binary) as `optimizer/<index>`, its structure and scalars as the `optimizer`
    /// metadata entry.
    public func archive() throws -> TensorArchive {
        var tensors: [String: Tensor] = [:]
        for (path, t) in parameters { tensors["param/" + path] = t }
        for (i, t) in optimizer.orderedTensors.enumerated() { tensors[Self.optimizerKey(i)] = t }
        var meta = ["format": TrainingCheckpoint.format,
                    "optimizer": String(decoding: try optimizer.headerJSON(), as: UTF8.self)]
        for (k, v) in metadata { meta["user." + k] = v }
        return TensorArchive(tensors: tensors, metadata: meta)
    }

    static func optimizerKey(_ i: Int) -> String {
        let digits = String(i)
        return "optimizer/" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }

    /// Parses a verified archive.
    public init(archive: TensorArchive, file: String) throws {
        guard archive.metadata["format"] == TrainingCheckpoint.format else {
            let found = archive.metadata["format"] ?? "missing"
            let hint = found == "graft-training-checkpoint/1" ? " (written by Graft's previous optimizer engine, whose JSON state cannot be restored)" : ""
            throw ArchiveError.malformed(file: file, reason: "not a \(TrainingCheckpoint.format) checkpoint (format \(found))\(hint)")
        }
        guard let text = archive.metadata["optimizer"] else {
            throw ArchiveError.malformed(file: file, reason: "optimizer record missing")
        }
        var parameters: [String: Tensor] = [:]
        var optimizerTensors: [(String, Tensor)] = []
        for (key, t) in archive.tensors {
            if key.hasPrefix("param/") { parameters[String(key.dropFirst(6))] = t }
            else if key.hasPrefix("optimizer/") { optimizerTensors.append((key, t)) }
            else { throw ArchiveError.malformed(file: file, reason: "unexpected tensor \(key)") }
        }
        optimizerTensors.sort { $0.0 < $1.0 }
        for (i, (key, _)) in optimizerTensors.enumerated() where key != Self.optimizerKey(i) {
            throw ArchiveError.malformed(file: file, reason: "optimizer tensors are not numbered 0 to \(optimizerTensors.count - 1) (found \(key))")
        }
        self.parameters = parameters
        do {
            self.optimizer = try OptimizerSnapshot(headerJSON: Data(text.utf8), tensors: optimizerTensors.map(\.1))
        } catch {
            throw ArchiveError.malformed(file: file, reason: "optimizer record: \(error)")
        }
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
