import CGraftSupport
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
/// As in the authors' code, γ = 1e-8 at t = 1 pulls θ almost exactly back to θ0. Two passes
/// fused with the step rule: a per-row reduction (`<g, ĉ_{t−1}>`, `‖ĉ‖₁`), then the projection.
/// State per parameter: tensors `previous_displacement` ĉ_{t−1} and `previous_norms` (one N
/// per row); scalars γ, γ's Adam moments, whether norms exist, whether the tensor is active.
public struct TrainableProjection: FusableTransform {
    /// A copy of one parameter's state (for inspection).
    public struct TensorState: Sendable, Equatable {
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

    public var kind: String { "trainable_projection" }
    public var usesAnchors: Bool { true }

    @usableFromInline static func rows(_ parameter: ParameterInfo) -> Int { parameter.rank >= 2 ? parameter.rows : 1 }

    public func stateLayout(for parameter: ParameterInfo) -> StateLayout {
        guard parameter.hasAnchor else { return StateLayout(scalars: ["gamma", "gamma_m", "gamma_v", "has_norms", "active"]) }
        return StateLayout(tensors: [.init(name: "previous_displacement", shape: parameter.shape),
                                     .init(name: "previous_norms", shape: [Self.rows(parameter)])],
                           scalars: ["gamma", "gamma_m", "gamma_v", "has_norms", "active"])
    }
    public func initializeState(_ state: StateView, for parameter: ParameterInfo) {
        state[scalar: 0] = Double(Float(1e-8))
        state[scalar: 4] = parameter.hasAnchor ? 1 : 0
    }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        let active = state[scalar: 4] != 0
        return TensorState(gamma: Float(state[scalar: 0]), gammaAdam: ScalarAdam(m: state[scalar: 1], v: state[scalar: 2]),
                           previousDisplacement: active ? state.copyTensor(0, shape: parameter.shape) : nil,
                           previousNorms: active && state[scalar: 3] != 0 ? Array(state.tensorBuffer(1)) : [], isActive: active)
    }
    public func telemetry(_ state: StateView, for parameter: ParameterInfo) -> [String: Double] {
        state[scalar: 4] != 0 ? ["gamma": Double(Float(state[scalar: 0]))] : [:]
    }

    // MARK: Kernel

    @inlinable public var reductionPasses: Int { 1 }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { parameter.hasAnchor && parameter.count > 0 }
    /// Scratch: one scale per row (rows ≤ segments), then 2 partial sums per segment.
    @inlinable public func scratchSize(segments: Int) -> Int { 3 * segments }
    @inlinable public func prepareKernel(_ step: StepInfo) -> Int { step.step }

    @inlinable public func bindKernel(_ t: Int, _ tensor: KernelTensor, _ state: GroupState, pass: Int, commit: Bool) -> Lanes {
        guard pass >= 0, tensor.hasAnchor, tensor.count > 0, let scratch = tensor.scratch else { return Lanes(mode: .inert) }
        let view = state.view(tensor.index)
        var lanes = Lanes(mode: pass == 0 ? .reduce : .apply)
        lanes.anchor = tensor.anchor
        lanes.gradient = tensor.gradient
        lanes.displacement = view.tensor(0)
        lanes.readsPrevious = t > 1 && view[scalar: 3] != 0
        lanes.scales = scratch
        lanes.partials = scratch + tensor.segments
        lanes.commit = commit
        return lanes
    }

    public func finishReduction(_ pass: Int, _ t: Int, _ tensor: KernelTensor, _ state: GroupState) {
        guard let scratch = tensor.scratch else { return }
        let view = state.view(tensor.index)
        let rows = tensor.rows, perRow = tensor.segmentsPerRow
        let partials = scratch + tensor.segments
        let previousNorms = view.tensor(1)
        var gammaGradient = 0.0
        var norms = [Float](repeating: 0, count: rows)
        let readsPrevious = t > 1 && view[scalar: 3] != 0
        for r in 0..<rows {
            var dot = 0.0, l1 = 0.0
            for s in (r * perRow)..<((r + 1) * perRow) { dot += partials[2 * s]; l1 += partials[2 * s + 1] }
            if readsPrevious { gammaGradient += dot / Double(previousNorms[r]) }
            norms[r] = Float(min(l1, Double(Float.greatestFiniteMagnitude))) + 1e-8
        }
        var gamma = Float(view[scalar: 0])
        if t == 1 {
            gamma = 1e-8
        } else {
            // A product that overflowed double (inputs near float32's limit) carries no direction.
            if !gammaGradient.isFinite { gammaGradient = 0 }
            if gammaGradient > 0 { gammaGradient *= Double(k) }
            var adam = ScalarAdam(m: view[scalar: 1], v: view[scalar: 2])
            let next = adam.step(gamma, gradient: gammaGradient, learningRate: mu, step: t)
            view[scalar: 1] = adam.m
            view[scalar: 2] = adam.v
            gamma = Float(min(max(next, 1e-8), Double(norms.max() ?? 1e-8)))
        }
        view[scalar: 0] = Double(gamma)
        for r in 0..<rows {
            scratch[r] = Double(min(max(gamma / norms[r], 0), 1))
            previousNorms[r] = norms[r]
        }
        view[scalar: 3] = 1
    }

    /// Partial sums `<g, ĉ_{t−1}>`, `‖ĉ‖₁` per segment; then `u ← θ0 + s_row ĉ − θ` and ĉ stored.
    public struct Lanes: LaneFunction {
        @usableFromInline enum Mode { case inert, reduce, apply }
        @usableFromInline let mode: Mode
        @usableFromInline var anchor: UnsafePointer<Float>?
        @usableFromInline var gradient: UnsafePointer<Float>?
        @usableFromInline var displacement: UnsafeMutablePointer<Float>?
        @usableFromInline var scales: UnsafeMutablePointer<Double>?
        @usableFromInline var partials: UnsafeMutablePointer<Double>?
        @usableFromInline var readsPrevious = false, commit = false
        /// The reduction pass stored ĉ (`commitReduction`): the apply lanes read it, not θ + u − θ0.
        @usableFromInline var committed = false
        @usableFromInline var scale: Float = 0
        @usableFromInline var sums = SegmentSums()
        @inlinable init(mode: Mode) { self.mode = mode }

        @inlinable @inline(__always)
        public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
            switch mode {
            case .inert: return true
            case .reduce:
                let a = anchor.map { Lane.load($0, i) } ?? SIMD8<Float>()
                let c = theta + u - a
                let dot = readsPrevious ? Lane.load(gradient!, i) * Lane.load(displacement!, i) : SIMD8<Float>()
                sums.add(dot, c.replacing(with: -c, where: c .< 0), SIMD8<Float>())
                return false
            case .apply:
                let a = anchor.map { Lane.load($0, i) } ?? SIMD8<Float>()
                let c = committed ? Lane.load(displacement!, i) : theta + u - a
                if commit && !committed { Lane.store(c, displacement!, i) }
                u = a + scale * c - theta
                return true
            }
        }

        @inlinable @inline(__always)
        public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
            switch mode {
            case .inert: return true
            case .reduce:
                let a = anchor?[i] ?? 0
                let c = theta + u - a
                let dot: Float = readsPrevious ? gradient![i] * displacement![i] : 0
                let dd = readsPrevious ? Double(gradient![i]) * Double(displacement![i]) : 0
                sums.add(dot, abs(c), 0, precise: dd, abs(Double(c)), 0)
                return false
            case .apply:
                let a = anchor?[i] ?? 0
                let c = committed ? displacement![i] : theta + u - a
                if commit && !committed { displacement![i] = c }
                u = a + scale * c - theta
                return true
            }
        }

        @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
            if mode == .reduce { sums.reset(precise: precise) } else if mode == .apply { scale = Float(scales![row]) }
        }

        /// The reduction pass as one C loop (`graft_ftp_reduce`: the same lanes and order, AVX2
        /// where the CPU has it, bitwise the Swift loop); not in a precise redo.
        @inlinable public mutating func reduceNatively(_ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                       lower: Int, upper: Int) -> Bool {
            guard mode == .reduce, !sums.precise, KernelEngine.usesNativeKernels else { return false }
            let a = anchor.map { $0 + lower }
            let g = readsPrevious ? gradient.map { $0 + lower } : nil
            let previous = readsPrevious ? displacement.map { UnsafePointer($0 + lower) } : nil
            sums.withLanes { lanes in
                graft_ftp_reduce(inputAtLower, theta + lower, a, g, previous, Int64(upper - lower), lanes)
            }
            return true
        }
        /// The reduction pass over whole rows as one C call (`graft_ftp_reduce_rows`: per row the
        /// loop of `reduceNatively` and the store of `endSegment`, bitwise).
        @inlinable public mutating func reduceRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                           lower: Int, columns: Int, segment: Int, count: Int) -> Int? {
            guard after == 0, mode == .reduce, KernelEngine.usesNativeKernels, let partials else { return nil }
            let g = readsPrevious ? gradient.map { $0 + lower } : nil
            let previous = readsPrevious ? displacement.map { UnsafePointer($0 + lower) } : nil
            return Int(graft_ftp_reduce_rows(inputAtLower, theta + lower, anchor.map { $0 + lower }, g, previous, Int64(columns),
                                             Int64(count), partials + 2 * segment, 2))
        }
        /// The reduction pass fused with the committing Adam step before FTP (`Adam → lr → FTP`) and
        /// with `commitReduction`, as one C call over whole rows (`graft_adam_ftp_reduce_rows`: the
        /// three loops of `NativeStepChain.runUpdate`, `reduceRowsNatively` and `commitReduction`
        /// in one, bitwise theirs; an overflowed row's ĉ_{t−1} restored and its update handed back).
        @inlinable public mutating func reduceRowsNatively(after: Int, committing step: NativeStepChain, gradient: UnsafePointer<Float>,
                                                           theta: UnsafePointer<Float>, update: UnsafeMutablePointer<Float>,
                                                           lower: Int, columns: Int, segment: Int, count: Int) -> Int? {
            guard after == 0, mode == .reduce, KernelEngine.usesNativeKernels, let partials, let d = displacement,
                  columns <= Int(GRAFT_SEGMENT_LENGTH) else { return nil }
            let g = readsPrevious ? self.gradient.map { $0 + lower } : nil
            guard let done = step.withCommittingAdam(at: lower, { m, v, stepAnchor, k in
                graft_adam_ftp_reduce_rows(gradient + lower, theta + lower, m, v, stepAnchor, k, anchor.map { $0 + lower }, g,
                                           d + lower, update, Int64(columns), Int64(count), partials + 2 * segment)
            }), done >= 0 else { return nil }
            return Int(done)
        }
        /// The elementwise pass over whole rows as one C call (`graft_ftp_apply_rows`: the apply
        /// lanes with each row's scale, then `factor`, bitwise the Swift loop).
        @inlinable public mutating func applyTrailingRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                                  output: UnsafeMutablePointer<Float>, lower: Int, columns: Int, segment: Int,
                                                                  count: Int, then factor: Float?) -> Bool? {
            guard after == 0, mode == .apply, KernelEngine.usesNativeKernels, let scales else { return nil }
            if committed, let d = displacement {
                return graft_ftp_apply_rows_committed(theta + lower, anchor.map { $0 + lower }, d + lower, scales + segment, output + lower,
                                                      Int64(columns), Int64(count), factor == nil ? 0 : 1, factor ?? 1) != 0
            }
            let d = commit ? displacement.map { $0 + lower } : nil
            return graft_ftp_apply_rows(inputAtLower, theta + lower, anchor.map { $0 + lower }, d, scales + segment, output + lower,
                                        Int64(columns), Int64(count), factor == nil ? 0 : 1, factor ?? 1) != 0
        }
        /// In a reduction pass that committed the step rule, FTP stores ĉ_t = θ + u − θ0 there too,
        /// once the run's sums are final (they read ĉ_{t−1}), as its floor does: the elementwise
        /// pass then reads ĉ and no copy of u is kept.
        @inlinable public func commitsInReduction(after: Int) -> Bool { after == 0 && mode == .reduce && displacement != nil }
        @inlinable public mutating func commitReduction(after: Int, _ update: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                        lower: Int, upper: Int) {
            guard after == 0, mode == .reduce, let d = displacement, upper > lower else { return }
            if KernelEngine.usesNativeKernels {
                graft_ftp_commit(update, theta + lower, anchor.map { $0 + lower }, d + lower, Int64(upper - lower))
            } else {
                for i in lower..<upper { d[i] = theta[i] + update[i - lower] - (anchor?[i] ?? 0) }
            }
        }
        @inlinable public mutating func useCommittedReduction(after: Int) {
            if after == 0 && mode == .apply && displacement != nil { committed = true }
        }
        /// The committed ĉ replaces the update.
        @inlinable public func readsUpdateAfterCommittedReduction(after: Int) -> Bool { after != 0 }
        @inlinable public mutating func endSegment(_ segment: Int) -> Bool {
            guard mode == .reduce, let partials else { return true }
            return sums.store(2, into: partials + 2 * segment)
        }
    }
}
