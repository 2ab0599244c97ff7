/// A parsed JSON value as the trace reader sees it (see `JSONStreamParser`).
///
/// Objects keep their keys in file order and never hold two keys that compare equal as Swift
/// strings (canonical Unicode equivalence): the parser refuses such duplicates, so a key means
/// the same thing wherever it is looked up. Numbers are `Double`s; range checks against
/// float32 happen where a number is read as a `Float` (`JSONObjectReader.float`), with its
/// JSON path.
enum JSONValue {
    /// `{...}`.
    case object(JSONObject)
    /// `[...]` whose elements are not all numbers.
    case array([JSONValue])
    /// `[...]` of numbers only (the empty array too): a tensor's values, 8 bytes each.
    case numbers([Double])
    /// `"..."`.
    case string(String)
    /// A number (±inf when its magnitude exceeds `Double`'s range).
    case number(Double)
    /// `true` / `false`.
    case bool(Bool)
    /// `null`.
    case null

    /// The object, or `nil` for any other kind.
    var object: JSONObject? { if case let .object(o) = self { return o }; return nil }
    /// The array (of any elements), or `nil` for any other kind.
    var array: [JSONValue]? {
        switch self {
        case let .array(a): return a
        case let .numbers(n): return n.map { .number($0) }
        default: return nil
        }
    }
    /// The string, or `nil` for any other kind.
    var string: String? { if case let .string(s) = self { return s }; return nil }
}

/// A JSON object: its keys in file order and the value of each key.
struct JSONObject {
    /// The keys in file order (no two canonically equivalent).
    private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]

    /// The value of `key` (looked up under canonical equivalence, like every Swift string).
    subscript(key: String) -> JSONValue? { values[key] }

    /// Adds `key`; returns `false` (and changes nothing) when an equivalent key is present.
    mutating func insert(_ key: String, _ value: JSONValue) -> Bool {
        guard values[key] == nil else { return false }
        keys.append(key)
        values[key] = value
        return true
    }
}
