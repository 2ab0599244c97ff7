/// The part of a trace needed before any step can be applied: parameters, their shapes and
/// the groups.
struct TraceHeader {
    /// The parameters, in file order.
    let parameters: [GradientTrace.TraceParameter]
    /// Each parameter's shape by path.
    let shapes: [String: [Int]]
    /// The groups, in priority order.
    let groups: [GradientTrace.TraceGroup]
    /// Whether some group reads `provided_gradient`.
    var usesProvidedGradient: Bool { groups.contains { $0.recipe.usesProvidedGradient } }
}

/// Reads a `graft-trace/1` document as a stream: the root object's keys are walked in file
/// order, `parameters` and `groups` are parsed whole, and once both are known each element of
/// `steps` is parsed, checked and handed to the caller before the next one is read, so memory
/// holds one step at a time. (A file that puts `steps` before `parameters` or `groups`, which
/// JSON allows, has its steps held until both are read.)
enum TraceStreamReader {
    /// Reads `input`, calling `header` once and then `step` for each step in order; returns
    /// the description. Throws `TraceError` at the first problem (after `header` and some
    /// `step` calls when the problem comes later in the file).
    static func read(_ input: JSONByteInput, header onHeader: (TraceHeader) throws -> Void,
                     step onStep: (Int, GradientTrace.TraceStep) throws -> Void) throws -> String? {
        var parser = JSONStreamParser(input)
        var seen = Set<String>()
        var format: String?
        var description: String?
        var parameterItems: [JSONValue]?
        var groupItems: [JSONValue]?
        var header: TraceHeader?
        var heldSteps: [JSONValue]?
        var stepsSeen = false

        func makeHeader() throws -> TraceHeader {
            guard let parameterItems else { throw TraceError("parameters", "required key is missing") }
            guard let groupItems else { throw TraceError("groups", "required key is missing") }
            let (parameters, shapes) = try GradientTrace.parameters(parameterItems)
            let h = TraceHeader(parameters: parameters, shapes: shapes, groups: try GradientTrace.groups(groupItems))
            try onHeader(h)
            return h
        }
        func array(_ key: String, _ value: JSONValue) throws -> [JSONValue] {
            guard let a = value.array else { throw TraceError(key, "expected an array") }
            return a
        }

        if let b = try parser.peekToken(), b != UInt8(ascii: "{") {
            _ = try parser.parseValue(at: "")  // a syntax error, or a valid non-object
            throw TraceError("", "expected an object")
        }
        try parser.beginObject()
        var first = true
        while let key = try parser.nextKey(first: first) {
            first = false
            guard seen.insert(key).inserted else { throw TraceError(key, "duplicate key") }
            switch key {
            case "format":
                guard let s = try parser.parseValue(at: key).string else { throw TraceError(key, "expected a string") }
                guard s == "graft-trace/1" else { throw TraceError("format", "expected \"graft-trace/1\", got \(jsonString(s))") }
                format = s
            case "description":
                guard let s = try parser.parseValue(at: key).string else { throw TraceError(key, "expected a string") }
                description = s
            case "parameters":
                parameterItems = try array(key, try parser.parseValue(at: key))
            case "groups":
                groupItems = try array(key, try parser.parseValue(at: key))
            case "steps":
                stepsSeen = true
                if header == nil && parameterItems != nil && groupItems != nil { header = try makeHeader() }
                guard let h = header else {
                    heldSteps = try array(key, try parser.parseValue(at: key))
                    continue
                }
                guard try parser.peekToken() == UInt8(ascii: "[") else {
                    _ = try parser.parseValue(at: key)
                    throw TraceError(key, "expected an array")
                }
                try parser.beginArray()
                let usesProvided = h.usesProvidedGradient
                var i = 0
                while try parser.nextElement(first: i == 0) {
                    let location = "steps[\(i)]"
                    let item = try parser.parseValue(at: location)
                    try onStep(i, try GradientTrace.step(item, at: location, shapes: h.shapes, usesProvided: usesProvided))
                    i += 1
                }
            default:
                throw TraceError(key, "unknown key")
            }
        }
        try parser.expectEnd()
        guard format != nil else { throw TraceError("format", "required key is missing") }
        let h = try header ?? makeHeader()
        guard stepsSeen else { throw TraceError("steps", "required key is missing") }
        if let heldSteps {
            let usesProvided = h.usesProvidedGradient
            for (i, item) in heldSteps.enumerated() {
                try onStep(i, try GradientTrace.step(item, at: "steps[\(i)]", shapes: h.shapes, usesProvided: usesProvided))
            }
        }
        return description
    }
}
