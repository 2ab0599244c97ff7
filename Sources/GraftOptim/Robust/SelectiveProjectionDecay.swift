import GraftTensor

/// SPD, Selective Projection Decay (Tian et al., NeurIPS 2024, "Rethinking Weight Decay for
/// Robust Fine-Tuning of Foundation Models"; the AdamSPD optimizer), applied after Adam and
/// `ScaleByLearningRate` (`u` is the full update), per tensor, to anchored parameters:
/// `θ̃ = θ + u`; `c = −<g, θ − θ0>`; if `c < 0`,
/// `r = clamp((‖θ̃ − θ0‖ − ‖θ − θ0‖) / ‖θ̃ − θ0‖, 0, 1)` (0 when θ̃ = θ0) and
/// `θ ← θ̃ − λ r (θ̃ − θ0)`; otherwise `θ ← θ̃`. Memory: θ0 only.
public struct SelectiveProjectionDecay: TensorTransform {
    /// Telemetry.
    public struct TensorState: Codable, Sendable, Equatable {
        /// Steps where the decay applied (`c < 0`).
        public var decayedSteps = 0
        /// The last ratio r.
        public var lastRatio: Float = 0
        /// Whether the parameter has an anchor (the decay acts on it).
        public var isActive = true
    }

    /// λ: the decay strength (AdamSPD's `weight_decay`).
    public let lambda: Float

    /// - Throws: unless λ ≥ 0 and finite.
    public init(lambda: Float) throws {
        try Check.nonNegative("lambda", lambda)
        self.lambda = lambda
    }

    public var usesAnchors: Bool { true }
    public func makeTensorState(for parameter: ParameterInfo) -> TensorState { TensorState(isActive: parameter.hasAnchor) }

    public func update(_ slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        guard slot.hasAnchor, slot.count > 0 else { return }
        let n = slot.count
        let u = slot.update.baseAddress!, th = slot.value.baseAddress!, a = slot.anchorValues?.baseAddress
        let g = slot.gradient.baseAddress!
        var gc = 0.0, oldSq = 0.0, newSq = 0.0
        var lo = 0
        while lo < n {
            let hi = min(n, lo + Vector.reductionBlock)
            var s1: Float = 0, s2: Float = 0, s3: Float = 0
            for i in lo..<hi {
                let c = th[i] - (a?[i] ?? 0)
                let cNew = c + u[i]
                s1 += g[i] * c; s2 += c * c; s3 += cNew * cNew
            }
            if s1.isFinite && s2.isFinite && s3.isFinite {
                gc += Double(s1); oldSq += Double(s2); newSq += Double(s3)
            } else {
                // Float overflow on finite inputs: redo the block in Double.
                for i in lo..<hi {
                    let c = Double(th[i]) - Double(a?[i] ?? 0)
                    let cNew = c + Double(u[i])
                    gc += Double(g[i]) * c; oldSq += c * c; newSq += cNew * cNew
                }
            }
            lo = hi
        }
        let condition = -gc
        guard condition < 0 else { state.lastRatio = 0; return }
        state.decayedSteps += 1
        let newNorm = newSq.squareRoot(), oldNorm = oldSq.squareRoot()
        let ratio = newNorm > 0 ? Float(min(max((newNorm - oldNorm) / newNorm, 0), 1)) : 0
        state.lastRatio = ratio
        let f = lambda * ratio
        guard f != 0 else { return }
        // u ← u − λ r (θ̃ − θ0) with θ̃ − θ0 = θ + u − θ0.
        if let a { slot.forChunks { r in for i in r { u[i] -= f * (th[i] + u[i] - a[i]) } } }
        else { slot.forChunks { r in for i in r { u[i] -= f * (th[i] + u[i]) } } }
    }

    public func tensorTelemetry(_ state: TensorState) -> [String: Double] {
        guard state.isActive else { return [:] }
        return ["decayed_steps": Double(state.decayedSteps), "ratio": Double(state.lastRatio)]
    }
}
