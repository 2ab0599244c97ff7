import Foundation
import GraftTensor

/// A versioned, checksummed file of named tensors plus a small text metadata map: how Graft
/// stores pre-trained weights (and the building block of full training checkpoints).
///
/// Layout (all integers little-endian):
/// ```
/// "GRAFTARC"            8 bytes magic
/// version               u32 (1)
/// metadata count        u32, then per entry: key (u32 length + UTF-8), value (u32 length + UTF-8)
/// tensor count          u32, then per tensor: path (u32 length + UTF-8), rank u32,
///                       dims (u64 each), scalars (float32 each)
/// SHA-256               32 bytes over everything before it
/// ```
/// Writing is atomic (temporary file in the same folder, fsync, rename): a crash mid-write
/// leaves the previous file intact. Reading verifies the magic, version, every length
/// against the file size, and the checksum before returning anything.
public struct TensorArchive: Equatable, Sendable {
    /// The format version this code writes and reads.
    public static let version: UInt32 = 1
    static let magic: [UInt8] = Array("GRAFTARC".utf8)

    /// Tensors by path.
    public var tensors: [String: Tensor]
    /// Free-form metadata (configuration, step counts, …).
    public var metadata: [String: String]

    /// An archive of `tensors` and `metadata`.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The encoded bytes (paths and keys sorted, so equal archives encode equally).
    public func encoded() -> [UInt8] {
        var out = TensorArchive.magic
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { let b = Array(s.utf8); u32(UInt32(b.count)); out.append(contentsOf: b) }
        u32(TensorArchive.version)
        u32(UInt32(metadata.count))
        for key in metadata.keys.sorted() { string(key); string(metadata[key]!) }
        u32(UInt32(tensors.count))
        for path in tensors.keys.sorted() {
            let t = tensors[path]!
            string(path)
            u32(UInt32(t.rank))
            for d in t.shape { u64(UInt64(d)) }
            out.reserveCapacity(out.count + t.count * 4)
            t.withUnsafeBufferPointer { buf in for x in buf { u32(x.bitPattern) } }
        }
        out.append(contentsOf: SHA256.hash(out).bytes)
        return out
    }

    /// Decodes and verifies `bytes`; `file` names the source in errors.
    public init(decoding bytes: [UInt8], file: String) throws {
        guard bytes.count >= TensorArchive.magic.count + 4 + 32 else {
            throw ArchiveError.truncated(file: file, reason: "\(bytes.count) bytes is shorter than any archive")
        }
        guard Array(bytes[0..<8]) == TensorArchive.magic else { throw ArchiveError.notAnArchive(file: file) }
        let body = bytes[0..<(bytes.count - 32)]
        let stored = Array(bytes[(bytes.count - 32)...])
        guard SHA256.hash(Array(body)).bytes == stored else { throw ArchiveError.checksumMismatch(file: file) }
        var reader = ByteReader(bytes: body, offset: 8, file: file)
        let version = try reader.u32()
        guard version == TensorArchive.version else { throw ArchiveError.unsupportedVersion(file: file, version: version) }
        var metadata: [String: String] = [:]
        for _ in 0..<(try reader.u32()) { metadata[try reader.string()] = try reader.string() }
        var tensors: [String: Tensor] = [:]
        for _ in 0..<(try reader.u32()) {
            let path = try reader.string()
            let rank = Int(try reader.u32())
            guard rank <= 16 else { throw ArchiveError.malformed(file: file, reason: "tensor \(path) has rank \(rank)") }
            var shape: [Int] = []
            for _ in 0..<rank {
                let d = try reader.u64()
                guard d <= UInt64(Int32.max) else { throw ArchiveError.malformed(file: file, reason: "tensor \(path) has dimension \(d)") }
                shape.append(Int(d))
            }
            let count: Int
            do { count = try Tensor.elementCount(of: shape) } catch {
                throw ArchiveError.malformed(file: file, reason: "tensor \(path): \(error)")
            }
            let scalars = try reader.floats(count)
            guard tensors.updateValue(try Tensor(shape: shape, scalars: scalars), forKey: path) == nil else {
                throw ArchiveError.malformed(file: file, reason: "duplicate tensor \(path)")
            }
        }
        guard reader.offset == body.count else {
            throw ArchiveError.malformed(file: file, reason: "\(body.count - reader.offset) unexpected bytes after the last tensor")
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Writes the archive atomically.
    public func write(to url: URL) throws { try AtomicFile.write(encoded(), to: url) }

    /// Reads and verifies an archive.
    public static func read(from url: URL) throws -> TensorArchive {
        try TensorArchive(decoding: try FileBytes.read(url), file: url.path)
    }
}

/// Why an archive was refused.
public enum ArchiveError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAnArchive(file: String)
    case unsupportedVersion(file: String, version: UInt32)
    case checksumMismatch(file: String)
    case truncated(file: String, reason: String)
    case malformed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .notAnArchive(file): return "\(file): not a Graft archive (wrong magic bytes)"
        case let .unsupportedVersion(file, v): return "\(file): archive version \(v) is not supported (this build reads \(TensorArchive.version))"
        case let .checksumMismatch(file): return "\(file): checksum mismatch: the file is damaged and was not loaded"
        case let .truncated(file, reason): return "\(file): truncated archive (\(reason))"
        case let .malformed(file, reason): return "\(file): malformed archive (\(reason))"
        }
    }
}

/// Bounds-checked little-endian reads.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    var offset: Int
    let file: String

    init(bytes: ArraySlice<UInt8>, offset: Int, file: String) {
        self.bytes = bytes
        self.offset = offset
        self.file = file
    }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - offset else {
            throw ArchiveError.truncated(file: file, reason: "needs \(n) bytes at offset \(offset), \(bytes.count - offset) left")
        }
        let s = bytes[(bytes.startIndex + offset)..<(bytes.startIndex + offset + n)]
        offset += n
        return s
    }

    mutating func u32() throws -> UInt32 {
        let s = try take(4)
        return s.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64() throws -> UInt64 {
        let s = try take(8)
        return s.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func string() throws -> String {
        let n = Int(try u32())
        guard let s = String(bytes: try take(n), encoding: .utf8) else {
            throw ArchiveError.malformed(file: file, reason: "invalid UTF-8 at offset \(offset - n)")
        }
        return s
    }

    mutating func floats(_ count: Int) throws -> [Float] {
        guard count <= (bytes.count - offset) / 4 else {
            throw ArchiveError.truncated(file: file, reason: "needs \(count) floats at offset \(offset)")
        }
        let s = try take(count * 4)
        return s.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
