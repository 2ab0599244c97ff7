import GraftTensor

/// Layers applied in order: `y = f_n(… f_2(f_1(x)))`, built with `SequentialBuilder`:
///
///     let model = try Sequential {
///         try Sequential("body") {
///             try Dense(4, 16, seed: 1)
///             ReLU()
///         }
///         try Dense(16, 3, seed: 2).named("head")
///     }
///     // paths: body.0.weight, body.0.bias, head.weight, head.bias
///
/// Each child gets a path segment: its explicit name, or else its position among the
/// children (counting parameterless layers too, like PyTorch). A `Sequential`'s own `name`
/// is the segment its parent uses for it; the model you call `namedParameters()` on adds no
/// segment. Backward runs the children's backward passes in reverse order (the chain rule).
/// Paths depend only on the structure, so they are the same in every run.
public final class Sequential: Layer {
    /// The path segment a parent `Sequential` uses for this one (`nil`: its index).
    public let name: String?
    /// The children with their resolved path segments, in application order (changed only
    /// by `replaceSublayer(named:with:)`, which keeps the segment).
    public private(set) var children: [(name: String, layer: any Layer)]

    /// A sequence of the layers `content` builds (see `SequentialBuilder`).
    /// - Throws: what `content` throws (layer configuration errors), `LayerError.invalidName`
    ///   for an empty name or one containing `"."`, `LayerError.duplicateName` when two children
    ///   resolve to the same segment, `LayerError.repeatedLayer` when one layer object appears
    ///   twice in the tree.
    public convenience init(_ name: String? = nil, @SequentialBuilder _ content: () throws -> [NamedLayer]) throws {
        try self.init(name, layers: content())
    }

    /// A sequence of `layers` (unnamed ones are numbered by position).
    /// - Throws: as `init(_:_:)`.
    public init(_ name: String? = nil, layers: [NamedLayer]) throws {
        if let name { try Sequential.validate(name) }
        var resolved: [(name: String, layer: any Layer)] = []
        var seen = Set<String>()
        for (index, entry) in layers.enumerated() {
            let segment = entry.name ?? String(index)
            try Sequential.validate(segment)
            guard seen.insert(segment).inserted else { throw LayerError.duplicateName(segment) }
            resolved.append((segment, entry.layer))
        }
        self.name = name
        self.children = resolved
        // One layer object used twice would overwrite its own cached activations.
        var identities = Set<ObjectIdentifier>()
        var repeated: String? = nil
        func visit(_ layer: any Layer, path: String) {
            if !identities.insert(ObjectIdentifier(layer)).inserted, repeated == nil { repeated = path }
            layer.forEachSublayer { name, child in visit(child, path: path.isEmpty ? name : path + "." + name) }
        }
        visit(self, path: "")
        if let repeated { throw LayerError.repeatedLayer(path: repeated) }
    }

    private static func validate(_ segment: String) throws {
        guard !segment.isEmpty, !segment.contains(".") else { throw LayerError.invalidName(segment) }
    }

    /// The child with path segment `name`, if any.
    public subscript(name: String) -> (any Layer)? {
        children.first { $0.name == name }?.layer
    }

    /// The child at `index` (application order). An index outside `0..<children.count` stops
    /// the program with a message in every build configuration (`self[name]` returns `nil`
    /// instead).
    public subscript(index: Int) -> any Layer {
        checkPrecondition(children.indices.contains(index), "Sequential: child index \(index) out of range 0..<\(children.count)")
        return children[index].layer
    }

    /// `f_n(… f_1(x))` (the input itself when there are no children).
    public func forward(_ x: Tensor) throws -> Tensor {
        var h = x
        for child in children { h = try child.layer.forward(h) }
        return h
    }

    /// The children's backward passes from last to first.
    public func backward(_ g: Tensor) throws -> Tensor {
        var d = g
        for child in children.reversed() { d = try child.layer.backward(d) }
        return d
    }

    /// The children's backward passes from last to first; the first child only accumulates
    /// its parameter gradients (no input gradient is computed for the model's input).
    public func accumulateParameterGradients(_ g: Tensor) throws {
        guard let first = children.first else { return }
        var d = g
        for child in children.dropFirst().reversed() { d = try child.layer.backward(d) }
        try first.layer.accumulateParameterGradients(d)
    }

    /// Replaces the child with segment `name` (keeping the segment); `false` if there is none.
    public func replaceSublayer(named name: String, with layer: any Layer) -> Bool {
        guard let i = children.firstIndex(where: { $0.name == name }) else { return false }
        children[i].layer = layer
        return true
    }

    /// The children, in order, with their segments.
    public func forEachSublayer(_ body: (_ name: String, _ layer: any Layer) -> Void) {
        for child in children { body(child.name, child.layer) }
    }
}
