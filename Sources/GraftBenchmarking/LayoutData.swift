import GraftOptim
import GraftTensor

/// The data of one layout, generated once and shared (copy on write) by every benchmark that
/// runs on it: values θ, K = 4 objective gradients, and anchors θ0.
///
/// Gradients are fixed for the whole benchmark (each step sees the same gradients: an
/// optimizer's work does not depend on their values, except projection branches). They are
/// finite, far from the subnormal range, and built so that objectives conflict:
/// `g_k = ±0.5 · b + n_k` with a shared `b`, the sign alternating with k, and independent noise
/// `n_k`, all uniform in [−1, 1). Anchors are `θ + 0.01 · e` for anchored tensors, so
/// `θ − θ0 ≠ 0` from the first step.
public final class LayoutData {
    /// The layout the data is for.
    public let layout: ParameterLayout
    /// θ per tensor.
    public let values: [Tensor]
    /// `gradients[k][p]`: objective k, tensor p.
    public let gradients: [[Tensor]]
    /// θ0 for anchored tensors.
    public let anchors: [Tensor?]

    /// Objectives generated per layout.
    public static let objectives = 4

    /// Generates the data of `layout` from `seed` (the same seed gives the same numbers).
    public init(_ layout: ParameterLayout, seed: UInt64) throws {
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
    public func makeParameters() -> [NamedParameter] {
        layout.tensors.indices.map { p in
            let spec = layout.tensors[p]
            let parameter = Parameter(values[p], anchor: spec.anchored ? .initial : .none)
            parameter.gradient = gradients[0][p]
            return NamedParameter(path: spec.path, parameter: parameter)
        }
    }

    /// Explicit anchors by path (anchored tensors only).
    public var anchorsByPath: [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (p, spec) in layout.tensors.enumerated() { if let a = anchors[p] { out[spec.path] = a } }
        return out
    }

    /// The first `k` objectives (1 ≤ k ≤ 4) as path → gradient dictionaries.
    public func objectives(_ k: Int) -> [[String: Tensor]] {
        (0..<min(k, LayoutData.objectives)).map { o in
            var d: [String: Tensor] = [:]
            for (p, spec) in layout.tensors.enumerated() { d[spec.path] = gradients[o][p] }
            return d
        }
    }
}
