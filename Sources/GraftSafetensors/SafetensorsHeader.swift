/// One tensor's entry in a safetensors header.
public struct SafetensorsEntry: Equatable, Sendable {
    /// The tensor's name (a key of the header).
    public var name: String
    /// The element type.
    public var dtype: SafetensorsDType
    /// The dimensions, outermost first (`[]`: a scalar).
    public var shape: [Int]
    /// Byte range within the data section (after the 8-byte length and the header).
    public var dataOffsets: Range<Int>
    /// The number of elements (the product of `shape`, 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
}

/// A parsed and validated safetensors header.
///
/// The file layout is
/// ```
/// N          u64 little-endian: header length in bytes
/// header     N bytes of a UTF-8 JSON object, padded with spaces (writers pad to
///            a multiple of 8 so the data are aligned): {"__metadata__": {string: string},
///            NAME: {"dtype": "F32", "shape": [d0, …], "data_offsets": [begin, end]}, …}
/// data       little-endian row-major elements; offsets are relative to its start
/// ```
/// Validation (each rule throws its own `SafetensorsError` naming the tensor):
/// the header is a UTF-8 JSON object (whitespace may precede its `{`) with no repeated name; `__metadata__` maps
/// strings to strings (or is `null`); each entry has a known `dtype`, a `shape` of non-negative integers
/// whose bit count does not overflow and is a whole number of bytes, and `data_offsets` `[begin, end]` with
/// `begin ≤ end ≤ data size` and `end − begin = count × size(dtype)`; sorted by offsets the
/// tensors tile the data exactly: each begins where the previous ends (no hole, no
/// overlap) and the last ends at the end of the file. Unknown keys inside an entry are
/// ignored, as the reference implementation does.
public struct SafetensorsHeader: Equatable, Sendable {
    /// The reference library's cap on the header length (100 MB).
    public static let maximumHeaderBytes = 100_000_000

    /// The `__metadata__` map (empty when absent).
    public var metadata: [String: String]
    /// The tensors, sorted by their data offsets.
    public var entries: [SafetensorsEntry]

    /// Parses and validates the JSON header `bytes` for a data section of `dataBytes` bytes.
    /// - Parameter file: names the source in errors.
    /// - Throws: `SafetensorsError` (see the rules above).
    public init(decoding bytes: [UInt8], dataBytes: Int, file: String) throws {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw SafetensorsError.invalidHeader(file: file, reason: "not valid UTF-8")
        }
        // JSON whitespace may precede the object (the reference library accepts it).
        guard bytes.first(where: { ![0x20, 0x09, 0x0a, 0x0d].contains($0) }) == UInt8(ascii: "{") else {
            throw SafetensorsError.invalidHeader(file: file, reason: "not a JSON object (does not start with \"{\")")
        }
        let root: HeaderJSON
        do {
            root = try HeaderJSONParser.parse(bytes)
        } catch {
            if let key = error.duplicateKey { throw SafetensorsError.duplicateName(file: file, name: key) }
            throw SafetensorsError.invalidHeader(file: file, reason: error.reason)
        }
        guard case let .object(members) = root else { throw SafetensorsError.invalidHeader(file: file, reason: "not an object") }
        var metadata: [String: String] = [:]
        var entries: [SafetensorsEntry] = []
        for (name, value) in members {
            if name == "__metadata__" {
                if value == .null { continue }  // the reference reads `null` as no metadata
                guard case let .object(pairs) = value else {
                    throw SafetensorsError.invalidHeader(file: file, reason: "__metadata__ is \(value.kind), expected an object of strings")
                }
                for (key, v) in pairs {
                    guard case let .string(s) = v else {
                        throw SafetensorsError.invalidHeader(file: file, reason: "__metadata__ value \"\(key)\" is \(v.kind), expected a string")
                    }
                    metadata[key] = s
                }
                continue
            }
            entries.append(try SafetensorsHeader.entry(name, value, dataBytes: dataBytes, file: file))
        }
        entries.sort { ($0.dataOffsets.lowerBound, $0.dataOffsets.upperBound) < ($1.dataOffsets.lowerBound, $1.dataOffsets.upperBound) }
        var end = 0
        for e in entries {
            guard e.dataOffsets.lowerBound == end else {
                throw SafetensorsError.notContiguous(file: file, tensor: e.name, begin: e.dataOffsets.lowerBound, expectedBegin: end)
            }
            end = e.dataOffsets.upperBound
        }
        guard end == dataBytes else { throw SafetensorsError.dataNotCovered(file: file, coveredBytes: end, dataBytes: dataBytes) }
        self.metadata = metadata
        self.entries = entries
    }

    private static func entry(_ name: String, _ value: HeaderJSON, dataBytes: Int, file: String) throws -> SafetensorsEntry {
        guard case let .object(fields) = value else {
            throw SafetensorsError.invalidEntry(file: file, tensor: name, reason: "is \(value.kind), expected {dtype, shape, data_offsets}")
        }
        func field(_ key: String) throws -> HeaderJSON {
            guard let v = fields.first(where: { $0.key == key })?.value else {
                throw SafetensorsError.invalidEntry(file: file, tensor: name, reason: "has no \"\(key)\"")
            }
            return v
        }
        func integers(_ key: String) throws -> [UInt64] {
            guard case let .array(items) = try field(key) else {
                throw SafetensorsError.invalidEntry(file: file, tensor: name, reason: "\"\(key)\" is not an array")
            }
            var result: [UInt64] = []
            for item in items {
                guard let n = item.unsignedInteger else {
                    throw SafetensorsError.invalidEntry(file: file, tensor: name, reason: "\"\(key)\" holds \(item.kind) that is not an integer in 0…2⁶⁴−1")
                }
                result.append(n)
            }
            return result
        }
        guard case let .string(dtypeName) = try field("dtype") else {
            throw SafetensorsError.invalidEntry(file: file, tensor: name, reason: "\"dtype\" is not a string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError.invalidEntry(file: file, tensor: name, reason: "unknown dtype \"\(dtypeName)\"")
        }
        let rawShape = try integers("shape")
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else {
            throw SafetensorsError.invalidEntry(file: file, tensor: name, reason: "\"data_offsets\" has \(offsets.count) numbers, expected 2")
        }
        // Element and byte counts in UInt64 with overflow checks, also past a zero dimension
        // (the reference library multiplies every dimension with checked arithmetic).
        var elements: UInt64 = 1
        for d in rawShape {
            let (p, o) = elements.multipliedReportingOverflow(by: d == 0 ? 1 : d)
            guard !o else { throw SafetensorsError.shapeOverflow(file: file, tensor: name, shape: rawShape) }
            elements = p
        }
        let (bitCount, o) = elements.multipliedReportingOverflow(by: UInt64(dtype.bitSize))
        guard !o, bitCount / 8 <= UInt64(Int.max) else { throw SafetensorsError.shapeOverflow(file: file, tensor: name, shape: rawShape) }
        guard bitCount % 8 == 0 else {
            throw SafetensorsError.invalidEntry(file: file, tensor: name, reason: "\(dtype.rawValue) × \(rawShape) is \(bitCount) bits, not a whole number of bytes")
        }
        let byteCount = bitCount / 8
        let hasZero = rawShape.contains(0)
        let shape = rawShape.map { Int($0) }  // each ≤ the checked product ≤ Int.max
        let (begin, end) = (offsets[0], offsets[1])
        guard begin <= end, end <= UInt64(dataBytes) else {
            throw SafetensorsError.offsetsOutOfBounds(file: file, tensor: name, begin: begin, end: end, dataBytes: dataBytes)
        }
        let expected = hasZero ? 0 : Int(byteCount)
        guard Int(end - begin) == expected else {
            throw SafetensorsError.byteLengthMismatch(file: file, tensor: name, dtype: dtype.rawValue, shape: shape, expectedBytes: expected, actualBytes: Int(end - begin))
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, dataOffsets: Int(begin)..<Int(end))
    }
}
