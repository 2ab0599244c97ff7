import GraftTensor

/// DiGraP's directional gradient projection (Huang et al., ICLR 2025, "Directional Gradient
/// Projection for Robust Fine-Tuning of Foundation Models"), per tensor.
///
/// Fine-tuning has two objectives: the task loss and `½‖θ − θ0‖²`, whose gradient is
/// `c = θ − θ0`. With `d = <u, c>`, when the two conflict (`d < 0`) the update loses the
/// share ω of its component along c that moves θ away from θ0:
/// `u ← u − ω (d / ‖c‖²) c`. ω = 0 is plain fine-tuning; ω = 1 projects onto the plane
/// orthogonal to c. The regulariser's gradient itself is never added.
///
/// ω is fixed, or learned per tensor by Adam (learning rate μ, clamp to [0, κ]) on the
/// hypergradient `h = cos(g_t, p_{t−1})` with `p_t = d / (‖c‖² + 1e-8) · c`: summed over rows
/// (slices along the first dimension) for rank ≥ 2, on the flattened tensor otherwise or with
/// `.flat`. A learned ω is 0 at t = 1 and updated at every step from t = 2.
///
/// Placement is the chain position: before the step rule it projects the raw gradient (the
/// paper); after Adam and before `ScaleByLearningRate` it projects Adam's direction (Graft's
/// "update placement"). Always place it before `ScaleByLearningRate`, where the update still
/// points along the gradient. The hypergradient reads the step's raw gradient (the paper) or
/// a caller-provided gradient (`.provided`, e.g. of a validation batch). Parameters without an
/// anchor pass through; adapters (anchor 0) use `c = θ` with no stored copy.
///
/// Memory: θ0 (shared with other anchor-based transforms) plus, when ω is learned, `p_{t−1}`:
/// 4 bytes per parameter; a fixed ω stores nothing per element.
public struct DirectionalProjection: TensorTransform {
    /// How ω is obtained.
    public enum Omega: Sendable, Equatable {
        /// Learned by Adam with learning rate `mu` (not scaled by learning-rate schedules),
        /// clamped to `[0, kappa]`.
        case learned(mu: Float, kappa: Float = 1)
        /// A constant ω applied from the first step.
        case fixed(Float)
    }

    /// How the hypergradient's cosine is taken.
    public enum Hypergradient: String, Sendable, Equatable {
        /// Sum over rows of per-row cosines for rank ≥ 2 (flattened for rank ≤ 1): the reference.
        case rows
        /// Cosine of the flattened tensors for every rank.
        case flat
    }

    /// Which gradient the hypergradient reads.
    public enum HypergradientSource: String, Sendable, Equatable {
        /// The step's raw training gradient (the paper).
        case training
        /// The step's caller-provided gradient (`Optimizer.step(providedGradients:)`).
        case provided
    }

    /// Per-tensor state and telemetry.
    public struct TensorState: Codable, Sendable, Equatable {
        /// The current ω.
        public var omega: Float
        /// Adam moments of ω.
        public var omegaAdam = ScalarAdam()
        /// `p_{t−1}` (learned ω only).
        public var previousDirection: Tensor?
        /// Steps with `d < 0`.
        public var projectedSteps = 0
        /// Steps with `d < 0` and ω > 0 (the projection changed the update).
        public var effectiveProjectedSteps = 0
        /// The last hypergradient h.
        public var lastHypergradient: Float = 0
        /// The last cosine between the incoming update and `θ − θ0` (0 when either is zero).
        public var lastCosine: Float = 0
        /// Whether the last step had `d < 0`.
        public var lastConflict = false
        /// Whether the parameter has an anchor (the projection acts on it).
        public var isActive = true
    }

    /// How ω is obtained (learned or fixed).
    public let omega: Omega
    /// How the hypergradient's cosine is taken (rows or flat).
    public let hypergradient: Hypergradient
    /// Which gradient the hypergradient reads.
    public let source: HypergradientSource

    /// - Throws: unless μ ≥ 0, κ > 0 and a fixed ω ≥ 0, all finite.
    public init(omega: Omega, hypergradient: Hypergradient = .rows, source: HypergradientSource = .training) throws {
        switch omega {
        case let .learned(mu, kappa):
            try Check.nonNegative("mu", mu)
            try Check.positive("kappa", kappa)
        case let .fixed(w):
            try Check.nonNegative("omega", w)
        }
        self.omega = omega
        self.hypergradient = hypergradient
        self.source = source
    }

    public var usesAnchors: Bool { true }
    public var usesProvidedGradient: Bool { source == .provided }

    public func makeTensorState(for parameter: ParameterInfo) -> TensorState {
        switch omega {
        case .learned:
            return TensorState(omega: 0, previousDirection: parameter.hasAnchor ? Tensor(zeros: parameter.shape) : nil,
                               isActive: parameter.hasAnchor)
        case let .fixed(w):
            return TensorState(omega: w, isActive: parameter.hasAnchor)
        }
    }

    public func update(_ slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        guard slot.hasAnchor, slot.count > 0 else { return }
        let t = step.step
        let u = slot.update.baseAddress!, th = slot.value.baseAddress!, a = slot.anchorValues?.baseAddress
        let learning: (mu: Float, kappa: Float)?
        if case let .learned(mu, kappa) = omega { learning = (mu, kappa) } else { learning = nil }
        let p = learning != nil ? state.previousDirection!.unsafeMutableStorage().baseAddress! : nil
        let needsH = learning != nil && t > 1
        let x = needsH ? (source == .training ? slot.gradient.baseAddress : slot.providedGradient?.baseAddress) : nil
        let rows = hypergradient == .rows && slot.info.rank >= 2 ? slot.info.rows : 1

        // Pass 1: <u, c>, ‖c‖², ‖u‖² and the per-row pieces of cos(x, p_{t−1}).
        let stats = ProjectionStatistics.compute(update: u, value: th, anchor: a, x: x, p: needsH ? UnsafePointer(p) : nil,
                                                 count: slot.count, rows: rows, parallel: slot.splitsAcrossCores)
        if let learning, needsH {
            var h = 0.0
            for r in 0..<rows {
                h += stats.rowXP[r] / (max(stats.rowXX[r].squareRoot(), 1e-12) * max(stats.rowPP[r].squareRoot(), 1e-12))
            }
            let next = state.omegaAdam.step(state.omega, gradient: h, learningRate: learning.mu, step: t)
            state.omega = Float(min(max(next, 0), Double(learning.kappa)))
            state.lastHypergradient = Float(h)
        }
        let d = stats.uc, cc = stats.cc
        let denominator = (stats.uu * stats.cc).squareRoot()
        state.lastCosine = denominator > 0 && denominator.isFinite ? Float(d / denominator) : 0
        state.lastConflict = d < 0
        let w = state.omega
        if d < 0 {
            state.projectedSteps += 1
            if w > 0 { state.effectiveProjectedSteps += 1 }
        }

        // Pass 2: store p_t = d / (‖c‖² + 1e-8) · c and project u ← u − ω (d / ‖c‖²) c. Both
        // are evaluated as (scalar ≤ ‖u‖) · (c / norm), which cannot overflow float32 when u
        // and c are finite, whatever their scale.
        let project = d < 0 && w != 0
        let inverseNorm = project ? Float(1 / cc.squareRoot()) : 0
        let k = project ? Float(Double(w) * d / cc.squareRoot()) : 0
        let inverseNormP = Float(1 / (cc + 1e-8).squareRoot())
        let coefficient = Float(d / (cc + 1e-8).squareRoot())
        switch (p, project) {
        case (nil, false):
            return
        case (nil, true):
            if let a { slot.forChunks { r in for i in r { u[i] -= k * ((th[i] - a[i]) * inverseNorm) } } }
            else { slot.forChunks { r in for i in r { u[i] -= k * (th[i] * inverseNorm) } } }
        case let (pp?, false):
            if let a { slot.forChunks { r in for i in r { pp[i] = coefficient * ((th[i] - a[i]) * inverseNormP) } } }
            else { slot.forChunks { r in for i in r { pp[i] = coefficient * (th[i] * inverseNormP) } } }
        case let (pp?, true):
            if let a {
                slot.forChunks { r in
                    for i in r { let c = th[i] - a[i]; pp[i] = coefficient * (c * inverseNormP); u[i] -= k * (c * inverseNorm) }
                }
            } else {
                slot.forChunks { r in
                    for i in r { let c = th[i]; pp[i] = coefficient * (c * inverseNormP); u[i] -= k * (c * inverseNorm) }
                }
            }
        }
    }

    public func tensorTelemetry(_ state: TensorState) -> [String: Double] {
        guard state.isActive else { return [:] }
        return ["omega": Double(state.omega), "projected_steps": Double(state.projectedSteps),
         "effective_projected_steps": Double(state.effectiveProjectedSteps), "cosine": Double(state.lastCosine),
         "hypergradient": Double(state.lastHypergradient), "conflict": state.lastConflict ? 1 : 0]
    }
}
