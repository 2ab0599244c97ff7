import GraftTensor

/// LoRA on any `Dense` of a model by path, as PEFT's `target_modules` does: adapters on a
/// transformer's attention projections are `addLoRA(to: ["blocks.*.attention.query",
/// "blocks.*.attention.value"], …)`.
extension Layer {
    /// Replaces every `Dense` whose path matches one of `patterns` by a `LoRA` around it
    /// (rank `rank`, scale `alpha / rank`, its `A` factors drawn in path order from one
    /// generator seeded with `seed`) and returns the adapted paths in traversal order.
    ///
    /// A pattern is a dotted layer path in which a `*` segment matches any one segment
    /// (`"blocks.*.attention.query"`). Each adapted `Dense` is frozen (see `LoRA`); the rest
    /// of the model is left as it is (call `freeze()` first for PEFT's setting, where only the
    /// adapters and the head train). Parameter paths become `….query.weight`,
    /// `….query.bias`, `….query.lora_a`, `….query.lora_b`, so the plain model's weights still
    /// load (`load(_:strict: false)`).
    /// - Throws: `LayerError.noLayerAtPath` when a pattern matches no layer,
    ///   `LayerError.notDense` when it matches a layer that is not a `Dense` (an already
    ///   adapted `LoRA`, an activation), and `LoRA`'s errors for `rank` / `alpha`. Nothing
    ///   changes when it throws.
    @discardableResult
    public func addLoRA(to patterns: [String], rank: Int, alpha: Float, seed: UInt64) throws -> [String] {
        var targets: [(parent: any Layer, segment: String, path: String, dense: Dense)] = []
        var matched = Set<String>()
        var notDense: (path: String, type: String)?
        func visit(_ layer: any Layer, prefix: String) {
            layer.forEachSublayer { segment, child in
                let path = prefix.isEmpty ? segment : prefix + "." + segment
                if let pattern = patterns.first(where: { Self.path(path, matches: $0) }) {
                    matched.insert(pattern)
                    if let dense = child as? Dense {
                        targets.append((layer, segment, path, dense))
                    } else if notDense == nil {
                        notDense = (path, String(describing: type(of: child)))
                    }
                }
                visit(child, prefix: path)
            }
        }
        visit(self, prefix: "")
        if let notDense { throw LayerError.notDense(path: notDense.path, type: notDense.type) }
        if let missing = patterns.first(where: { !matched.contains($0) }) { throw LayerError.noLayerAtPath(missing) }
        var generator = SeededGenerator(seed: seed)
        let adapters = try targets.map { try LoRA($0.dense, rank: rank, alpha: alpha, generator: &generator) }
        for (t, adapter) in zip(targets, adapters) {
            let replaced = t.parent.replaceSublayer(named: t.segment, with: adapter)
            checkPrecondition(replaced, "addLoRA: \(type(of: t.parent)) listed \(t.segment) but did not replace it")
        }
        return targets.map(\.path)
    }

    /// Whether the dotted `path` matches `pattern` segment by segment (`*` matches any one).
    static func path(_ path: String, matches pattern: String) -> Bool {
        let p = path.split(separator: ".", omittingEmptySubsequences: false)
        let q = pattern.split(separator: ".", omittingEmptySubsequences: false)
        guard p.count == q.count else { return false }
        return zip(p, q).allSatisfy { $1 == "*" || $0 == $1 }
    }
}

extension Layer {
    /// Replaces every `LoRA` in the tree by its `merged()` `Dense` (weight `W + s B A`), in
    /// place, and returns the merged paths: the adapted model becomes a plain one with the
    /// same function (up to float rounding) and no adapter overhead.
    @discardableResult
    public func mergeLoRA() -> [String] {
        var merged: [String] = []
        func visit(_ layer: any Layer, prefix: String) {
            var replacements: [(String, Dense)] = []
            layer.forEachSublayer { segment, child in
                let path = prefix.isEmpty ? segment : prefix + "." + segment
                if let adapter = child as? LoRA {
                    replacements.append((segment, adapter.merged()))
                    merged.append(path)
                } else {
                    visit(child, prefix: path)
                }
            }
            for (segment, dense) in replacements {
                let replaced = layer.replaceSublayer(named: segment, with: dense)
                checkPrecondition(replaced, "mergeLoRA: \(type(of: layer)) listed \(segment) but did not replace it")
            }
        }
        visit(self, prefix: "")
        return merged
    }
}
