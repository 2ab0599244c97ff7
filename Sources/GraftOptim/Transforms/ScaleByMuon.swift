#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftTensor

/// Muon (Jordan et al., 2024, "Muon: An optimizer for hidden layers in neural networks") as
/// `torch.optim.Muon` for matrices, with an AdamW fallback for every other tensor (as the
/// reference `MuonWithAuxAdam` does), decoupled weight decay λ included:
///
/// - rank 2 (`A × B`): `b ← b + (1 − μ)(g − b)`; `v = g + μ (b − g)` (Nesterov) or `b`;
///   `X = v / max(‖v‖_F, ε)` (transposed when A > B), then k Newton–Schulz steps
///   `S = X Xᵀ`, `X ← a X + (b_ns S + c S S) X` (OpenBLAS `sgemm`); `u ← sqrt(max(1, A/B)) X + λ θ`.
/// - any other rank: Adam's moments (PyTorch's ε placement) and `u ← s (m̂ / (sqrt(v̂) + ε) + λ θ)`,
///   with s = `fallbackScale` (the fallback's learning rate over Muon's).
///
/// Follow it with `ScaleByLearningRate(α)`: matrices get `θ ← θ (1 − αλ) − α sqrt(max(1, A/B)) X`
/// (torch.optim.Muon's update with `adjust_lr_fn = "original"`), the rest AdamW at rate α·s.
/// PyTorch orthogonalises in bfloat16; this runs in float32. State: `momentum_buffer` (4 B per
/// element) for matrices, `m`, `v` (8 B) for the rest; the Newton–Schulz scratch is allocated per
/// tensor per step (3 small matrices).
public struct ScaleByMuon: TensorTransform {
    /// A copy of one parameter's state (for inspection): the momentum buffer of a matrix, or
    /// the fallback's Adam moments.
    public struct TensorState: Sendable, Equatable {
        /// The momentum buffer b (matrices only).
        public var momentumBuffer: Tensor?
        /// The fallback's first moment m (other ranks only).
        public var m: Tensor?
        /// The fallback's second moment v (other ranks only).
        public var v: Tensor?
    }

    /// μ, the momentum (0.95).
    public let momentum: Float
    /// Whether the Nesterov form is orthogonalised.
    public let nesterov: Bool
    /// k, the Newton–Schulz steps (5).
    public let steps: Int
    /// (a, b, c), the Newton–Schulz coefficients (3.4445, −4.7750, 2.0315).
    public let coefficients: (Float, Float, Float)
    /// ε, the smallest norm divided by (1e-7).
    public let epsilon: Float
    /// λ, decoupled weight decay of every tensor (torch.optim.Muon's 0.1).
    public let weightDecay: Float
    /// The fallback's β1, β2, ε (Adam's defaults).
    public let fallbackBetas: (Float, Float)
    /// The fallback's ε.
    public let fallbackEpsilon: Float
    /// s: the fallback's learning rate as a multiple of Muon's.
    public let fallbackScale: Float

    /// - Throws: unless μ ≥ 0, 1 ≤ k < 100, ε > 0, λ ≥ 0, the fallback betas in [0, 1), its ε > 0
    ///   and s ≥ 0 (and every coefficient finite).
    public init(momentum: Float = 0.95, nesterov: Bool = true, steps: Int = 5,
                coefficients: (Float, Float, Float) = (3.4445, -4.7750, 2.0315), epsilon: Float = 1e-7,
                weightDecay: Float = 0.1, fallbackBetas: (Float, Float) = (0.9, 0.999), fallbackEpsilon: Float = 1e-8,
                fallbackScale: Float = 1) throws {
        try Check.nonNegative("momentum", momentum)
        try Check.positiveInt("ns_steps", steps)
        if steps >= 100 { throw OptimizerError.invalidHyperparameter(key: "ns_steps", value: "\(steps)", allowed: "1 ..< 100") }
        try Check.finite("ns_coefficients[0]", coefficients.0)
        try Check.finite("ns_coefficients[1]", coefficients.1)
        try Check.finite("ns_coefficients[2]", coefficients.2)
        try Check.positive("eps", epsilon)
        try Check.nonNegative("weight_decay", weightDecay)
        try Check.beta("adam_betas[0]", fallbackBetas.0)
        try Check.beta("adam_betas[1]", fallbackBetas.1)
        try Check.positive("adam_eps", fallbackEpsilon)
        try Check.nonNegative("adam_lr_scale", fallbackScale)
        self.momentum = momentum
        self.nesterov = nesterov
        self.steps = steps
        self.coefficients = coefficients
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.fallbackBetas = fallbackBetas
        self.fallbackEpsilon = fallbackEpsilon
        self.fallbackScale = fallbackScale
    }

    public var kind: String { "scale_by_muon" }
    public var configuration: [String: String] { ["nesterov": "\(nesterov)", "ns_steps": "\(steps)"] }

    public func stateLayout(for parameter: ParameterInfo) -> StateLayout {
        parameter.rank == 2 ? .perElement(["momentum_buffer"], of: parameter) : .perElement(["m", "v"], of: parameter)
    }

    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        parameter.rank == 2
            ? TensorState(momentumBuffer: state.copyTensor(0, shape: parameter.shape), m: nil, v: nil)
            : TensorState(momentumBuffer: nil, m: state.copyTensor(0, shape: parameter.shape), v: state.copyTensor(1, shape: parameter.shape))
    }

    public func update(_ slot: TensorSlot, state: StateView, step: StepInfo) {
        guard slot.count > 0 else { return }
        if slot.info.rank == 2 { orthogonalised(slot, state: state) } else { fallback(slot, state: state, step: step.step) }
    }

    /// The fallback: AdamW's direction, scaled by s.
    func fallback(_ slot: TensorSlot, state: StateView, step t: Int) {
        let (b1, b2) = fallbackBetas
        let invBC1 = Float(1 / (1 - pow(Double(b1), Double(t))))
        let invSqrtBC2 = Float(1 / (1 - pow(Double(b2), Double(t))).squareRoot())
        let m = state.tensor(0), v = state.tensor(1), u = slot.update, theta = slot.value
        let eps = fallbackEpsilon, wd = weightDecay, s = fallbackScale
        for i in 0..<slot.count {
            let g = u[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            u[i] = s * ((m[i] * invBC1) / (v[i].squareRoot() * invSqrtBC2 + eps) + wd * theta[i])
        }
    }

    /// Momentum, Newton–Schulz orthogonalisation and the shape scaling of one matrix.
    func orthogonalised(_ slot: TensorSlot, state: StateView) {
        let rows = slot.info.shape[0], cols = slot.info.shape[1], count = slot.count
        let buffer = state.tensor(0), u = slot.update
        // v = the momentum (Nesterov) direction, written into u.
        var normSq = 0.0
        for i in 0..<count {
            let g = u[i]
            let b = buffer[i] + (1 - momentum) * (g - buffer[i])
            buffer[i] = b
            let v = nesterov ? g + momentum * (b - g) : b
            u[i] = v
            normSq += Double(v) * Double(v)
        }
        // X (n × m, n ≤ m): v itself, or its transpose when rows > cols.
        let transpose = rows > cols
        let n = min(rows, cols), m = max(rows, cols)
        let scale = 1 / max(Float(normSq.squareRoot()), epsilon)
        var x = [Float](repeating: 0, count: count)
        for r in 0..<rows {
            for c in 0..<cols {
                x[transpose ? c * rows + r : r * cols + c] = u[r * cols + c] * scale
            }
        }
        var gram = [Float](repeating: 0, count: n * n), poly = [Float](repeating: 0, count: n * n)
        var next = [Float](repeating: 0, count: count)
        let (a, b, c) = coefficients
        for _ in 0..<steps {
            x.withUnsafeBufferPointer { xp in
                gram.withUnsafeMutableBufferPointer { gp in
                    // S = X Xᵀ
                    BLAS.gemm(transposeA: false, transposeB: true, m: n, n: n, k: m, alpha: 1, a: xp.baseAddress!,
                              b: xp.baseAddress!, beta: 0, c: gp.baseAddress!)
                }
                poly.withUnsafeMutableBufferPointer { pp in
                    // P = b S + c S S
                    for i in 0..<(n * n) { pp[i] = b * gram[i] }
                    gram.withUnsafeBufferPointer { gp in
                        BLAS.gemm(transposeA: false, transposeB: false, m: n, n: n, k: n, alpha: c, a: gp.baseAddress!,
                                  b: gp.baseAddress!, beta: 1, c: pp.baseAddress!)
                    }
                }
                next.withUnsafeMutableBufferPointer { np in
                    // X' = a X + P X
                    for i in 0..<count { np[i] = a * xp[i] }
                    poly.withUnsafeBufferPointer { pp in
                        BLAS.gemm(transposeA: false, transposeB: false, m: n, n: m, k: n, alpha: 1, a: pp.baseAddress!,
                                  b: xp.baseAddress!, beta: 1, c: np.baseAddress!)
                    }
                }
            }
            swap(&x, &next)
        }
        let adjust = Float(max(1, Double(rows) / Double(cols)).squareRoot())
        let theta = slot.value, wd = weightDecay
        for r in 0..<rows {
            for c in 0..<cols {
                let i = r * cols + c
                u[i] = adjust * x[transpose ? c * rows + r : i] + wd * theta[i]
            }
        }
    }
}
