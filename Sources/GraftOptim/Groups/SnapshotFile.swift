import Foundation
import GraftTensor

/// Why snapshot bytes cannot be read. Nothing is restored from a file that fails any check.
public enum SnapshotFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the structure announces.
    case truncated(reason: String)
    /// Not a Graft optimizer snapshot.
    case badMagic
    /// A format version this build does not read (older JSON-state snapshots are version 1).
    case unsupportedVersion(found: UInt32)
    /// The checksum does not match: the bytes were damaged.
    case checksumMismatch
    /// The header is not valid (JSON, counts, shapes).
    case malformedHeader(reason: String)

    public var description: String {
        switch self {
        case let .truncated(reason): return "optimizer snapshot is truncated: \(reason)"
        case .badMagic: return "not a Graft optimizer snapshot (bad magic bytes)"
        case let .unsupportedVersion(found):
            return "optimizer snapshot format version \(found) is not supported (this build reads version \(OptimizerSnapshot.formatVersion); "
                + "snapshots of Graft's JSON-state engine cannot be restored, start from the model weights)"
        case .checksumMismatch: return "optimizer snapshot checksum mismatch: the file is damaged"
        case let .malformedHeader(reason): return "optimizer snapshot header is malformed: \(reason)"
        }
    }
}

/// The header of a snapshot: structure and scalars (the tensors follow as raw float32).
struct SnapshotHeader: Codable {
    struct TensorRecord: Codable { let name: String; let shape: [Int] }
    struct LayoutRecord: Codable { let tensors: [TensorRecord]; let scalars: [String] }
    struct MemberRecord: Codable {
        let kind: String
        let name: String?
        let configuration: [String: String]
        let layouts: [LayoutRecord]
        let scalars: [[Double]]
    }
    struct GroupRecord: Codable {
        let name: String, paths: [String], shapes: [[Int]], step: Int
        let members: [MemberRecord]
        let aggregatorState: String
    }
    struct AnchorRecord: Codable { let path: String; let shape: [Int] }
    let groups: [GroupRecord]
    let anchors: [AnchorRecord]
    let stepCount: Int, skippedSteps: Int
}

extension OptimizerSnapshot {
    /// The binary format version written by `encoded()`.
    public static let formatVersion: UInt32 = 2
    static let magic = Array("GRAFTOPT".utf8)

    /// The state tensors then the anchors, in the order the header lists them.
    public var orderedTensors: [Tensor] {
        var out: [Tensor] = []
        for g in groups { for m in g.members { for list in m.tensors { out.append(contentsOf: list) } } }
        for path in anchors.keys.sorted() { out.append(anchors[path]!) }
        return out
    }

    /// The structure and scalars as JSON (sorted keys: equal snapshots give equal bytes).
    public func headerJSON() throws -> Data {
        let groups = self.groups.map { g in
            SnapshotHeader.GroupRecord(name: g.name, paths: g.paths, shapes: g.shapes, step: g.step, members: g.members.map { m in
                SnapshotHeader.MemberRecord(kind: m.kind, name: m.name, configuration: m.configuration, layouts: m.layouts.map { l in
                    SnapshotHeader.LayoutRecord(tensors: l.tensors.map { .init(name: $0.name, shape: $0.shape) }, scalars: l.scalars)
                }, scalars: m.scalars)
            }, aggregatorState: String(decoding: g.aggregatorState, as: UTF8.self))
        }
        let header = SnapshotHeader(groups: groups, anchors: anchors.keys.sorted().map { .init(path: $0, shape: anchors[$0]!.shape) },
                                    stepCount: stepCount, skippedSteps: skippedSteps)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(header)
    }

    /// Rebuilds a snapshot from its header and its tensors in `orderedTensors` order; every
    /// count and shape is checked.
    public init(headerJSON: Data, tensors: [Tensor]) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let header: SnapshotHeader
        do { header = try decoder.decode(SnapshotHeader.self, from: headerJSON) } catch {
            throw SnapshotFileError.malformedHeader(reason: "\(error)")
        }
        var next = 0
        func take(_ shape: [Int], _ what: String) throws -> Tensor {
            guard next < tensors.count else { throw SnapshotFileError.malformedHeader(reason: "\(what): fewer tensors than the header lists") }
            let t = tensors[next]
            guard t.shape == shape else {
                throw SnapshotFileError.malformedHeader(reason: "\(what): tensor of shape \(t.shape), the header says \(shape)")
            }
            next += 1
            return t
        }
        var groups: [Group] = []
        for g in header.groups {
            var members: [Member] = []
            for (mi, m) in g.members.enumerated() {
                guard m.layouts.count == m.scalars.count else {
                    throw SnapshotFileError.malformedHeader(reason: "group \(g.name), member \(mi): \(m.layouts.count) layouts, \(m.scalars.count) scalar lists")
                }
                var lists: [[Tensor]] = []
                for (k, l) in m.layouts.enumerated() {
                    guard l.scalars.count == m.scalars[k].count else {
                        throw SnapshotFileError.malformedHeader(reason: "group \(g.name), member \(mi), parameter \(k): scalar count")
                    }
                    lists.append(try l.tensors.map { try take($0.shape, "group \(g.name), member \(mi), \($0.name)") })
                }
                members.append(Member(kind: m.kind, name: m.name, configuration: m.configuration,
                                      layouts: m.layouts.map { StateLayout(tensors: $0.tensors.map { .init(name: $0.name, shape: $0.shape) },
                                                                           scalars: $0.scalars) },
                                      tensors: lists, scalars: m.scalars))
            }
            groups.append(Group(name: g.name, paths: g.paths, shapes: g.shapes, step: g.step, members: members,
                                aggregatorState: Data(g.aggregatorState.utf8)))
        }
        var anchors: [String: Tensor] = [:]
        for a in header.anchors { anchors[a.path] = try take(a.shape, "anchor \(a.path)") }
        guard next == tensors.count else { throw SnapshotFileError.malformedHeader(reason: "\(tensors.count - next) tensors more than the header lists") }
        self.init(groups: groups, anchors: anchors, stepCount: header.stepCount, skippedSteps: header.skippedSteps)
    }

    /// The snapshot as bytes: `GRAFTOPT`, version (u32), header length (u64), the JSON header,
    /// zero padding to 4 bytes, every tensor as float32 little-endian in header order, and a
    /// 64-bit checksum of everything before it. The file is the raw state plus the header.
    public func encoded() throws -> [UInt8] {
        let header = try headerJSON()
        let tensors = orderedTensors
        var headerPart = OptimizerSnapshot.magic
        withUnsafeBytes(of: OptimizerSnapshot.formatVersion.littleEndian) { headerPart.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { headerPart.append(contentsOf: $0) }
        headerPart.append(contentsOf: header)
        while headerPart.count % 4 != 0 { headerPart.append(0) }
        let payload = tensors.reduce(0) { $0 + $1.count * 4 }
        var out = [UInt8](repeating: 0, count: headerPart.count + payload + 8)
        out.withUnsafeMutableBytes { raw in
            headerPart.withUnsafeBytes { raw.copyMemory(from: $0) }
            var offset = headerPart.count
            for t in tensors {
                t.withUnsafeBufferPointer { b in
                    guard let base = b.baseAddress else { return }
                    // float32 little-endian: the in-memory layout on every platform Graft supports.
                    (raw.baseAddress! + offset).copyMemory(from: base, byteCount: b.count * 4)
                    offset += b.count * 4
                }
            }
            let sum = SnapshotChecksum.of(UnsafeRawBufferPointer(rebasing: raw[0..<offset]))
            raw.storeBytes(of: sum.littleEndian, toByteOffset: offset, as: UInt64.self)
        }
        return out
    }

    /// Decodes and verifies bytes written by `encoded()` (magic, version, lengths, checksum,
    /// header, every tensor's shape) before returning anything.
    public init(decoding bytes: [UInt8]) throws {
        let fixed = OptimizerSnapshot.magic.count + 4 + 8
        guard bytes.count >= fixed + 8 else { throw SnapshotFileError.truncated(reason: "\(bytes.count) bytes is shorter than any snapshot") }
        guard Array(bytes[0..<8]) == OptimizerSnapshot.magic else { throw SnapshotFileError.badMagic }
        let (version, headerLength, stored, computed): (UInt32, UInt64, UInt64, UInt64) = bytes.withUnsafeBytes { raw in
            (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
             UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt64.self)),
             UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: raw.count - 8, as: UInt64.self)),
             SnapshotChecksum.of(UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 8)])))
        }
        guard version == OptimizerSnapshot.formatVersion else { throw SnapshotFileError.unsupportedVersion(found: version) }
        guard stored == computed else { throw SnapshotFileError.checksumMismatch }
        guard headerLength <= UInt64(bytes.count - fixed - 8) else {
            throw SnapshotFileError.truncated(reason: "header of \(headerLength) bytes in a file of \(bytes.count)")
        }
        let headerEnd = fixed + Int(headerLength)
        let header = Data(bytes[fixed..<headerEnd])
        let payloadStart = (headerEnd + 3) / 4 * 4
        // Shapes come from the header; read it once to know how to cut the payload.
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let record: SnapshotHeader
        do { record = try decoder.decode(SnapshotHeader.self, from: header) } catch {
            throw SnapshotFileError.malformedHeader(reason: "\(error)")
        }
        var shapes: [[Int]] = []
        for g in record.groups { for m in g.members { for l in m.layouts { for t in l.tensors { shapes.append(t.shape) } } } }
        for a in record.anchors { shapes.append(a.shape) }
        var tensors: [Tensor] = []
        tensors.reserveCapacity(shapes.count)
        var offset = payloadStart
        let end = bytes.count - 8
        for shape in shapes {
            guard shape.allSatisfy({ $0 >= 0 }), let n = try? Tensor.elementCount(of: shape) else {
                throw SnapshotFileError.malformedHeader(reason: "invalid shape \(shape)")
            }
            guard n <= (end - offset) / 4 else { throw SnapshotFileError.truncated(reason: "tensor of shape \(shape) past the end") }
            var scalars = [Float](repeating: 0, count: n)
            scalars.withUnsafeMutableBytes { dst in
                bytes.withUnsafeBytes { src in
                    if n > 0 { dst.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n * 4) }
                }
            }
            offset += n * 4
            tensors.append(try Tensor(shape: shape, scalars: scalars))
        }
        guard offset == end else { throw SnapshotFileError.malformedHeader(reason: "\(end - offset) bytes after the last tensor") }
        try self.init(headerJSON: header, tensors: tensors)
    }
}

/// A fast 64-bit checksum over 8-byte words (multiply–rotate, two lanes), enough to refuse a
/// damaged snapshot file (not a cryptographic hash).
enum SnapshotChecksum {
    static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var a: UInt64 = 0x9E37_79B9_7F4A_7C15, b: UInt64 = 0xC2B2_AE3D_27D4_EB4F
        let words = bytes.count / 8
        var i = 0
        while i + 2 <= words {
            a = (a ^ bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            a = a << 31 | a >> 33
            b = (b ^ bytes.loadUnaligned(fromByteOffset: i * 8 + 8, as: UInt64.self)) &* 0xC4CE_B9FE_1A85_EC53
            b = b << 29 | b >> 35
            i += 2
        }
        var tail: UInt64 = UInt64(bytes.count)
        for j in (i * 8)..<bytes.count { tail = (tail ^ UInt64(bytes[j])) &* 0x100_0000_01b3 }
        var h = a ^ (b << 1 | b >> 63) ^ tail
        h = (h ^ (h >> 33)) &* 0xFF51_AFD7_ED55_8CCD
        return h ^ (h >> 33)
    }
}
