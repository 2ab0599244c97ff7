#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GraftTensor

/// Adafactor (Shazeer & Stern, ICML 2018) exactly as `torch.optim.Adafactor`: factored second
/// moments for tensors of rank ≥ 2 (a row and a column average per trailing matrix), relative
/// step sizes and update clipping. At step t with learning rate α (schedule × step scale):
/// `β̂ = t^c` (c = `beta2_decay`, −0.8), `ρ = min(α, 1/√t)`, `a = max(ε2, RMS(θ)) ρ`;
/// rank ≥ 2 (`… × R × C`): `r ← r + β̂ (mean_j g² − r)`, `s ← s + β̂ (mean_i g² − s)`,
/// `V = r sᵀ / max(mean(r), ε1)`; rank ≤ 1: `V ← V + β̂ (g² − V)`;
/// `q = g / sqrt(max(V, ε1²))`, `D = max(1, RMS(q) / d)`, and
/// `u ← (a / α) q / D + λ θ`, so that `ScaleByLearningRate(α)` after it gives PyTorch's
/// `θ ← θ (1 − αλ) − (a / D) q`. A per-tensor (unfused) member: it needs column sums and
/// two tensor norms.
///
/// State per parameter: `row_var` (shape without the last dimension) and `col_var` (without
/// the second-to-last) for rank ≥ 2 — O(R + C) per matrix instead of O(RC) — else `variance`.
public struct ScaleByAdafactor: TensorTransform {
    /// A copy of one parameter's second-moment statistics (for inspection).
    public struct TensorState: Sendable, Equatable {
        /// The row averages r (rank ≥ 2).
        public var rowVariance: Tensor?
        /// The column averages s (rank ≥ 2).
        public var columnVariance: Tensor?
        /// The unfactored V (rank ≤ 1).
        public var variance: Tensor?
    }

    /// α, the learning rate (the same schedule as the `ScaleByLearningRate` after it).
    public let learningRate: Schedule
    /// c, the exponent of the second-moment weight `t^c` (−0.8).
    public let beta2Decay: Float
    /// ε1, the floor of the variance estimate's root (float32's machine epsilon).
    public let epsilon1: Float
    /// ε2, the floor of RMS(θ) in the relative step (1e-3).
    public let epsilon2: Float
    /// d, the update clipping threshold (1).
    public let clipThreshold: Float
    /// λ, decoupled weight decay.
    public let weightDecay: Float

    /// - Throws: unless c ≤ 0, ε1, ε2 ≥ 0, d ≥ 1, λ ≥ 0 (PyTorch's checks).
    public init(learningRate: Schedule, beta2Decay: Float = -0.8, epsilon1: Float = Float.ulpOfOne, epsilon2: Float = 1e-3,
                clipThreshold: Float = 1, weightDecay: Float = 0) throws {
        try Check.finite("beta2_decay", beta2Decay)
        if beta2Decay > 0 {
            throw OptimizerError.invalidHyperparameter(key: "beta2_decay", value: "\(beta2Decay)", allowed: "≤ 0")
        }
        try Check.nonNegative("eps1", epsilon1)
        try Check.nonNegative("eps2", epsilon2)
        if !(clipThreshold >= 1 && clipThreshold.isFinite) {
            throw OptimizerError.invalidHyperparameter(key: "d", value: "\(clipThreshold)", allowed: "a finite number ≥ 1 (PyTorch's check)")
        }
        try Check.nonNegative("weight_decay", weightDecay)
        self.learningRate = learningRate
        self.beta2Decay = beta2Decay
        self.epsilon1 = epsilon1
        self.epsilon2 = epsilon2
        self.clipThreshold = clipThreshold
        self.weightDecay = weightDecay
    }

    public var kind: String { "scale_by_adafactor" }

    public func stateLayout(for parameter: ParameterInfo) -> StateLayout {
        let s = parameter.shape
        guard s.count >= 2 else { return .perElement(["variance"], of: parameter) }
        var col = s
        col.remove(at: s.count - 2)
        return StateLayout(tensors: [.init(name: "row_var", shape: Array(s.dropLast())), .init(name: "col_var", shape: col)])
    }

    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        let layout = stateLayout(for: parameter)
        if layout.tensors.count == 2 {
            return TensorState(rowVariance: state.copyTensor(0, shape: layout.tensors[0].shape),
                               columnVariance: state.copyTensor(1, shape: layout.tensors[1].shape), variance: nil)
        }
        return TensorState(rowVariance: nil, columnVariance: nil, variance: state.copyTensor(0, shape: parameter.shape))
    }

    public func update(_ slot: TensorSlot, state: StateView, step: StepInfo) {
        let n = slot.count
        guard n > 0 else { return }
        let u = slot.update, theta = slot.value
        let t = Double(step.step)
        let lr = Double(learningRate.value(at: step.step)) * Double(step.learningRateScale)
        guard lr > 0 else {
            for i in 0..<n { u[i] = 0 }
            return
        }
        let weight = Float(pow(t, Double(beta2Decay)))
        var thetaSq = 0.0
        for i in 0..<n { thetaSq += Double(theta[i]) * Double(theta[i]) }
        let rho = min(lr, 1 / t.squareRoot())
        let a = max(Double(epsilon2), (thetaSq / Double(n)).squareRoot()) * rho
        let floor = epsilon1 * epsilon1
        // q = g / sqrt(max(V, ε1²)) written into u.
        let shape = slot.info.shape
        if shape.count >= 2 {
            let cols = shape[shape.count - 1], rows = shape[shape.count - 2]
            let batches = n / (rows * cols)
            let rowVar = state.tensor(0), colVar = state.tensor(1)
            var colSums = [Double](repeating: 0, count: cols)
            for b in 0..<batches {
                let base = b * rows * cols
                for j in 0..<cols { colSums[j] = 0 }
                var rowMean = 0.0
                for r in 0..<rows {
                    var sum = 0.0
                    for j in 0..<cols {
                        let g = Double(u[base + r * cols + j])
                        sum += g * g
                        colSums[j] += g * g
                    }
                    let k = b * rows + r
                    rowVar[k] += weight * (Float(sum / Double(cols)) - rowVar[k])
                    rowMean += Double(rowVar[k])
                }
                for j in 0..<cols {
                    let k = b * cols + j
                    colVar[k] += weight * (Float(colSums[j] / Double(rows)) - colVar[k])
                }
                let meanRow = max(Float(rowMean / Double(rows)), epsilon1)
                for r in 0..<rows {
                    let rv = rowVar[b * rows + r]
                    for j in 0..<cols {
                        let i = base + r * cols + j
                        let v = max(rv * colVar[b * cols + j] / meanRow, floor)
                        u[i] = u[i] / v.squareRoot()
                    }
                }
            }
        } else {
            let variance = state.tensor(0)
            for i in 0..<n {
                let g = u[i]
                variance[i] += weight * (g * g - variance[i])
                u[i] = g / max(variance[i], floor).squareRoot()
            }
        }
        var qSq = 0.0
        for i in 0..<n { qSq += Double(u[i]) * Double(u[i]) }
        let denominator = max(1, qSq.squareRoot() / (Double(n).squareRoot() * Double(clipThreshold)))
        let factor = Float(a / denominator / lr), wd = weightDecay
        for i in 0..<n { u[i] = factor * u[i] + wd * theta[i] }
    }
}
