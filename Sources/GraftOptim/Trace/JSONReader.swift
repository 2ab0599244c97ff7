/// A strict reader over a parsed `JSONObject` that reports errors with their JSON path and
/// rejects unknown keys. Numbers read as `Float` must lie in float32's finite range.
struct JSONObjectReader {
    let object: JSONObject
    let location: String
    private(set) var consumed = Set<String>()

    init(_ value: JSONValue?, at location: String) throws {
        guard let object = value?.object else { throw TraceError(location, "expected an object") }
        self.object = object
        self.location = location
    }

    func at(_ key: String) -> String { location.isEmpty ? key : "\(location).\(key)" }

    mutating func has(_ key: String) -> Bool { consumed.insert(key); return object[key] != nil }

    mutating func value(_ key: String) -> JSONValue? { consumed.insert(key); return object[key] }

    mutating func string(_ key: String) throws -> String {
        guard let v = value(key) else { throw TraceError(at(key), "required key is missing") }
        guard let s = v.string else { throw TraceError(at(key), "expected a string") }
        return s
    }

    mutating func optionalString(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        return try string(key)
    }

    mutating func number(_ key: String) throws -> Double {
        guard let v = value(key) else { throw TraceError(at(key), "required key is missing") }
        return try JSONObjectReader.number(v, at: at(key))
    }

    mutating func optionalNumber(_ key: String) throws -> Double? {
        guard has(key) else { return nil }
        return try number(key)
    }

    /// A required number that must be a finite float32.
    mutating func float(_ key: String) throws -> Float {
        try JSONObjectReader.float(try number(key), at: at(key))
    }

    mutating func optionalFloat(_ key: String, default d: Float) throws -> Float {
        guard has(key) else { return d }
        return try float(key)
    }

    mutating func optionalBool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = value(key) else { return d }
        guard case let .bool(b) = v else { throw TraceError(at(key), "expected true or false") }
        return b
    }

    mutating func array(_ key: String) throws -> [JSONValue] {
        guard let v = value(key) else { throw TraceError(at(key), "required key is missing") }
        guard let a = v.array else { throw TraceError(at(key), "expected an array") }
        return a
    }

    /// Throws on the first key that was never read.
    func rejectUnknownKeys() throws {
        for key in object.keys.sorted() where !consumed.contains(key) {
            throw TraceError(at(key), "unknown key")
        }
    }

    static func number(_ v: JSONValue, at location: String) throws -> Double {
        guard case let .number(d) = v else { throw TraceError(location, "expected a number") }
        guard d.isFinite else { throw TraceError(location, "number out of range") }
        return d
    }

    /// `d` as a `Float`, refusing magnitudes that round to ±inf in float32 (|d| ≳ 3.4028235e38).
    static func float(_ d: Double, at location: String) throws -> Float {
        let f = Float(d)
        guard f.isFinite else {
            throw TraceError(location, "\(d) is out of float32 range (|x| ≤ \(Float.greatestFiniteMagnitude))")
        }
        return f
    }

    /// An array of finite float32 numbers.
    static func floats(_ v: JSONValue?, at location: @autoclosure () -> String) throws -> [Float] {
        if case let .numbers(n) = v {
            var out = [Float](repeating: 0, count: n.count)
            var bad = -1
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<n.count {
                    let f = Float(n[i])
                    if !f.isFinite && bad < 0 { bad = i }
                    o[i] = f
                }
            }
            if bad >= 0 { throw TraceError("\(location())[\(bad)]", "\(n[bad]) is out of float32 range (|x| ≤ \(Float.greatestFiniteMagnitude))") }
            return out
        }
        let location = location()
        guard let a = v?.array else { throw TraceError(location, "expected an array of numbers") }
        var out = [Float]()
        out.reserveCapacity(a.count)
        for (i, x) in a.enumerated() {
            guard case let .number(d) = x else { throw TraceError("\(location)[\(i)]", "expected a number") }
            let f = Float(d)
            guard f.isFinite else { throw TraceError("\(location)[\(i)]", "\(d) is out of float32 range (|x| ≤ \(Float.greatestFiniteMagnitude))") }
            out.append(f)
        }
        return out
    }
}
