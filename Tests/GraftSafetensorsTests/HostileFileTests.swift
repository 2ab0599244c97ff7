import Foundation
import GraftSafetensors
import GraftTensor
import Testing

/// One test per validation rule: each malformed file is refused with its own typed error
/// naming the tensor (errors name the file as "F" here, see `openingError`).
@Suite("Hostile files are refused")
struct HostileFileTests {
    func entry(_ name: String, _ dtype: String = "F32", shape: String, offsets: String) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":\(offsets)}"
    }

    @Test func validMinimalFileOpens() throws {
        #expect(try openingError(fileBytes(header: "{" + entry("a", shape: "[2]", offsets: "[0,8]") + "}", data: [UInt8](repeating: 0, count: 8))) == nil)
        // The reference accepts padding spaces and unknown keys inside an entry.
        #expect(try openingError(fileBytes(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"extra\":1}}   ", data: [0, 0, 0, 0])) == nil)
    }

    @Test func shorterThanTheLengthPrefix() throws {
        #expect(try openingError([1, 2, 3]) == .fileTooShort(file: "F", bytes: 3))
    }

    @Test func headerLengthAboveTheCap() throws {
        let e = try openingError(fileBytes(headerBytes: Array("{}".utf8), data: [], claimedLength: 100_000_001))
        #expect(e == .headerTooLarge(file: "F", headerBytes: 100_000_001, limit: 100_000_000))
        let huge = try openingError(fileBytes(headerBytes: Array("{}".utf8), data: [], claimedLength: UInt64.max))
        #expect(huge == .headerTooLarge(file: "F", headerBytes: UInt64.max, limit: 100_000_000))
    }

    @Test func headerLengthBeyondTheFile() throws {
        #expect(try openingError(fileBytes(headerBytes: Array("{}".utf8), data: [], claimedLength: 3)) == .headerBeyondFile(file: "F", headerBytes: 3, fileBytes: 10))
    }

    @Test func headerNotUTF8() throws {
        #expect(try openingError(fileBytes(headerBytes: [0x7b, 0xff, 0x7d], data: [])) == .invalidHeader(file: "F", reason: "not valid UTF-8"))
    }

    @Test func headerNotAnObject() throws {
        for text in ["[]", "\"x\"", " 1", ""] {
            #expect(try openingError(fileBytes(header: text, data: [])) == .invalidHeader(file: "F", reason: "not a JSON object (does not start with \"{\")"))
        }
        // Whitespace before the object is valid JSON and accepted by the reference library.
        #expect(try openingError(fileBytes(header: " \n{}", data: [])) == nil)
    }

    @Test func subByteDTypesMustFillWholeBytes() throws {
        #expect(try openingError(fileBytes(header: "{" + entry("q", "F4", shape: "[3]", offsets: "[0,2]") + "}", data: [0, 0]))
                == .invalidEntry(file: "F", tensor: "q", reason: "F4 × [3] is 12 bits, not a whole number of bytes"))
        #expect(try openingError(fileBytes(header: "{" + entry("q", "F4", shape: "[4]", offsets: "[0,2]") + "}", data: [0, 0])) == nil)
    }

    @Test func headerNotJSON() throws {
        for text in ["{\"a\":}", "{}\u{0}", "{\"a\":[1,]}", "{\"a\":01}", "{\"a\":\"\\ud800\"}"] {
            guard case .invalidHeader? = try openingError(fileBytes(header: text, data: [])) else {
                Issue.record("\(text) was not refused as invalid JSON"); continue
            }
        }
    }

    @Test func nestingTooDeep() throws {
        let text = "{\"a\":" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        guard case let .invalidHeader(_, reason)? = try openingError(fileBytes(header: text, data: [])) else {
            Issue.record("deep nesting was not refused"); return
        }
        #expect(reason.contains("nesting deeper than 64"))
    }

    @Test func duplicateNames() throws {
        let h = "{" + entry("w", shape: "[1]", offsets: "[0,4]") + "," + entry("w", shape: "[1]", offsets: "[4,8]") + "}"
        #expect(try openingError(fileBytes(header: h, data: [UInt8](repeating: 0, count: 8))) == .duplicateName(file: "F", name: "w"))
    }

    @Test func metadataValuesMustBeStrings() throws {
        #expect(try openingError(fileBytes(header: "{\"__metadata__\":null}", data: [])) == nil)  // as the reference
        #expect(try openingError(fileBytes(header: "{\"__metadata__\":[]}", data: []))
                == .invalidHeader(file: "F", reason: "__metadata__ is an array, expected an object of strings"))
        #expect(try openingError(fileBytes(header: "{\"__metadata__\":{\"k\":1}}", data: []))
                == .invalidHeader(file: "F", reason: "__metadata__ value \"k\" is a number, expected a string"))
    }

    @Test func entryMissingAField() throws {
        #expect(try openingError(fileBytes(header: "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", data: [0, 0, 0, 0]))
                == .invalidEntry(file: "F", tensor: "w", reason: "has no \"data_offsets\""))
    }

    @Test func unknownDType() throws {
        #expect(try openingError(fileBytes(header: "{" + entry("w", "F33", shape: "[1]", offsets: "[0,4]") + "}", data: [0, 0, 0, 0]))
                == .invalidEntry(file: "F", tensor: "w", reason: "unknown dtype \"F33\""))
    }

    @Test func negativeOrFractionalDimension() throws {
        for shape in ["[-1]", "[1.5]", "[1e2]", "[\"2\"]", "[18446744073709551616]"] {
            guard case let .invalidEntry(_, tensor, _)? = try openingError(fileBytes(header: "{" + entry("w", shape: shape, offsets: "[0,4]") + "}", data: [0, 0, 0, 0])) else {
                Issue.record("shape \(shape) was not refused"); continue
            }
            #expect(tensor == "w")
        }
    }

    @Test func shapeProductOverflows() throws {
        #expect(try openingError(fileBytes(header: "{" + entry("w", shape: "[4294967296,4294967296]", offsets: "[0,4]") + "}", data: [0, 0, 0, 0]))
                == .shapeOverflow(file: "F", tensor: "w", shape: [4_294_967_296, 4_294_967_296]))
        // Elements fit, bytes do not (2⁶² × 4).
        #expect(try openingError(fileBytes(header: "{" + entry("w", shape: "[4611686018427387904]", offsets: "[0,4]") + "}", data: [0, 0, 0, 0]))
                == .shapeOverflow(file: "F", tensor: "w", shape: [4_611_686_018_427_387_904]))
        // A zero dimension does not excuse an overflowing product (as in the reference).
        #expect(try openingError(fileBytes(header: "{" + entry("w", shape: "[0,4294967296,4294967296]", offsets: "[0,0]") + "}", data: []))
                == .shapeOverflow(file: "F", tensor: "w", shape: [0, 4_294_967_296, 4_294_967_296]))
    }

    @Test func offsetsOutOfBounds() throws {
        #expect(try openingError(fileBytes(header: "{" + entry("w", shape: "[1]", offsets: "[0,8]") + "}", data: [0, 0, 0, 0]))
                == .offsetsOutOfBounds(file: "F", tensor: "w", begin: 0, end: 8, dataBytes: 4))
        #expect(try openingError(fileBytes(header: "{" + entry("w", shape: "[0]", offsets: "[4,0]") + "}", data: [0, 0, 0, 0]))
                == .offsetsOutOfBounds(file: "F", tensor: "w", begin: 4, end: 0, dataBytes: 4))
        #expect(try openingError(fileBytes(header: "{" + entry("w", shape: "[1]", offsets: "[0]") + "}", data: [0, 0, 0, 0]))
                == .invalidEntry(file: "F", tensor: "w", reason: "\"data_offsets\" has 1 numbers, expected 2"))
    }

    @Test func byteLengthDiffersFromShape() throws {
        #expect(try openingError(fileBytes(header: "{" + entry("w", "F16", shape: "[3]", offsets: "[0,8]") + "}", data: [UInt8](repeating: 0, count: 8)))
                == .byteLengthMismatch(file: "F", tensor: "w", dtype: "F16", shape: [3], expectedBytes: 6, actualBytes: 8))
    }

    @Test func holeBetweenTensors() throws {
        let h = "{" + entry("a", shape: "[1]", offsets: "[0,4]") + "," + entry("b", shape: "[1]", offsets: "[8,12]") + "}"
        #expect(try openingError(fileBytes(header: h, data: [UInt8](repeating: 0, count: 12))) == .notContiguous(file: "F", tensor: "b", begin: 8, expectedBegin: 4))
    }

    @Test func overlappingTensors() throws {
        let h = "{" + entry("a", shape: "[2]", offsets: "[0,8]") + "," + entry("b", shape: "[1]", offsets: "[4,8]") + "}"
        #expect(try openingError(fileBytes(header: h, data: [UInt8](repeating: 0, count: 8))) == .notContiguous(file: "F", tensor: "b", begin: 4, expectedBegin: 8))
    }

    @Test func trailingBytesAfterTheLastTensor() throws {
        #expect(try openingError(fileBytes(header: "{" + entry("a", shape: "[1]", offsets: "[0,4]") + "}", data: [UInt8](repeating: 0, count: 6)))
                == .dataNotCovered(file: "F", coveredBytes: 4, dataBytes: 6))
    }

    @Test func integerDTypesAreValidatedButNotConverted() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let path = try folder.write(fileBytes(header: "{" + entry("ids", "I64", shape: "[2]", offsets: "[0,16]") + "}", data: [UInt8](repeating: 0, count: 16)))
        let file = try SafetensorsFile(path: path)
        #expect(file.entry("ids")?.dtype == .i64)
        #expect(throws: SafetensorsError.unsupportedDType(file: path, tensor: "ids", dtype: "I64")) { try file.tensor(named: "ids") }
    }

    @Test func f64BeyondFloatRange() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        var data: [UInt8] = []
        for d in [1.0, 1e300] { withUnsafeBytes(of: d.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        let path = try folder.write(fileBytes(header: "{" + entry("d", "F64", shape: "[2]", offsets: "[0,16]") + "}", data: data))
        #expect(throws: SafetensorsError.valueOutOfRange(file: path, tensor: "d", index: 1, value: 1e300)) { try SafetensorsFile(path: path).tensor(named: "d") }
    }

    @Test func notARegularFileOrMissing() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        guard case .io? = try? { () throws -> SafetensorsError? in
            do { _ = try SafetensorsFile(path: folder.url.path); return nil } catch let e as SafetensorsError { return e }
        }() else { Issue.record("a directory was not refused"); return }
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: folder.path("missing.safetensors")) }
    }

    @Test func errorMessagesNameTheTensor() {
        let e = SafetensorsError.byteLengthMismatch(file: "m.safetensors", tensor: "body.0.weight", dtype: "F32", shape: [2, 3], expectedBytes: 24, actualBytes: 20)
        #expect(e.description == "m.safetensors: tensor \"body.0.weight\": F32 × [2, 3] needs 24 bytes, data_offsets span 20")
    }
}
