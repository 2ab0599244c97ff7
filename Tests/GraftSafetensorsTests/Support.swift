import Foundation
import GraftSafetensors
import GraftTensor

/// `Tests/Fixtures/safetensors`, located from this file's path (no resources, no Python).
let safetensorsFixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // GraftSafetensorsTests
    .deletingLastPathComponent()   // Tests
    .appendingPathComponent("Fixtures/safetensors")

/// A fresh temporary folder for one test, removed by `cleanup()`.
struct ScratchFolder {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func write(_ bytes: [UInt8], _ name: String = "file.safetensors") throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }
    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// A safetensors file: the 8-byte little-endian length of `header`, `header`, then `data`.
func fileBytes(header: String, data: [UInt8]) -> [UInt8] {
    let h = Array(header.utf8)
    return fileBytes(headerBytes: h, data: data)
}

func fileBytes(headerBytes h: [UInt8], data: [UInt8], claimedLength: UInt64? = nil) -> [UInt8] {
    var out: [UInt8] = []
    withUnsafeBytes(of: (claimedLength ?? UInt64(h.count)).littleEndian) { out.append(contentsOf: $0) }
    return out + h + data
}

/// Opens `bytes` written to a temporary file and returns the error it throws (`nil`: it opened).
func openingError(_ bytes: [UInt8]) throws -> SafetensorsError? {
    let folder = try ScratchFolder()
    defer { folder.cleanup() }
    let path = try folder.write(bytes)
    do {
        _ = try SafetensorsFile(path: path)
        return nil
    } catch let e as SafetensorsError {
        // Errors name the file; tests compare them with the placeholder path.
        return e.replacingFile(path, with: "F")
    }
}

extension SafetensorsError {
    /// The same error naming `replacement` instead of `file` (for comparisons in tests).
    func replacingFile(_ file: String, with replacement: String) -> SafetensorsError {
        switch self {
        case let .io(f, r): return .io(file: f == file ? replacement : f, reason: r)
        case let .fileTooShort(_, b): return .fileTooShort(file: replacement, bytes: b)
        case let .headerTooLarge(_, h, l): return .headerTooLarge(file: replacement, headerBytes: h, limit: l)
        case let .headerBeyondFile(_, h, s): return .headerBeyondFile(file: replacement, headerBytes: h, fileBytes: s)
        case let .invalidHeader(_, r): return .invalidHeader(file: replacement, reason: r)
        case let .duplicateName(_, n): return .duplicateName(file: replacement, name: n)
        case let .invalidEntry(_, t, r): return .invalidEntry(file: replacement, tensor: t, reason: r)
        case let .unsupportedDType(_, t, d): return .unsupportedDType(file: replacement, tensor: t, dtype: d)
        case let .shapeOverflow(_, t, s): return .shapeOverflow(file: replacement, tensor: t, shape: s)
        case let .offsetsOutOfBounds(_, t, b, e, d): return .offsetsOutOfBounds(file: replacement, tensor: t, begin: b, end: e, dataBytes: d)
        case let .byteLengthMismatch(_, t, d, s, e, a): return .byteLengthMismatch(file: replacement, tensor: t, dtype: d, shape: s, expectedBytes: e, actualBytes: a)
        case let .notContiguous(_, t, b, e): return .notContiguous(file: replacement, tensor: t, begin: b, expectedBegin: e)
        case let .dataNotCovered(_, c, d): return .dataNotCovered(file: replacement, coveredBytes: c, dataBytes: d)
        case let .valueOutOfRange(_, t, i, v): return .valueOutOfRange(file: replacement, tensor: t, index: i, value: v)
        case let .missingTensor(_, t): return .missingTensor(file: replacement, tensor: t)
        case let .invalidName(_, n, r): return .invalidName(file: replacement, name: n, reason: r)
        }
    }
}
