import GraftTensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open safetensors file whose header has been validated; tensors are read on demand.
///
/// Reading streams: a tensor's bytes go from the file (`pread`) straight into the `Float`
/// storage of the returned tensor (F32), or through one reused 1 MiB buffer and are
/// converted (F16, BF16, F64). Nothing else is kept, so reading every tensor of a file
/// needs the tensors' own memory plus about 1 MiB: the file is never held in memory
/// (the page cache that the kernel may keep is not the process's memory).
///
/// Opening reads only the 8-byte length and the header, after checking the length against
/// the 100 MB cap and the file size (see `SafetensorsHeader` for every rule).
///
/// Sendable: every stored property is immutable and reads are positioned (`pread`), so several
/// threads may load tensors from one open file at once.
public final class SafetensorsFile: Sendable {
    /// The path as given (used in error messages).
    public let path: String
    /// The validated header.
    public let header: SafetensorsHeader
    /// The `__metadata__` map (empty when absent).
    public var metadata: [String: String] { header.metadata }
    /// The tensors' names in data order.
    public var names: [String] { header.entries.map(\.name) }
    /// The file size in bytes.
    public let fileBytes: Int

    private let descriptor: Int32
    private let dataStart: Int
    private let index: [String: Int]

    /// Opens `path` and validates its header.
    /// - Throws: `SafetensorsError`.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafetensorsError.io(file: path, reason: "cannot open: " + SafetensorsFile.systemMessage()) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let m = SafetensorsFile.systemMessage()
            close(fd)
            throw SafetensorsError.io(file: path, reason: "cannot stat: " + m)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw SafetensorsError.io(file: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        do {
            guard size >= 8 else { throw SafetensorsError.fileTooShort(file: path, bytes: size) }
            var lengthBytes = [UInt8](repeating: 0, count: 8)
            try lengthBytes.withUnsafeMutableBytes { (raw) throws in
                try SafetensorsFile.readFully(fd, into: raw, at: 0, file: path)
            }
            let headerLength = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            guard headerLength <= UInt64(SafetensorsHeader.maximumHeaderBytes) else {
                throw SafetensorsError.headerTooLarge(file: path, headerBytes: headerLength, limit: SafetensorsHeader.maximumHeaderBytes)
            }
            guard headerLength <= UInt64(size - 8) else {
                throw SafetensorsError.headerBeyondFile(file: path, headerBytes: headerLength, fileBytes: size)
            }
            var headerBytes = [UInt8](repeating: 0, count: Int(headerLength))
            try headerBytes.withUnsafeMutableBytes { (raw) throws in
                try SafetensorsFile.readFully(fd, into: raw, at: 8, file: path)
            }
            let start = 8 + Int(headerLength)
            header = try SafetensorsHeader(decoding: headerBytes, dataBytes: size - start, file: path)
            dataStart = start
        } catch {
            close(fd)
            throw error
        }
        descriptor = fd
        fileBytes = size
        var index: [String: Int] = [:]
        for (i, e) in header.entries.enumerated() { index[e.name] = i }
        self.index = index
    }

    deinit { close(descriptor) }

    /// The entry (dtype, shape, offsets) of the tensor `name`, if present.
    public func entry(_ name: String) -> SafetensorsEntry? {
        index[name].map { header.entries[$0] }
    }

    /// The tensor `name` converted to `Float` (exact for F32, F16 and BF16; F64 rounded to
    /// the nearest `Float`, exact when representable).
    /// - Throws: `missingTensor`, `unsupportedDType`, `valueOutOfRange` (a finite F64 beyond
    ///   Float's range), `io` (the file shrank or failed while reading).
    public func tensor(named name: String) throws -> Tensor {
        guard let e = entry(name) else { throw SafetensorsError.missingTensor(file: path, tensor: name) }
        guard e.dtype.isReadable else { throw SafetensorsError.unsupportedDType(file: path, tensor: name, dtype: e.dtype.rawValue) }
        let count = e.count
        var failure: SafetensorsError?
        // A zero-element tensor gets a literal empty array: `Array(unsafeUninitializedCapacity: 0)`
        // writes its count into Swift's one shared empty-array storage, a data race (under
        // ThreadSanitizer) when two threads load empty tensors at once.
        let scalars = count == 0 ? [] : [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            do {
                try fill(buffer, from: e)
                initialized = count
            } catch {
                failure = error as? SafetensorsError ?? .io(file: path, reason: "\(error)")
                // Leave a valid array of zeros; it is discarded.
                for i in 0..<count { buffer[i] = 0 }
                initialized = count
            }
        }
        if let failure { throw failure }
        do {
            return try Tensor(shape: e.shape, scalars: scalars)
        } catch {
            throw SafetensorsError.invalidEntry(file: path, tensor: name, reason: "\(error)")
        }
    }

    /// Every tensor by name (see `tensor(named:)`).
    public func tensors() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        result.reserveCapacity(header.entries.count)
        for e in header.entries { result[e.name] = try tensor(named: e.name) }
        return result
    }

    /// Reads and converts the elements of `e` into `destination`.
    private func fill(_ destination: UnsafeMutableBufferPointer<Float>, from e: SafetensorsEntry) throws {
        let offset = dataStart + e.dataOffsets.lowerBound
        guard !destination.isEmpty else { return }
        if e.dtype == .f32 {
            try SafetensorsFile.readFully(descriptor, into: UnsafeMutableRawBufferPointer(destination), at: offset, file: path)
            #if _endian(big)
            for i in destination.indices { destination[i] = Float(bitPattern: UInt32(littleEndian: destination[i].bitPattern)) }
            #endif
            return
        }
        let size = e.dtype.size
        let chunkElements = max(1, SafetensorsFile.chunkBytes / size)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkElements * size, alignment: 8)
        defer { chunk.deallocate() }
        var done = 0
        while done < destination.count {
            let n = min(chunkElements, destination.count - done)
            let part = UnsafeMutableRawBufferPointer(rebasing: chunk[0..<(n * size)])
            try SafetensorsFile.readFully(descriptor, into: part, at: offset + done * size, file: path)
            let out = destination.baseAddress! + done
            switch e.dtype {
            case .f16:
                for i in 0..<n { out[i] = HalfPrecision.float(fromF16: UInt16(littleEndian: part.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in 0..<n { out[i] = HalfPrecision.float(fromBF16: UInt16(littleEndian: part.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .f64:
                for i in 0..<n {
                    let d = Double(bitPattern: UInt64(littleEndian: part.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                    let f = Float(d)
                    if f.isInfinite && d.isFinite { throw SafetensorsError.valueOutOfRange(file: path, tensor: e.name, index: done + i, value: d) }
                    out[i] = f
                }
            default:
                throw SafetensorsError.unsupportedDType(file: path, tensor: e.name, dtype: e.dtype.rawValue)
            }
            done += n
        }
    }

    /// Bytes converted per `pread` for non-F32 dtypes.
    static let chunkBytes = 1 << 20

    /// `pread`s exactly `buffer.count` bytes at `offset`, retrying short reads and `EINTR`.
    static func readFully(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int, file: String) throws {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SafetensorsError.io(file: file, reason: "read failed: " + systemMessage())
            }
            if n == 0 { throw SafetensorsError.io(file: file, reason: "the file ended at byte \(offset + done) while reading (was it truncated?)") }
            done += n
        }
    }

    static func systemMessage() -> String { String(cString: strerror(errno)) }
}
