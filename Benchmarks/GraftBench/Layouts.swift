import GraftTensor

/// One parameter tensor of a layout.
struct TensorSpec: Codable, Sendable {
    /// The dotted path.
    var path: String
    /// The shape.
    var shape: [Int]
    /// Whether the tensor has a pre-trained anchor θ0 (a new head does not).
    var anchored: Bool
    /// Elements.
    var count: Int { shape.reduce(1, *) }
}

/// How a parameter count is cut into tensors. The same layouts (names, shapes, anchors) are
/// written to the JSON so `compare-pytorch.py` benchmarks PyTorch on identical tensors.
struct Layout: Codable, Sendable {
    /// `single`, `equal100` or `mixed`.
    var name: String
    /// The nominal size (10^5, 10^6, 10^7).
    var nominalSize: Int
    /// The tensors, in parameter order.
    var tensors: [TensorSpec]
    /// Total elements (equal to the nominal size for `single` and `equal100`, within 0.1 % for `mixed`).
    var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }

    static let names = ["single", "equal100", "mixed"]

    static func make(_ name: String, size n: Int) -> Layout {
        switch name {
        case "single": return single(n)
        case "equal100": return equal(n, parts: 100)
        default: return mixed(n)
        }
    }

    /// One matrix `[n / 1000, 1000]` (rank 1 when 1000 does not divide n).
    static func single(_ n: Int) -> Layout {
        let shape = n % 1000 == 0 ? [n / 1000, 1000] : [n]
        return Layout(name: "single", nominalSize: n, tensors: [TensorSpec(path: "weight", shape: shape, anchored: true)])
    }

    /// `parts` equal matrices of `n / parts` elements (rows of 100 up to 10^4 elements, of 1000 above).
    static func equal(_ n: Int, parts: Int) -> Layout {
        let m = n / parts
        let cols = m > 10_000 ? 1000 : 100
        let shape = m % cols == 0 ? [m / cols, cols] : [m]
        let tensors = (0..<parts).map { TensorSpec(path: "t.\($0)", shape: shape, anchored: true) }
        return Layout(name: "equal100", nominalSize: n, tensors: tensors)
    }

    /// A realistic mix: L pre-norm transformer blocks of width d (two LayerNorms with weight and
    /// bias, attention `qkv [3d, d]` + bias and `out [d, d]` + bias, MLP `fc1 [4d, d]` + bias and
    /// `fc2 [d, 4d]` + bias: 12 tensors, 12d² + 13d elements per block), a token embedding
    /// `[V, d]` that takes up the remainder, and a new classification head `[10, d]` + bias
    /// without an anchor. d is the multiple of 64 nearest to sqrt(n / 72) (about six blocks),
    /// L = ⌊(n − head) / block⌋: 10^5 → d 64, L 1, V 771; 10^6 → d 128, L 5, V 57; 10^7 → d 384, L 5, V 2926.
    static func mixed(_ n: Int) -> Layout {
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
        return Layout(name: "mixed", nominalSize: n, tensors: t)
    }
}

/// The data of one layout, generated once and shared (copy on write) by every workload that
/// runs on it: values θ, K = 4 objective gradients, and anchors θ0.
///
/// Gradients are fixed for the whole benchmark (each step sees the same gradients: the
/// optimizer's work does not depend on their values, except the projection branches, whose
/// share is reported). They are finite, far from the subnormal range, and built so that
/// objectives conflict: `g_k = ±0.5 · b + n_k` with a shared `b`, the sign alternating with
/// k, and independent noise `n_k`, all uniform in [−1, 1). Anchors are `θ + 0.01 · e` for
/// anchored tensors, so `θ − θ0 ≠ 0` from the first step.
final class LayoutData {
    let layout: Layout
    let values: [Tensor]
    /// `gradients[k][p]`: objective k, tensor p.
    let gradients: [[Tensor]]
    /// θ0 for anchored tensors.
    let anchors: [Tensor?]

    static let objectives = 4

    init(_ layout: Layout, seed: UInt64) throws {
        self.layout = layout
        var g = SeededGenerator(seed: seed)
        var values: [Tensor] = [], anchors: [Tensor?] = []
        var grads = [[Tensor]](repeating: [], count: LayoutData.objectives)
        for spec in layout.tensors {
            let n = spec.count
            var v = [Float](repeating: 0, count: n), a = [Float](repeating: 0, count: n)
            var shared = [Float](repeating: 0, count: n)
            for i in 0..<n {
                v[i] = 2 * g.nextFloat() - 1
                a[i] = v[i] + 0.01 * (2 * g.nextFloat() - 1)
                shared[i] = 2 * g.nextFloat() - 1
            }
            values.append(try Tensor(shape: spec.shape, scalars: v))
            anchors.append(spec.anchored ? try Tensor(shape: spec.shape, scalars: a) : nil)
            for k in 0..<LayoutData.objectives {
                let sign: Float = k % 2 == 0 ? 0.5 : -0.5
                var gk = [Float](repeating: 0, count: n)
                for i in 0..<n { gk[i] = sign * shared[i] + (2 * g.nextFloat() - 1) }
                grads[k].append(try Tensor(shape: spec.shape, scalars: gk))
            }
        }
        self.values = values
        self.gradients = grads
        self.anchors = anchors
    }

    /// Fresh parameters (values shared copy-on-write with this data until the first step
    /// writes them) whose gradient is objective 0.
    func makeParameters() -> [NamedParameter] {
        layout.tensors.indices.map { p in
            let spec = layout.tensors[p]
            let parameter = Parameter(values[p], anchor: spec.anchored ? .initial : .none)
            parameter.gradient = gradients[0][p]
            return NamedParameter(path: spec.path, parameter: parameter)
        }
    }

    /// Explicit anchors by path (anchored tensors only).
    var anchorsByPath: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (p, spec) in layout.tensors.enumerated() { if let a = anchors[p] { out[spec.path] = a } }
        return out
    }

    /// The first `k` objectives as path → gradient dictionaries.
    func objectives(_ k: Int) -> [[String: Tensor]] {
        (0..<k).map { o in
            var d: [String: Tensor] = [:]
            for (p, spec) in layout.tensors.enumerated() { d[spec.path] = gradients[o][p] }
            return d
        }
    }
}
