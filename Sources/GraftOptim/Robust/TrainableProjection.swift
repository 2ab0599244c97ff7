import GraftTensor

/// FTP, Fast Trainable Projection (Tian et al., NeurIPS 2023, "Fast Trainable Projection for
/// Robust Fine-Tuning"), applied after a step rule (after `ScaleByLearningRate`: `u` is the
/// full update), per tensor, to anchored parameters:
///
/// 1. `θ̃ = θ + u`, `ĉ = θ̃ − θ0`, `N = ` per-row L1 norm of ĉ (whole tensor for rank ≤ 1) + 1e-8;
/// 2. γ: 1e-8 at t = 1; then `gγ = Σ_rows <g_row, ĉ_{t−1,row}> / N_{t−1,row}`, `gγ ← k gγ` if
///    gγ > 0, one Adam step on γ (learning rate μ, β 0.9 / 0.999, global t), clamp to
///    [1e-8, max N];
/// 3. `θ ← θ0 + clamp(γ / N, 0, 1) ⊙ ĉ` per row, so `u ← θ0 + s ĉ − θ`.
///
/// As in the authors' code, γ = 1e-8 at t = 1 pulls θ almost exactly back to θ0.
/// Memory: θ0 plus ĉ_{t−1} (4 bytes per parameter) and one N per row.
public struct TrainableProjection: TensorTransform {
    /// Per-tensor state.
    public struct TensorState: Codable, Sendable, Equatable {
        /// The projection radius γ.
        public var gamma: Float = 1e-8
        /// Adam moments of γ.
        public var gammaAdam = ScalarAdam()
        /// ĉ of the previous step.
        public var previousDisplacement: Tensor?
        /// Per-row N of the previous step.
        public var previousNorms: [Float] = []
        /// Whether the parameter has an anchor (the projection acts on it).
        public var isActive = true
    }

    /// k: the factor on positive γ gradients (in [0, 1]).
    public let k: Float
    /// μ: γ's learning rate.
    public let mu: Float

    /// - Throws: unless k ∈ [0, 1] and μ ≥ 0.
    public init(k: Float = 1, mu: Float = 1e-2) throws {
        try Check.unitInterval("k", k)
        try Check.nonNegative("mu", mu)
        self.k = k
        self.mu = mu
    }

    public var usesAnchors: Bool { true }

    public func makeTensorState(for parameter: ParameterInfo) -> TensorState {
        TensorState(previousDisplacement: parameter.hasAnchor ? Tensor(zeros: parameter.shape) : nil, isActive: parameter.hasAnchor)
    }

    public func update(_ slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        guard slot.hasAnchor, slot.count > 0 else { return }
        let n = slot.count
        let rows = slot.info.rank >= 2 ? slot.info.rows : 1
        let cols = n / rows
        let u = slot.update.baseAddress!, th = slot.value.baseAddress!, a = slot.anchorValues?.baseAddress
        let g = slot.gradient.baseAddress!
        let chat = state.previousDisplacement!.unsafeMutableStorage().baseAddress!
        // γ's gradient from the previous ĉ and N (before ĉ is overwritten).
        var gammaGradient = 0.0
        if step.step > 1 && state.previousNorms.count == rows {
            for r in 0..<rows {
                let dot = Vector.dotDouble(UnsafeBufferPointer(start: g + r * cols, count: cols),
                                           UnsafeBufferPointer(start: chat + r * cols, count: cols))
                gammaGradient += dot / Double(state.previousNorms[r])
            }
        }
        // ĉ = θ + u − θ0 and the per-row L1 norms N.
        var norms = [Float](repeating: 0, count: rows)
        for r in 0..<rows {
            var l1 = 0.0
            var lo = r * cols
            let end = lo + cols
            while lo < end {
                let hi = min(end, lo + Vector.reductionBlock)
                var s: Float = 0
                for i in lo..<hi {
                    let c = th[i] + u[i] - (a?[i] ?? 0)
                    chat[i] = c
                    s += abs(c)
                }
                if !s.isFinite { s = 0; l1 += (lo..<hi).reduce(0.0) { $0 + abs(Double(chat[$1])) } } else { l1 += Double(s) }
                lo = hi
            }
            norms[r] = Float(min(l1, Double(Float.greatestFiniteMagnitude))) + 1e-8
        }
        if step.step == 1 {
            state.gamma = 1e-8
        } else {
            // A product that overflowed double (inputs near float32's limit) carries no direction.
            if !gammaGradient.isFinite { gammaGradient = 0 }
            if gammaGradient > 0 { gammaGradient *= Double(k) }
            let next = state.gammaAdam.step(state.gamma, gradient: gammaGradient, learningRate: mu, step: step.step)
            state.gamma = Float(min(max(next, 1e-8), Double(norms.max() ?? 1e-8)))
        }
        // θ_new = θ0 + clamp(γ / N, 0, 1) ĉ  ⇒  u = θ_new − θ.
        let gamma = state.gamma
        for r in 0..<rows {
            let s = min(max(gamma / norms[r], 0), 1)
            for i in (r * cols)..<((r + 1) * cols) {
                u[i] = (a?[i] ?? 0) + s * chat[i] - th[i]
            }
        }
        state.previousNorms = norms
    }

    public func tensorTelemetry(_ state: TensorState) -> [String: Double] {
        state.isActive ? ["gamma": Double(state.gamma)] : [:]
    }
}
