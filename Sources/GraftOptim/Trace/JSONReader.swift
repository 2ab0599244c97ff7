import Foundation

/// A strict reader over `JSONSerialization` output that reports errors with their JSON path
/// and rejects unknown keys.
struct JSONObjectReader {
    let object: [String: Any]
    let location: String
    private(set) var consumed = Set<String>()

    init(_ value: Any?, at location: String) throws {
        guard let object = value as? [String: Any] else { throw TraceError(location, "expected an object") }
        self.object = object
        self.location = location
    }

    func at(_ key: String) -> String { location.isEmpty ? key : "\(location).\(key)" }

    mutating func has(_ key: String) -> Bool { consumed.insert(key); return object[key] != nil }

    mutating func value(_ key: String) -> Any? { consumed.insert(key); return object[key] }

    mutating func string(_ key: String) throws -> String {
        guard let v = value(key) else { throw TraceError(at(key), "required key is missing") }
        guard let s = v as? String else { throw TraceError(at(key), "expected a string") }
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

    mutating func optionalFloat(_ key: String, default d: Float) throws -> Float {
        try optionalNumber(key).map(Float.init) ?? d
    }

    mutating func optionalBool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = value(key) else { return d }
        guard let n = v as? NSNumber, isJSONBoolean(n) else { throw TraceError(at(key), "expected true or false") }
        return n.boolValue
    }

    mutating func array(_ key: String) throws -> [Any] {
        guard let v = value(key) else { throw TraceError(at(key), "required key is missing") }
        guard let a = v as? [Any] else { throw TraceError(at(key), "expected an array") }
        return a
    }

    /// Throws on the first key that was never read.
    func rejectUnknownKeys() throws {
        for key in object.keys.sorted() where !consumed.contains(key) {
            throw TraceError(at(key), "unknown key")
        }
    }

    static func number(_ v: Any, at location: String) throws -> Double {
        guard let n = v as? NSNumber, !isJSONBoolean(n) else { throw TraceError(location, "expected a number") }
        let d = n.doubleValue
        guard d.isFinite else { throw TraceError(location, "expected a finite number") }
        return d
    }

    static func floats(_ v: Any?, at location: String) throws -> [Float] {
        guard let a = v as? [Any] else { throw TraceError(location, "expected an array of numbers") }
        var out = [Float]()
        out.reserveCapacity(a.count)
        for (i, x) in a.enumerated() {
            guard let n = x as? NSNumber, !isJSONBoolean(n) else { throw TraceError("\(location)[\(i)]", "expected a number") }
            out.append(Float(n.doubleValue))
        }
        return out
    }
}

/// Whether an NSNumber came from a JSON `true` / `false` (JSONSerialization yields a
/// distinct boolean subclass, on Linux `__NSCFBoolean`).
func isJSONBoolean(_ n: NSNumber) -> Bool {
    ObjectIdentifier(type(of: n)) == booleanNumberType
}

private let booleanNumberType = ObjectIdentifier(type(of: NSNumber(value: true)))
