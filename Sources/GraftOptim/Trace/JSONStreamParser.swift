import Foundation

/// Where a `JSONStreamParser` reads its bytes: an in-memory buffer or a file descriptor read
/// in 64 KiB chunks (files, pipes, `/dev/stdin`), so a document of any size is parsed with
/// memory for one chunk plus the value being built.
struct JSONByteInput {
    private var buffer: [UInt8]
    private var position = 0
    private let descriptor: Int32?
    private var ended: Bool
    /// Bytes consumed before the current buffer (for error positions).
    private var consumedBefore = 0
    /// 1-based line of the next byte.
    private(set) var line = 1

    /// Reads `bytes` from memory.
    init(bytes: [UInt8]) {
        buffer = bytes
        descriptor = nil
        ended = true
    }

    /// Reads from `descriptor` until end of file (the caller keeps it open and closes it).
    init(descriptor: Int32) {
        buffer = []
        self.descriptor = descriptor
        ended = false
    }

    /// The byte offset of the next byte.
    var offset: Int { consumedBefore + position }

    /// The next byte without consuming it, `nil` at the end.
    @inline(__always) mutating func peek() throws -> UInt8? {
        if position < buffer.count { return buffer[position] }
        try refill()
        return position < buffer.count ? buffer[position] : nil
    }

    /// Consumes and returns the next byte, `nil` at the end.
    @inline(__always) mutating func next() throws -> UInt8? {
        guard let b = try peek() else { return nil }
        position += 1
        if b == 0x0A { line += 1 }
        return b
    }

    private mutating func refill() throws {
        guard !ended, let descriptor else { return }
        consumedBefore += buffer.count
        position = 0
        let chunk = 1 << 16
        if buffer.count != chunk { buffer = [UInt8](repeating: 0, count: chunk) }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, chunk) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let message = String(cString: strerror(errno))
                buffer = []
                ended = true
                throw TraceError("", "cannot read the trace (\(message))")
            }
            if n == 0 { ended = true; buffer = [] } else if n < chunk { buffer.removeSubrange(n...) }
            return
        }
    }
}

/// A strict JSON (RFC 8259) parser that can hand over a document piece by piece: callers
/// walk the outer object and arrays with `beginObject` / `nextKey` and `beginArray` /
/// `nextElement`, and parse the pieces they want whole with `parseValue`. It refuses
/// duplicate keys (compared as Swift strings, i.e. under canonical Unicode equivalence),
/// invalid UTF-8, unescaped control characters, leading zeros, trailing commas and nesting
/// deeper than 512. Syntax errors name the line; the caller's `location` (a JSON path) is
/// used for duplicate keys.
struct JSONStreamParser {
    private(set) var input: JSONByteInput
    private var depth = 0
    /// The deepest nesting accepted.
    static let maximumDepth = 512

    init(_ input: JSONByteInput) { self.input = input }

    private func syntax(_ message: String) -> TraceError {
        TraceError("", "not valid JSON (line \(input.line), byte \(input.offset): \(message))")
    }

    private mutating func skipWhitespace() throws {
        while let b = try input.peek(), b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { _ = try input.next() }
    }

    private mutating func expect(_ byte: UInt8) throws {
        try skipWhitespace()
        let b = try input.next()
        guard b == byte else { throw syntax("expected '\(Character(Unicode.Scalar(byte)))', found \(Self.describe(b))") }
    }

    private static func describe(_ b: UInt8?) -> String {
        guard let b else { return "the end of the input" }
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return "byte 0x\(String(b, radix: 16))"
    }

    /// Consumes `{`.
    mutating func beginObject() throws {
        try expect(UInt8(ascii: "{"))
        depth += 1
        guard depth <= Self.maximumDepth else { throw syntax("nesting deeper than \(Self.maximumDepth)") }
    }

    /// The next key of the object being walked (its `:` consumed), or `nil` after its `}`.
    /// `first` is `true` for the first call after `beginObject`.
    mutating func nextKey(first: Bool) throws -> String? {
        try skipWhitespace()
        if try input.peek() == UInt8(ascii: "}") {
            _ = try input.next()
            depth -= 1
            return nil
        }
        if !first { try expect(UInt8(ascii: ",")) }
        try skipWhitespace()
        guard try input.peek() == UInt8(ascii: "\"") else { throw syntax("expected a key string, found \(Self.describe(try input.peek()))") }
        let key = try parseString()
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// Consumes `[`.
    mutating func beginArray() throws {
        try expect(UInt8(ascii: "["))
        depth += 1
        guard depth <= Self.maximumDepth else { throw syntax("nesting deeper than \(Self.maximumDepth)") }
    }

    /// Whether another element follows in the array being walked (its `,` consumed);
    /// `false` after its `]`. `first` is `true` for the first call after `beginArray`.
    mutating func nextElement(first: Bool) throws -> Bool {
        try skipWhitespace()
        if try input.peek() == UInt8(ascii: "]") {
            _ = try input.next()
            depth -= 1
            return false
        }
        if !first { try expect(UInt8(ascii: ",")) }
        return true
    }

    /// Throws unless only whitespace is left.
    mutating func expectEnd() throws {
        try skipWhitespace()
        if let b = try input.peek() { throw syntax("unexpected \(Self.describe(b)) after the document") }
    }

    /// The next byte that is not whitespace, without consuming it.
    mutating func peekToken() throws -> UInt8? {
        try skipWhitespace()
        return try input.peek()
    }

    /// One step of the JSON path to the value being parsed (rendered only for an error).
    private enum PathComponent {
        case key(String)
        case index(Int)
    }

    /// The path below the `location` given to `parseValue`, innermost last.
    private var path: [PathComponent] = []
    private var basePath = ""

    private func renderedPath() -> String {
        var out = basePath
        for c in path {
            switch c {
            case let .key(k): out += out.isEmpty ? k : ".\(k)"
            case let .index(i): out += "[\(i)]"
            }
        }
        return out
    }

    /// Parses one whole value; `location` is its JSON path (for duplicate-key errors).
    mutating func parseValue(at location: String) throws -> JSONValue {
        basePath = location
        path.removeAll(keepingCapacity: true)
        return try parseAny()
    }

    private mutating func parseAny() throws -> JSONValue {
        try skipWhitespace()
        guard let b = try input.peek() else { throw syntax("unexpected end of the input") }
        switch b {
        case UInt8(ascii: "{"):
            try beginObject()
            var object = JSONObject()
            var first = true
            while let key = try nextKey(first: first) {
                first = false
                path.append(.key(key))
                let value = try parseAny()
                guard object.insert(key, value) else {
                    let earlier = object.keys.first { $0 == key } ?? key
                    let how = earlier.unicodeScalars.elementsEqual(key.unicodeScalars)
                        ? "duplicate key"
                        : "duplicate key \(asciiEscaped(key)) (canonically equivalent to the earlier key \(asciiEscaped(earlier)))"
                    throw TraceError(renderedPath(), how)
                }
                path.removeLast()
            }
            return .object(object)
        case UInt8(ascii: "["):
            try beginArray()
            // Arrays of numbers (tensors) are kept as [Double]: 8 bytes per element and no
            // per-element enum; a non-number element switches to the general form.
            var numbers: [Double] = []
            var items: [JSONValue]? = nil
            var first = true
            while try nextElement(first: first) {
                first = false
                if items == nil, let c = try peekToken(), c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) {
                    numbers.append(try parseNumber())
                    continue
                }
                if items == nil { items = numbers.map { .number($0) } }
                path.append(.index(items!.count))
                items!.append(try parseAny())
                path.removeLast()
            }
            if let items { return .array(items) }
            return .numbers(numbers)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true"); return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false"); return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw syntax("unexpected \(Self.describe(b))")
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let bytes = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for expected in bytes {
            guard try input.next() == expected else { throw syntax("expected \(word)") }
        }
    }

    /// Scratch space for the text of one number (reused: no allocation per number).
    private var numberText: [UInt8] = []

    private mutating func parseNumber() throws -> Double {
        var text = numberText
        text.removeAll(keepingCapacity: true)
        defer { numberText = text }
        func digits() throws -> Int {
            var n = 0
            while let b = try input.peek(), b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                text.append(try input.next()!); n += 1
            }
            return n
        }
        if try input.peek() == UInt8(ascii: "-") { text.append(try input.next()!) }
        let leading = try input.peek()
        let intDigits = try digits()
        guard intDigits > 0 else { throw syntax("a number needs digits") }
        if leading == UInt8(ascii: "0") && intDigits > 1 { throw syntax("a number cannot have leading zeros") }
        if try input.peek() == UInt8(ascii: ".") {
            text.append(try input.next()!)
            guard try digits() > 0 else { throw syntax("a fraction needs digits") }
        }
        if let e = try input.peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            text.append(try input.next()!)
            if let s = try input.peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { text.append(try input.next()!) }
            guard try digits() > 0 else { throw syntax("an exponent needs digits") }
        }
        text.append(0)
        // strtod gives ±HUGE_VAL beyond Double's range: the value stays ±inf and the reader
        // that converts it refuses it with its JSON path.
        return text.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: p.count) { strtod($0, nil) }
        }
    }

    private mutating func parseString() throws -> String {
        _ = try input.next()  // the opening quote
        var bytes: [UInt8] = []
        while true {
            guard let b = try input.next() else { throw syntax("unterminated string") }
            switch b {
            case UInt8(ascii: "\""):
                guard let s = String(validating: bytes, as: UTF8.self) else { throw syntax("a string is not valid UTF-8") }
                return s
            case UInt8(ascii: "\\"):
                guard let e = try input.next() else { throw syntax("unterminated string") }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard try input.next() == UInt8(ascii: "\\"), try input.next() == UInt8(ascii: "u") else {
                            throw syntax("a high surrogate must be followed by a low one")
                        }
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw syntax("a high surrogate must be followed by a low one") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw syntax("a lone surrogate \\u\(String(scalar, radix: 16))") }
                    bytes.append(contentsOf: String(Character(u)).utf8)
                default:
                    throw syntax("unknown escape \\\(Self.describe(e))")
                }
            default:
                guard b >= 0x20 else { throw syntax("an unescaped control character in a string") }
                bytes.append(b)
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let b = try input.next() else { throw syntax("unterminated \\u escape") }
            let d: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw syntax("a \\u escape needs four hex digits")
            }
            v = v << 4 | d
        }
        return v
    }
}

/// `s` as a JSON string literal with every non-ASCII scalar written `\uXXXX` (surrogate
/// pairs above U+FFFF), so that canonically equivalent spellings can be told apart.
func asciiEscaped(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        if u.value >= 0x20 && u.value < 0x7F && u != "\"" && u != "\\" { out.unicodeScalars.append(u); continue }
        for unit in String(u).utf16 { out += "\\u" + String(repeating: "0", count: 4 - String(unit, radix: 16).count) + String(unit, radix: 16) }
    }
    return out + "\""
}
