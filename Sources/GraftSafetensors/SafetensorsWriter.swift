import GraftTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes named tensors as safetensors, in the layout the Python library writes:
/// tensors sorted by name (one dtype, so this is also the reference's order), the header
/// `{"__metadata__":{…},"name":{"dtype":…,"shape":[…],"data_offsets":[b,e]},…}` without
/// spaces, padded with spaces to a multiple of 8 bytes so the data start 8-byte aligned,
/// then each tensor's little-endian row-major elements back to back.
public enum SafetensorsWriter {
    /// The header length's prefix plus the padded header: the bytes before the data.
    static func headerBytes(_ tensors: [String: Tensor], metadata: [String: String], type: SafetensorsWriteType,
                            file: String) throws -> (bytes: [UInt8], order: [String]) {
        let names = tensors.keys.sorted()
        var parts: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { HeaderJSONWriter.quoted($0) + ":" + HeaderJSONWriter.quoted(metadata[$0]!) }
            parts.append("\"__metadata__\":{" + pairs.joined(separator: ",") + "}")
        }
        var offset = 0
        for name in names {
            guard !name.isEmpty else { throw SafetensorsError.invalidName(file: file, name: name, reason: "the name is empty") }
            guard name != "__metadata__" else { throw SafetensorsError.invalidName(file: file, name: name, reason: "the name is reserved for the metadata map") }
            let t = tensors[name]!
            let bytes = t.count * type.dtype.size
            parts.append(HeaderJSONWriter.quoted(name) + ":{\"dtype\":\"\(type.dtype.rawValue)\",\"shape\":["
                         + t.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var json = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        guard json.count <= SafetensorsHeader.maximumHeaderBytes else {
            throw SafetensorsError.invalidName(file: file, name: names.last ?? "", reason: "the header would exceed \(SafetensorsHeader.maximumHeaderBytes) bytes")
        }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out += json
        return (out, names)
    }

    /// Passes the file's bytes to `sink` in order: the header, then each tensor's data in
    /// pieces of at most 1 MiB.
    static func stream(_ tensors: [String: Tensor], metadata: [String: String], type: SafetensorsWriteType, file: String,
                       to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let (header, order) = try headerBytes(tensors, metadata: metadata, type: type, file: file)
        try header.withUnsafeBytes { (raw) throws in try sink(raw) }
        let chunkElements = 1 << 18
        var scratch = [UInt8](repeating: 0, count: chunkElements * 4)
        for name in order {
            try tensors[name]!.withUnsafeBufferPointer { (values) throws in
                var done = 0
                while done < values.count {
                    let n = min(chunkElements, values.count - done)
                    switch type {
                    case .f32:
                        #if _endian(little)
                        try sink(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: values[done..<(done + n)])))
                        #else
                        try scratch.withUnsafeMutableBytes { (raw) throws in
                            for i in 0..<n { raw.storeBytes(of: values[done + i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                            try sink(UnsafeRawBufferPointer(rebasing: raw[0..<(4 * n)]))
                        }
                        #endif
                    case .bf16:
                        try scratch.withUnsafeMutableBytes { (raw) throws in
                            for i in 0..<n { raw.storeBytes(of: HalfPrecision.bf16(from: values[done + i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
                            try sink(UnsafeRawBufferPointer(rebasing: raw[0..<(2 * n)]))
                        }
                    }
                    done += n
                }
            }
        }
    }

    /// The complete file as bytes (for small files and tests; `write` streams instead).
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String] = [:],
                              type: SafetensorsWriteType = .f32) throws -> [UInt8] {
        var out: [UInt8] = []
        try stream(tensors, metadata: metadata, type: type, file: "<memory>") { out.append(contentsOf: $0) }
        return out
    }

    /// Writes `tensors` and `metadata` to `path` atomically: into a temporary file in the
    /// same folder, flushed (`fsync`) and renamed over `path`, so a reader sees the old file
    /// or the complete new one. Data are streamed: no copy of the file is built in memory.
    /// - Throws: `SafetensorsError.io` naming the file and the system's reason, `invalidName`.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:],
                             type: SafetensorsWriteType = .f32, to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = (directory.isEmpty ? "" : directory + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw SafetensorsError.io(file: path, reason: "cannot create \(temporary): " + SafetensorsFile.systemMessage()) }
        var finished = false
        defer { if !finished { close(fd); unlink(temporary) } }
        try stream(tensors, metadata: metadata, type: type, file: path) { (raw) throws in
            var done = 0
            while done < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SafetensorsError.io(file: path, reason: "write failed: " + SafetensorsFile.systemMessage())
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw SafetensorsError.io(file: path, reason: "fsync failed: " + SafetensorsFile.systemMessage()) }
        finished = true
        guard close(fd) == 0 else { unlink(temporary); throw SafetensorsError.io(file: path, reason: "close failed: " + SafetensorsFile.systemMessage()) }
        guard rename(temporary, path) == 0 else {
            let m = SafetensorsFile.systemMessage()
            unlink(temporary)
            throw SafetensorsError.io(file: path, reason: "rename failed: " + m)
        }
    }

    private static func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(fd, buffer, count)
        #else
        return Darwin.write(fd, buffer, count)
        #endif
    }
}

/// Entry points: read a whole file, or write one.
public enum Safetensors {
    /// Every tensor of the file at `path` as `Float` tensors, and its `__metadata__`.
    /// - Throws: `SafetensorsError`.
    public static func read(path: String) throws -> (tensors: [String: Tensor], metadata: [String: String]) {
        let file = try SafetensorsFile(path: path)
        return (try file.tensors(), file.metadata)
    }

    /// Writes `tensors` (as F32 or BF16) and `metadata` to `path` (see `SafetensorsWriter.write`).
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:],
                             type: SafetensorsWriteType = .f32, to path: String) throws {
        try SafetensorsWriter.write(tensors, metadata: metadata, type: type, to: path)
    }
}
