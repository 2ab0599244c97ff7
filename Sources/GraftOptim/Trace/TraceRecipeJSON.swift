/// A recipe from JSON text: the `recipe` object of a trace (TRACE_FORMAT.md), on its own.
extension TraceRecipe {
    /// Parses `json` — one JSON object such as `{"method": "digrap", "lr": 1e-3, "mu": 0.01}`
    /// or a `chain` — strictly (unknown keys, duplicate keys, out-of-range numbers and trailing
    /// text are errors) and builds its aggregator and transform, as `graft replay` does for a
    /// group's recipe. `graft bench --recipe` uses it.
    /// - Throws: `TraceError` naming the key (locations start with `recipe`).
    public init(json: String) throws {
        var parser = JSONStreamParser(JSONByteInput(bytes: Array(json.utf8)))
        let value = try parser.parseValue(at: "recipe")
        try parser.expectEnd()
        guard case .object = value else { throw TraceError("recipe", "expected a JSON object such as {\"method\": \"adam\", \"lr\": 0.001}") }
        try self.init(value, at: "recipe", isBase: false)
    }
}
