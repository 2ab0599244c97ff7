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

    /// Parses a trace from JSON data.
    public init(data: Data) throws {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw TraceError("", "not valid JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"))")
        }
        var r = try JSONObjectReader(root, at: "")
        let format = try r.string("format")
        guard format == "graft-trace/1" else { throw TraceError("format", "expected \"graft-trace/1\", got \"\(format)\"") }
        description = try r.optionalString("description")

        var parameters: [TraceParameter] = []
        var shapes: [String: [Int]] = [:]
        for (i, item) in try r.array("parameters").enumerated() {
            var p = try JSONObjectReader(item, at: "parameters[\(i)]")
            let path = try p.string("path")
            guard !path.isEmpty else { throw TraceError(p.at("path"), "empty path") }
            guard shapes[path] == nil else { throw TraceError(p.at("path"), "duplicate path \"\(path)\"") }
            let shape = try Self.shape(p.value("shape"), at: p.at("shape"))
            let value = try Self.tensor(p.value("value"), shape: shape, at: p.at("value"))
            var anchor = AnchorKind.initial
            var explicit: Tensor?
            if let a = p.value("anchor") {
                switch a {
                case let s as String where s == "initial": anchor = .initial
                case let s as String where s == "zero": anchor = .zero
                case let s as String where s == "none": anchor = .none
                case is [Any]: explicit = try Self.tensor(a, shape: shape, at: p.at("anchor"))
                default: throw TraceError(p.at("anchor"), "expected \"initial\", \"zero\", \"none\" or an array")
                }
            }
            try p.rejectUnknownKeys()
            shapes[path] = shape
            parameters.append(TraceParameter(path: path, value: value, anchor: anchor, explicitAnchor: explicit))
        }
        guard !parameters.isEmpty else { throw TraceError("parameters", "at least one parameter is required") }

        var groups: [TraceGroup] = []
        for (i, item) in try r.array("groups").enumerated() {
            var g = try JSONObjectReader(item, at: "groups[\(i)]")
            let name = try g.string("name")
            let selectItems = try g.array("select")
            guard !selectItems.isEmpty else { throw TraceError(g.at("select"), "select at least one path or pattern") }
            let select = try selectItems.enumerated().map { (j, s) -> String in
                guard let s = s as? String else { throw TraceError(g.at("select[\(j)]"), "expected a string") }
                return s
            }
            let recipe = try TraceRecipe(g.value("recipe"), at: g.at("recipe"), isBase: false)
            try g.rejectUnknownKeys()
            groups.append(TraceGroup(name: name, select: select, recipe: recipe))
        }
        guard !groups.isEmpty else { throw TraceError("groups", "at least one group is required") }

        var steps: [TraceStep] = []
        for (i, item) in try r.array("steps").enumerated() {
            var s = try JSONObjectReader(item, at: "steps[\(i)]")
            let objectiveItems = try s.array("gradients")
            guard !objectiveItems.isEmpty else { throw TraceError(s.at("gradients"), "at least one objective is required") }
            let objectives = try objectiveItems.enumerated().map { (k, o) in
                try Self.gradients(o, shapes: shapes, at: s.at("gradients[\(k)]"))
            }
            let provided = try s.has("provided_gradient") ? Self.gradients(s.value("provided_gradient"), shapes: shapes, at: s.at("provided_gradient")) : nil
            let scale = try s.optionalFloat("lr_scale", default: 1)
            guard scale >= 0 else { throw TraceError(s.at("lr_scale"), "must be ≥ 0, got \(scale)") }
            try s.rejectUnknownKeys()
            steps.append(TraceStep(objectives: objectives, provided: provided, learningRateScale: scale))
        }
        try r.rejectUnknownKeys()
        self.parameters = parameters
        self.groups = groups
        self.steps = steps
    }

    static func shape(_ v: Any?, at location: String) throws -> [Int] {
        guard let a = v as? [Any] else { throw TraceError(location, "expected an array of dimensions") }
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

    static func tensor(_ v: Any?, shape: [Int], at location: String) throws -> Tensor {
        let values = try JSONObjectReader.floats(v, at: location)
        let expected = (try? Tensor.elementCount(of: shape)) ?? -1
        guard values.count == expected else {
            throw TraceError(location, "shape \(shape) needs \(expected) numbers, got \(values.count)")
        }
        return try Tensor(shape: shape, scalars: values)
    }

    static func gradients(_ v: Any?, shapes: [String: [Int]], at location: String) throws -> [String: Tensor] {
        guard let object = v as? [String: Any] else { throw TraceError(location, "expected an object of gradients by path") }
        var out: [String: Tensor] = [:]
        for (path, g) in object.sorted(by: { $0.key < $1.key }) {  // the first bad path in a stable order
            guard let shape = shapes[path] else { throw TraceError("\(location)[\"\(path)\"]", "unknown parameter path") }
            out[path] = try tensor(g, shape: shape, at: "\(location)[\"\(path)\"]")
        }
        return out
    }
}
