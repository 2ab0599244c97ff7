import GraftOptim
import GraftTensor

/// One parameter tensor of a layout.
public struct TensorSpec: Codable, Sendable, Equatable {
    /// The dotted path.
    public var path: String
    /// The shape.
    public var shape: [Int]
    /// Whether the tensor has a pre-trained anchor θ0 (a new head does not).
    public var anchored: Bool
    /// Elements.
    public var count: Int { shape.reduce(1, *) }

    /// A tensor spec (anchored by default).
    public init(path: String, shape: [Int], anchored: Bool = true) {
        self.path = path
        self.shape = shape
        self.anchored = anchored
    }
}

/// How a parameter count is cut into tensors: the standard layouts of graft-bench (`single`,
/// `equal100`, `mixed`), shapes given by the user, or the (path, shape) pairs of a model. The
/// layouts are written to the `graft-bench/1` JSON so `compare-pytorch.py` benchmarks PyTorch on
/// identical tensors.
public struct ParameterLayout: Codable, Sendable, Equatable {
    /// `single`, `equal100`, `mixed`, or a user-given name.
    public var name: String
    /// The nominal size (10^5, 10^6, 10^7 for the standard layouts; the parameter count otherwise).
    public var nominalSize: Int
    /// The tensors, in parameter order.
    public var tensors: [TensorSpec]
    /// Total elements (equal to the nominal size for `single` and `equal100`, within 0.1 % for `mixed`).
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    /// The standard layouts' names.
    public static let standardNames = ["single", "equal100", "mixed"]

    /// A layout from explicit tensors.
    /// - Throws: `BenchmarkError.invalidLayout` for no tensors, an empty or duplicate path, or a
    ///   shape with a dimension below 1 (named with the path and the shape).
    public init(name: String, tensors: [TensorSpec], nominalSize: Int? = nil) throws {
        guard !tensors.isEmpty else { throw BenchmarkError.invalidLayout("layout \"\(name)\" has no tensors") }
        var seen = Set<String>()
        for t in tensors {
            guard !t.path.isEmpty else { throw BenchmarkError.invalidLayout("layout \"\(name)\": a tensor has an empty path") }
            guard seen.insert(t.path).inserted else { throw BenchmarkError.invalidLayout("layout \"\(name)\": duplicate path \(t.path)") }
            guard t.shape.allSatisfy({ $0 >= 1 }) else {
                throw BenchmarkError.invalidLayout("layout \"\(name)\": tensor \(t.path) has shape \(t.shape); every dimension must be ≥ 1")
            }
        }
        self.init(unchecked: name, nominalSize: 0, tensors: tensors)
        self.nominalSize = nominalSize ?? parameterCount
    }

    /// User-given shapes, named `t.0`, `t.1`, … (all anchored).
    public init(name: String = "custom", shapes: [[Int]]) throws {
        try self.init(name: name, tensors: shapes.enumerated().map { TensorSpec(path: "t.\($0.offset)", shape: $0.element) })
    }

    /// (path, shape) pairs, e.g. from a model's parameters in one line:
    /// `ParameterLayout(name: "mlp", parameters: model.namedParameters().map { ($0.path, $0.parameter.shape) })`.
    public init(name: String, parameters: [(path: String, shape: [Int])], anchored: Bool = true) throws {
        try self.init(name: name, tensors: parameters.map { TensorSpec(path: $0.path, shape: $0.shape, anchored: anchored) })
    }

    /// The layout of existing parameters, e.g. a GraftNN model's
    /// `ParameterLayout(name: "mlp", namedParameters: model.namedParameters())` (their paths and
    /// shapes; anchored unless the parameter's anchor is `.none`; values are not copied: the
    /// benchmark generates its own).
    public init(name: String, namedParameters parameters: [NamedParameter]) throws {
        try self.init(name: name, tensors: parameters.map {
            TensorSpec(path: $0.path, shape: $0.parameter.value.shape, anchored: $0.parameter.anchor != .none)
        })
    }

    init(unchecked name: String, nominalSize: Int, tensors: [TensorSpec]) {
        self.name = name
        self.nominalSize = nominalSize
        self.tensors = tensors
    }

    /// A standard layout by name (`single`, `equal100`, `mixed`) at about `size` parameters.
    /// - Throws: `BenchmarkError.invalidLayout` for another name or a size below 1000.
    public static func standard(_ name: String, size n: Int) throws -> ParameterLayout {
        guard n >= 1000 else { throw BenchmarkError.invalidLayout("size \(n) is too small for a standard layout (at least 1000)") }
        switch name {
        case "single": return single(n)
        case "equal100": return equal(n, parts: 100)
        case "mixed": return mixed(n)
        default: throw BenchmarkError.invalidLayout("unknown layout \"\(name)\" (\(standardNames.joined(separator: ", ")))")
        }
    }

    /// One matrix `[n / 1000, 1000]` (rank 1 when 1000 does not divide n).
    public static func single(_ n: Int) -> ParameterLayout {
        let shape = n % 1000 == 0 ? [n / 1000, 1000] : [n]
        return ParameterLayout(unchecked: "single", nominalSize: n, tensors: [TensorSpec(path: "weight", shape: shape, anchored: true)])
    }

    /// `parts` equal matrices of `n / parts` elements (rows of 100 up to 10^4 elements, of 1000 above).
    public static func equal(_ n: Int, parts: Int) -> ParameterLayout {
        let m = max(1, n / max(1, parts))
        let cols = m > 10_000 ? 1000 : 100
        let shape = m % cols == 0 ? [m / cols, cols] : [m]
        let tensors = (0..<max(1, parts)).map { TensorSpec(path: "t.\($0)", shape: shape, anchored: true) }
        return ParameterLayout(unchecked: "equal100", nominalSize: n, tensors: tensors)
    }

    /// A realistic mix: L pre-norm transformer blocks of width d (two LayerNorms with weight and
    /// bias, attention `qkv [3d, d]` + bias and `out [d, d]` + bias, MLP `fc1 [4d, d]` + bias and
    /// `fc2 [d, 4d]` + bias: 12 tensors, 12d² + 13d elements per block), a token embedding
    /// `[V, d]` that takes up the remainder, and a new classification head `[10, d]` + bias
    /// without an anchor. d is the multiple of 64 nearest to sqrt(n / 72) (about six blocks),
    /// L = ⌊(n − head) / block⌋: 10^5 → d 64, L 1, V 771; 10^6 → d 128, L 5, V 57; 10^7 → d 384, L 5, V 2926.
    public static func mixed(_ n: Int) -> ParameterLayout {
        let d = max(64, Int((Double(n) / 72).squareRoot() / 64 + 0.5) * 64)
        let head = 10 * d + 10
        let block = 12 * d * d + 13 * d
        let blocks = max(1, (n - head) / block)
        var t: [TensorSpec] = []
        let vocabulary = (n - head - blocks * block) / d
        if vocabulary > 0 { t.append(TensorSpec(path: "embedding.weight", shape: [vocabulary, d], anchored: true)) }
        for b in 0..<blocks {
            let p = "blocks.\(b)."
            t += [
                TensorSpec(path: p + "norm1.weight", shape: [d], anchored: true),
                TensorSpec(path: p + "norm1.bias", shape: [d], anchored: true),
                TensorSpec(path: p + "attn.qkv.weight", shape: [3 * d, d], anchored: true),
                TensorSpec(path: p + "attn.qkv.bias", shape: [3 * d], anchored: true),
                TensorSpec(path: p + "attn.out.weight", shape: [d, d], anchored: true),
                TensorSpec(path: p + "attn.out.bias", shape: [d], anchored: true),
                TensorSpec(path: p + "norm2.weight", shape: [d], anchored: true),
                TensorSpec(path: p + "norm2.bias", shape: [d], anchored: true),
                TensorSpec(path: p + "mlp.fc1.weight", shape: [4 * d, d], anchored: true),
                TensorSpec(path: p + "mlp.fc1.bias", shape: [4 * d], anchored: true),
                TensorSpec(path: p + "mlp.fc2.weight", shape: [d, 4 * d], anchored: true),
                TensorSpec(path: p + "mlp.fc2.bias", shape: [d], anchored: true),
            ]
        }
        t.append(TensorSpec(path: "head.weight", shape: [10, d], anchored: false))
        t.append(TensorSpec(path: "head.bias", shape: [10], anchored: false))
        return ParameterLayout(unchecked: "mixed", nominalSize: n, tensors: t)
    }

    /// graft-bench's data seed for this layout: `nominalSize + name's length` (so the library and
    /// graft-bench time the same numbers).
    public var defaultSeed: UInt64 { UInt64(nominalSize) &+ UInt64(name.count) }
}
