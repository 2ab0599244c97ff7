/// A bad command line: an unknown flag, a missing or malformed value. Example programs print
/// it and exit with status 1.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    /// The message shown to the user.
    public let description: String
    /// A usage error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// The arguments of an example program, consumed flag by flag, with the value checks every
/// example needs (each failure names the flag and the text it got).
public struct ArgumentList {
    private var remaining: ArraySlice<String>

    /// The arguments after the program name.
    public init(_ arguments: [String]) { remaining = arguments[...] }

    /// The next argument (a flag), or `nil` at the end.
    public mutating func next() -> String? { remaining.popFirst() }

    /// The value after `flag`.
    public mutating func value(for flag: String) throws -> String {
        guard let v = remaining.popFirst() else { throw UsageError("\(flag) needs a value") }
        return v
    }

    /// A whole number ≥ 1 after `flag`.
    public mutating func positiveInt(for flag: String) throws -> Int {
        let v = try value(for: flag)
        guard let n = Int(v), n >= 1 else { throw UsageError("\(flag) needs a whole number ≥ 1, got \"\(v)\"") }
        return n
    }

    /// A finite number after `flag`, at least `minimum` (or above it when `strictly`).
    public mutating func float(for flag: String, minimum: Float = 0, strictly: Bool = false) throws -> Float {
        let v = try value(for: flag)
        guard let x = Float(v), x.isFinite, strictly ? x > minimum : x >= minimum else {
            throw UsageError("\(flag) needs a finite number \(strictly ? ">" : "≥") \(minimum), got \"\(v)\"")
        }
        return x
    }
}
