import GraftTensor

/// Prefix renames applied to a checkpoint's tensor names before they are matched with a
/// model's parameter paths (for checkpoints saved from a wrapper, e.g. `model.` or
/// `module.` in front of every name, or a backbone stored under another name).
///
/// A name is rewritten by the first rule whose `from` is a prefix of it: `from + rest`
/// becomes `to + rest`; names no rule matches are kept as they are.
public struct NameMapping: Sendable, Equatable {
    /// One rename: the prefix `from` becomes `to`.
    public struct Rule: Sendable, Equatable {
        /// The prefix in the checkpoint.
        public var from: String
        /// Its replacement in the model's paths.
        public var to: String
        /// A rule renaming the prefix `from` to `to`.
        public init(from: String, to: String) { self.from = from; self.to = to }
    }

    /// The rules, tried in order.
    public var rules: [Rule]

    /// A mapping with `rules`, tried in order (`[]`: names are used as they are).
    public init(_ rules: [Rule] = []) { self.rules = rules }

    /// Renames that strip `prefix` (the common `module.` / `model.` case).
    public static func stripping(_ prefix: String) -> NameMapping { NameMapping([Rule(from: prefix, to: "")]) }

    /// `name` with the first matching rule applied.
    public func apply(_ name: String) -> String {
        for rule in rules where name.hasPrefix(rule.from) {
            return rule.to + name.dropFirst(rule.from.count)
        }
        return name
    }
}

/// What `Layer.loadStateDict` did: PyTorch's `load_state_dict` report (missing and
/// unexpected keys) plus the shape mismatches, which PyTorch raises on and Graft reports.
public struct StateDictReport: Sendable, Equatable, CustomStringConvertible {
    /// A tensor whose shape differs from its parameter's.
    public struct ShapeMismatch: Sendable, Equatable {
        /// The model's parameter path.
        public var path: String
        /// The parameter's shape.
        public var expected: [Int]
        /// The tensor's shape.
        public var actual: [Int]
        /// A mismatch of `path`: the parameter has shape `expected`, the tensor `actual`.
        public init(path: String, expected: [Int], actual: [Int]) { self.path = path; self.expected = expected; self.actual = actual }
    }

    /// An empty report (filled by `loadStateDict`).
    public init() {}

    /// Parameter paths that were loaded, in model order.
    public var loaded: [String] = []
    /// Parameter paths with no tensor (after renaming), in model order.
    public var missing: [String] = []
    /// Tensor names (after renaming) that match no parameter, sorted.
    public var unexpected: [String] = []
    /// Parameters whose tensor has another shape (not loaded), in model order.
    public var shapeMismatches: [ShapeMismatch] = []

    /// Whether every parameter was loaded and every tensor used (what strict loading requires).
    public var isExact: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }

    /// PyTorch-style summary, one line per problem kind, or "all N parameters loaded".
    public var description: String {
        if isExact { return "all \(loaded.count) parameters loaded" }
        var lines = ["loaded \(loaded.count) parameters"]
        if !missing.isEmpty { lines.append("missing keys: " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { lines.append("unexpected keys: " + unexpected.joined(separator: ", ")) }
        for m in shapeMismatches {
            lines.append("size mismatch for \(m.path): the checkpoint has shape \(m.actual), the model's parameter has shape \(m.expected)")
        }
        return lines.joined(separator: "\n")
    }
}

/// Why `loadStateDict` refused a checkpoint. Nothing is changed when it throws.
public enum StateDictError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Strict loading found missing or unexpected names or shape mismatches (all listed).
    case incompatible(StateDictReport)
    /// Two checkpoint names map to the same name under the `NameMapping`.
    case mappingCollision(first: String, second: String, mapped: String)

    /// The report's lines, or the colliding names.
    public var description: String {
        switch self {
        case let .incompatible(report):
            return "error(s) loading the state dict:\n" + report.description
        case let .mappingCollision(first, second, mapped):
            return "the name mapping sends both \"\(first)\" and \"\(second)\" to \"\(mapped)\""
        }
    }
}

extension Layer {
    /// Loads named tensors (a state dict, e.g. read from a safetensors file) into the
    /// parameters of the same paths, after renaming each tensor name with `mapping`.
    ///
    /// - `strict` (the default): every parameter must have a tensor of its shape and every
    ///   tensor must name a parameter; otherwise `StateDictError.incompatible` lists every
    ///   problem and nothing changes.
    /// - non-strict: every parameter with a tensor of its shape is loaded; missing
    ///   parameters keep their values, unexpected tensors are ignored, and tensors of another
    ///   shape are skipped (PyTorch raises on those even when non-strict; Graft reports them
    ///   so a backbone loads even when the checkpoint's head has another number of classes).
    ///
    /// Dense layers use PyTorch's `[out, in]` weight layout, so `nn.Linear` weights load
    /// without transposes. Gradients, trainable flags and anchor kinds are left as they are.
    /// - Returns: what was loaded, missing, unexpected and mis-shaped.
    /// - Throws: `StateDictError`.
    @discardableResult
    public func loadStateDict(_ tensors: [String: Tensor], strict: Bool = true, mapping: NameMapping = NameMapping()) throws -> StateDictReport {
        var renamed: [String: Tensor] = [:]
        var origin: [String: String] = [:]
        for name in tensors.keys.sorted() {
            let mapped = mapping.apply(name)
            if let first = origin[mapped] { throw StateDictError.mappingCollision(first: first, second: name, mapped: mapped) }
            origin[mapped] = name
            renamed[mapped] = tensors[name]
        }
        var report = StateDictReport()
        var updates: [(Parameter, Tensor)] = []
        var paths = Set<String>()
        visitParameters(prefix: "") { path, parameter in
            paths.insert(path)
            guard let tensor = renamed[path] else { report.missing.append(path); return }
            guard tensor.shape == parameter.shape else {
                report.shapeMismatches.append(.init(path: path, expected: parameter.shape, actual: tensor.shape))
                return
            }
            report.loaded.append(path)
            updates.append((parameter, tensor))
        }
        report.unexpected = renamed.keys.filter { !paths.contains($0) }.sorted()
        if strict && !report.isExact { throw StateDictError.incompatible(report) }
        for (parameter, tensor) in updates { parameter.value = tensor }
        return report
    }
}
