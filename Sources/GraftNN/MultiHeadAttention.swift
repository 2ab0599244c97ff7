import GraftTensor

/// Multi-head scaled dot-product self-attention (Vaswani et al., 2017) on a sequence
/// `x ∈ ℝ^{T × D}` per example (input and output `[batch, tokens, width]`):
///
///     Q = x W_qᵀ + b_q,  K = x W_kᵀ + b_k,  V = x W_vᵀ + b_v      (sublayers query, key, value)
///     for each head h (columns h·d … (h+1)·d − 1 of Q, K, V, d = D / heads):
///         S_h = Q_h K_hᵀ / √d,   P_h = softmax_rows(S_h + M),   O_h = P_h V_h
///     y = [O_1 … O_H] W_oᵀ + b_o                                    (sublayer output)
///
/// `M` is 0, or with `causal` −∞ above the diagonal (token `i` attends to `j ≤ i`). The
/// softmax subtracts each row's maximum before `exp` (stable for any score size) and
/// masked entries are exactly 0. The projections are `Dense` sublayers, so parameter paths
/// read `attention.query.weight` … `attention.output.bias` (PyTorch's `q_proj`/… layout:
/// each weight is `[D, D]`), and `addLoRA(to:)` can wrap any of them.
///
/// Backward, per head, with `G_h = ∂L/∂O_h` (from the output projection's backward):
/// `∂L/∂V_h = P_hᵀ G_h`, `∂L/∂P_h = G_h V_hᵀ`, the softmax Jacobian
/// `∂L/∂S_h = P_h ⊙ (∂L/∂P_h − rowsum(∂L/∂P_h ⊙ P_h))`, then `∂L/∂Q_h = ∂L/∂S_h K_h / √d`,
/// `∂L/∂K_h = (∂L/∂S_h)ᵀ Q_h / √d`; `∂L/∂x` is the sum of the three projections' input
/// gradients. Every product is one `sgemm` on strided slices of the `[T, D]` matrices (no
/// per-head copies); the probabilities `P` (`batch · heads · T²` floats) are kept for backward.
public final class MultiHeadAttention: Layer {
    /// `D`, the token width.
    public let width: Int
    /// `H`, the number of heads (`D` is a multiple of it).
    public let heads: Int
    /// Whether token `i` attends only to tokens `j ≤ i`.
    public let causal: Bool
    /// `d = D / H`.
    public var headWidth: Int { width / heads }
    /// The query projection (a `Dense(D, D)`, or the `LoRA` around it after `addLoRA`).
    public private(set) var query: any Layer
    /// The key projection.
    public private(set) var key: any Layer
    /// The value projection.
    public private(set) var value: any Layer
    /// The output projection applied to the concatenated heads.
    public private(set) var output: any Layer

    private var q = Tensor(zeros: [0, 0, 0]), k = Tensor(zeros: [0, 0, 0]), v = Tensor(zeros: [0, 0, 0])
    private var probabilities = Tensor(zeros: [0])
    private var context = Tensor(zeros: [0, 0, 0])
    private var scoreGradient = Tensor(zeros: [0])
    private var queryGradient = Tensor(zeros: [0, 0, 0]), keyGradient = Tensor(zeros: [0, 0, 0])
    private var valueGradient = Tensor(zeros: [0, 0, 0])
    private var inputGradient = Tensor(zeros: [0, 0, 0])
    private var shape = (batch: 0, tokens: 0)
    /// The shape of the last output, `[batch, tokens, width]` (`nil` before the first `forward`).
    private var lastOutputShape: [Int]?

    /// Self-attention over `width`-wide tokens with `heads` heads; the four projections are
    /// `Dense(width, width)` initialised like PyTorch's `nn.Linear` from one generator seeded
    /// with `seed` (query, key, value, output in that order).
    /// - Throws: `LayerError.invalidSize` unless `width` and `heads` are positive and `heads`
    ///   divides `width`.
    public init(width: Int, heads: Int, causal: Bool = false, seed: UInt64) throws {
        guard width > 0 else { throw LayerError.invalidSize(layer: "MultiHeadAttention", argument: "width", value: width, expected: "> 0") }
        guard heads > 0, width % heads == 0 else {
            throw LayerError.invalidSize(layer: "MultiHeadAttention", argument: "heads", value: heads, expected: "a positive divisor of width \(width)")
        }
        var generator = SeededGenerator(seed: seed)
        self.width = width
        self.heads = heads
        self.causal = causal
        self.query = try Dense(width, width, generator: &generator)
        self.key = try Dense(width, width, generator: &generator)
        self.value = try Dense(width, width, generator: &generator)
        self.output = try Dense(width, width, generator: &generator)
    }

    /// Attention of every token of every sequence over its sequence.
    public func forward(_ x: Tensor) throws -> Tensor {
        let (batch, t) = try Workspace.sequenceShape(of: x, width: width, layer: "MultiHeadAttention")
        shape = (batch, t)
        lastOutputShape = nil  // set again once this pass has succeeded
        Workspace.copy(try query.forward(x), into: &q)
        Workspace.copy(try key.forward(x), into: &k)
        Workspace.copy(try value.forward(x), into: &v)
        Workspace.prepare(&probabilities, count: batch * heads * t * t)
        Workspace.prepare(&context, shape: x.shape)
        let (d, dh, h) = (width, headWidth, heads)
        let scale = 1 / Float(dh).squareRoot()
        let causal = self.causal
        q.withUnsafeBufferPointer { qb in
            k.withUnsafeBufferPointer { kb in
                v.withUnsafeBufferPointer { vb in
                    probabilities.withUnsafeMutableBufferPointer { pb in
                        context.withUnsafeMutableBufferPointer { cb in
                            for b in 0..<batch {
                                for head in 0..<h {
                                    let offset = b * t * d + head * dh
                                    let p = pb.baseAddress! + (b * h + head) * t * t
                                    BLAS.gemm(transposeA: false, transposeB: true, m: t, n: t, k: dh, alpha: scale,
                                              a: qb.baseAddress! + offset, lda: d, b: kb.baseAddress! + offset, ldb: d,
                                              beta: 0, c: p, ldc: t)
                                    Softmax.rows(p, rows: t, columns: t, causal: causal)
                                    BLAS.gemm(transposeA: false, transposeB: false, m: t, n: dh, k: t, alpha: 1,
                                              a: p, lda: t, b: vb.baseAddress! + offset, ldb: d,
                                              beta: 0, c: cb.baseAddress! + offset, ldc: d)
                                }
                            }
                        }
                    }
                }
            }
        }
        let y = try output.forward(context)
        lastOutputShape = y.shape
        return y
    }

    /// Accumulates the projections' parameter gradients and returns `∂L/∂x` (see the type's notes).
    public func backward(_ g: Tensor) throws -> Tensor {
        guard let lastOutputShape else { throw LayerError.backwardBeforeForward(layer: "MultiHeadAttention") }
        guard g.shape == lastOutputShape else {
            throw LayerError.gradientShapeMismatch(layer: "MultiHeadAttention", expected: lastOutputShape, actual: g.shape)
        }
        let contextGradient = try output.backward(g)
        let (batch, t) = shape
        let (d, dh, h) = (width, headWidth, heads)
        checkPrecondition(contextGradient.shape == [batch, t, d],
                          "MultiHeadAttention: the output projection returned \(contextGradient.shape), expected \([batch, t, d])")
        let scale = 1 / Float(dh).squareRoot()
        Workspace.prepare(&scoreGradient, count: t * t)
        Workspace.prepare(&queryGradient, shape: [batch, t, d])
        Workspace.prepare(&keyGradient, shape: [batch, t, d])
        Workspace.prepare(&valueGradient, shape: [batch, t, d])
        contextGradient.withUnsafeBufferPointer { gb in
            q.withUnsafeBufferPointer { qb in
                k.withUnsafeBufferPointer { kb in
                    v.withUnsafeBufferPointer { vb in
                        probabilities.withUnsafeBufferPointer { pb in
                            scoreGradient.withUnsafeMutableBufferPointer { sb in
                                queryGradient.withUnsafeMutableBufferPointer { dqb in
                                    keyGradient.withUnsafeMutableBufferPointer { dkb in
                                        valueGradient.withUnsafeMutableBufferPointer { dvb in
                                            let ds = sb.baseAddress!
                                            for b in 0..<batch {
                                                for head in 0..<h {
                                                    let offset = b * t * d + head * dh
                                                    let p = pb.baseAddress! + (b * h + head) * t * t
                                                    let go = gb.baseAddress! + offset
                                                    // dV_h = Pᵀ G
                                                    BLAS.gemm(transposeA: true, transposeB: false, m: t, n: dh, k: t, alpha: 1,
                                                              a: p, lda: t, b: go, ldb: d, beta: 0, c: dvb.baseAddress! + offset, ldc: d)
                                                    // dP = G Vᵀ
                                                    BLAS.gemm(transposeA: false, transposeB: true, m: t, n: t, k: dh, alpha: 1,
                                                              a: go, lda: d, b: vb.baseAddress! + offset, ldb: d, beta: 0, c: ds, ldc: t)
                                                    Softmax.backwardRows(probabilities: p, gradient: ds, rows: t, columns: t)
                                                    // dQ = dS K / √d,  dK = dSᵀ Q / √d
                                                    BLAS.gemm(transposeA: false, transposeB: false, m: t, n: dh, k: t, alpha: scale,
                                                              a: ds, lda: t, b: kb.baseAddress! + offset, ldb: d,
                                                              beta: 0, c: dqb.baseAddress! + offset, ldc: d)
                                                    BLAS.gemm(transposeA: true, transposeB: false, m: t, n: dh, k: t, alpha: scale,
                                                              a: ds, lda: t, b: qb.baseAddress! + offset, ldb: d,
                                                              beta: 0, c: dkb.baseAddress! + offset, ldc: d)
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Workspace.copy(try query.backward(queryGradient), into: &inputGradient)
        Accumulate.add(try key.backward(keyGradient), into: &inputGradient)
        Accumulate.add(try value.backward(valueGradient), into: &inputGradient)
        return inputGradient
    }

    /// `"query"`, `"key"`, `"value"`, `"output"`.
    public func forEachSublayer(_ body: (_ name: String, _ layer: any Layer) -> Void) {
        body("query", query)
        body("key", key)
        body("value", value)
        body("output", output)
    }

    /// Replaces one of the four projections (by `addLoRA`).
    public func replaceSublayer(named name: String, with layer: any Layer) -> Bool {
        switch name {
        case "query": query = layer
        case "key": key = layer
        case "value": value = layer
        case "output": output = layer
        default: return false
        }
        return true
    }
}

/// Row softmax and its backward pass, in place, for attention scores.
enum Softmax {
    /// `p[i, j] = exp(s[i, j] − m_i) / Σ_j exp(s[i, j] − m_i)` with `m_i = max_j s[i, j]`;
    /// with `causal`, entries `j > i` are masked (set to exactly 0, excluded from the max and sum).
    static func rows(_ s: UnsafeMutablePointer<Float>, rows: Int, columns: Int, causal: Bool) {
        for i in 0..<rows {
            let row = s + i * columns
            let limit = causal ? Swift.min(i + 1, columns) : columns
            var m = -Float.infinity
            for j in 0..<limit { m = Swift.max(m, row[j]) }
            var sum: Float = 0
            for j in 0..<limit {
                let e = expFloat(row[j] - m)
                row[j] = e
                sum += e
            }
            let inverse = 1 / sum
            for j in 0..<limit { row[j] *= inverse }
            for j in limit..<columns { row[j] = 0 }
        }
    }

    /// Turns `g = ∂L/∂P` into `∂L/∂S = P ⊙ (g − rowsum(g ⊙ P))`, in place.
    static func backwardRows(probabilities p: UnsafePointer<Float>, gradient g: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for i in 0..<rows {
            let pr = p + i * columns, gr = g + i * columns
            var dot: Float = 0
            for j in 0..<columns { dot += gr[j] * pr[j] }
            for j in 0..<columns { gr[j] = pr[j] * (gr[j] - dot) }
        }
    }
}

/// In-place accumulation of tensors of equal shape.
enum Accumulate {
    /// `sum += addend`.
    static func add(_ addend: Tensor, into sum: inout Tensor) {
        checkPrecondition(addend.shape == sum.shape, "gradient \(addend.shape) does not match \(sum.shape)")
        addend.withUnsafeBufferPointer { ab in
            sum.withUnsafeMutableBufferPointer { sb in
                for i in 0..<ab.count { sb[i] += ab[i] }
            }
        }
    }
}
