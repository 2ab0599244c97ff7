import Foundation
import GraftTensor

/// A parsed `graft-trace/1` file: parameters with anchors, groups with recipes, and the
/// gradients of every step (see `TRACE_FORMAT.md`). Parsing is strict: unknown keys, wrong
/// types, count mismatches, unknown paths and missing groups are `TraceError`s naming the
/// place.
public struct GradientTrace {
    /// One parameter of the trace.
    public struct TraceParameter {
        /// The parameter's dotted path.
        public let path: String
        /// The initial value.
        public let value: Tensor
        /// The anchor kind (`.initial` also for an explicit anchor).
        public let anchor: AnchorKind
        /// An explicit anchor θ0, when the trace gives one.
        public let explicitAnchor: Tensor?
    }

    /// One group: name, selection patterns and recipe.
    public struct TraceGroup {
        /// The group's name.
        public let name: String
        /// Paths or glob patterns selecting the group's parameters.
        public let select: [String]
        /// The group's recipe.
        public let recipe: TraceRecipe
    }

    /// One step: K objective gradients, an optional provided gradient and an lr scale.
    public struct TraceStep {
        /// One gradient object per objective.
        public let objectives: [[String: Tensor]]
        /// The caller-provided gradient of the step, if any.
        public let provided: [String: Tensor]?
        /// The step's `lr_scale`.
        public let learningRateScale: Float
    }

    /// The trace's free-text description.
    public let description: String?
    /// The parameters, in file order.
    public let parameters: [TraceParameter]
    /// The groups, in priority order.
    public let groups: [TraceGroup]
    /// The recorded steps.
    public let steps: [TraceStep]

    /// Parses a whole trace from JSON data (steps included; `TraceReplay(streaming:)` applies
    /// steps as they are read instead of holding them).
    public init(data: Data) throws {
        var header: TraceHeader?
        var steps: [TraceStep] = []
        let description = try TraceStreamReader.read(JSONByteInput(bytes: [UInt8](data)),
                                                     header: { header = $0 }, step: { _, s in steps.append(s) })
        self.description = description
        self.parameters = header!.parameters
        self.groups = header!.groups
        self.steps = steps
    }

    /// The parameters from the trace's `parameters` array.
    static func parameters(_ items: [JSONValue]) throws -> (parameters: [TraceParameter], shapes: [String: [Int]]) {
        var parameters: [TraceParameter] = []
        var shapes: [String: [Int]] = [:]
        for (i, item) in items.enumerated() {
            var p = try JSONObjectReader(item, at: "parameters[\(i)]")
            let path = try p.string("path")
            guard !path.isEmpty else { throw TraceError(p.at("path"), "empty path") }
            guard shapes[path] == nil else {
                let earlier = parameters.first { $0.path == path }?.path ?? path
                let how = earlier.unicodeScalars.elementsEqual(path.unicodeScalars) ? "" : " (canonically equivalent to \(asciiEscaped(earlier)))"
                throw TraceError(p.at("path"), "duplicate path \(how.isEmpty ? jsonString(path) : asciiEscaped(path))\(how)")
            }
            let shape = try Self.shape(p.value("shape"), at: p.at("shape"))
            let value = try Self.tensor(p.value("value"), shape: shape, at: p.at("value"))
            var anchor = AnchorKind.initial
            var explicit: Tensor?
            if let a = p.value("anchor") {
                switch a {
                case .string("initial"): anchor = .initial
                case .string("zero"): anchor = .zero
                case .string("none"): anchor = .none
                case .array, .numbers: explicit = try Self.tensor(a, shape: shape, at: p.at("anchor"))
                default: throw TraceError(p.at("anchor"), "expected \"initial\", \"zero\", \"none\" or an array")
                }
            }
            try p.rejectUnknownKeys()
            shapes[path] = shape
            parameters.append(TraceParameter(path: path, value: value, anchor: anchor, explicitAnchor: explicit))
        }
        guard !parameters.isEmpty else { throw TraceError("parameters", "at least one parameter is required") }
        return (parameters, shapes)
    }

    /// The groups from the trace's `groups` array.
    static func groups(_ items: [JSONValue]) throws -> [TraceGroup] {
        var groups: [TraceGroup] = []
        for (i, item) in items.enumerated() {
            var g = try JSONObjectReader(item, at: "groups[\(i)]")
            let name = try g.string("name")
            let selectItems = try g.array("select")
            guard !selectItems.isEmpty else { throw TraceError(g.at("select"), "select at least one path or pattern") }
            let select = try selectItems.enumerated().map { (j, s) -> String in
                guard let s = s.string else { throw TraceError(g.at("select[\(j)]"), "expected a string") }
                return s
            }
            let recipe = try TraceRecipe(g.value("recipe"), at: g.at("recipe"), isBase: false)
            try g.rejectUnknownKeys()
            groups.append(TraceGroup(name: name, select: select, recipe: recipe))
        }
        guard !groups.isEmpty else { throw TraceError("groups", "at least one group is required") }
        return groups
    }

    /// One element of `steps`. `provided_gradient` is read only when some group uses it
    /// (`usesProvided`); otherwise the format says it is ignored, and it is.
    static func step(_ item: JSONValue, at location: String, shapes: [String: [Int]], usesProvided: Bool) throws -> TraceStep {
        var s = try JSONObjectReader(item, at: location)
        let objectiveItems = try s.array("gradients")
        guard !objectiveItems.isEmpty else { throw TraceError(s.at("gradients"), "at least one objective is required") }
        let objectives = try objectiveItems.enumerated().map { (k, o) in
            try Self.gradients(o, shapes: shapes, at: "\(location).gradients[\(k)]")
        }
        var provided: [String: Tensor]?
        if s.has("provided_gradient") && usesProvided {
            provided = try Self.gradients(s.value("provided_gradient"), shapes: shapes, at: s.at("provided_gradient"))
        }
        let scale = try s.optionalFloat("lr_scale", default: 1)
        guard scale >= 0 else { throw TraceError(s.at("lr_scale"), "must be ≥ 0, got \(scale)") }
        try s.rejectUnknownKeys()
        return TraceStep(objectives: objectives, provided: provided, learningRateScale: scale)
    }

    static func shape(_ v: JSONValue?, at location: String) throws -> [Int] {
        guard let a = v?.array else { throw TraceError(location, "expected an array of dimensions") }
        let dims = try a.enumerated().map { (i, x) -> Int in
            let d = try JSONObjectReader.number(x, at: "\(location)[\(i)]")
            guard d >= 0, d == d.rounded(), d <= Double(Int32.max) else {
                throw TraceError("\(location)[\(i)]", "a dimension must be a whole number in [0, \(Int32.max)], got \(d)")
            }
            return Int(d)
        }
        do { _ = try Tensor.elementCount(of: dims) } catch { throw TraceError(location, "\(error)") }
        return dims
    }

    static func tensor(_ v: JSONValue?, shape: [Int], at location: @autoclosure () -> String) throws -> Tensor {
        let values = try JSONObjectReader.floats(v, at: location())
        let expected = (try? Tensor.elementCount(of: shape)) ?? -1
        guard values.count == expected else {
            throw TraceError(location(), "shape \(shape) needs \(expected) numbers, got \(values.count)")
        }
        return try Tensor(shape: shape, scalars: values)
    }

    static func gradients(_ v: JSONValue?, shapes: [String: [Int]], at location: @autoclosure () -> String) throws -> [String: Tensor] {
        guard let object = v?.object else { throw TraceError(location(), "expected an object of gradients by path") }
        var out: [String: Tensor] = [:]
        let keys = object.keys.count > 1 ? object.keys.sorted() : object.keys  // the first bad path in a stable order
        for path in keys {
            guard let shape = shapes[path] else { throw TraceError("\(location())[\"\(path)\"]", "unknown parameter path") }
            out[path] = try tensor(object[path], shape: shape, at: "\(location())[\"\(path)\"]")
        }
        return out
    }
}
