import CGraftSupport
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
/// `.flat`. A learned ω is 0 at t = 1 (or the configured `initial`) and updated at every step
/// from t = 2.
///
/// Placement is the chain position: before the step rule it projects the raw gradient (the
/// paper); after Adam and before `ScaleByLearningRate` it projects Adam's direction (Graft's
/// "update placement"). Always place it before `ScaleByLearningRate`, where the update still
/// points along the gradient. The hypergradient reads the step's raw gradient (the paper) or
/// a caller-provided gradient (`.provided`, e.g. of a validation batch). Parameters without an
/// anchor pass through; adapters (anchor 0) use `c = θ` with no stored copy.
///
/// It runs as two passes over memory, fused with its neighbours: a reduction pass
/// (`<u, c>`, `‖c‖²`, `‖u‖²` and the per-row pieces of the cosine), then the projection as one
/// more lane function of the elementwise pass.
///
/// State per parameter: scalars (ω, ω's Adam moments, counters, telemetry) and, when ω is
/// learned, the tensor `previous_direction` p_{t−1} (4 bytes per element).
public struct DirectionalProjection: FusableTransform {
    /// How ω is obtained.
    public enum Omega: Sendable, Equatable {
        /// Learned by Adam with learning rate `mu` (not scaled by learning-rate schedules),
        /// clamped to `[0, kappa]`, starting from `initial` (the paper: 0; a Graft extension
        /// starts it elsewhere in `[0, kappa]`, e.g. at 1).
        case learned(mu: Float, kappa: Float = 1, initial: Float = 0)
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

    /// A copy of one parameter's state and telemetry (for inspection).
    public struct TensorState: Sendable, Equatable {
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
        case let .learned(mu, kappa, initial):
            try Check.nonNegative("mu", mu)
            try Check.positive("kappa", kappa)
            guard initial.isFinite, initial >= 0, initial <= kappa else {
                throw OptimizerError.invalidHyperparameter(key: "initial_omega", value: "\(initial)", allowed: "[0, kappa = \(kappa)]")
            }
        case let .fixed(w):
            try Check.nonNegative("omega", w)
        }
        self.omega = omega
        self.hypergradient = hypergradient
        self.source = source
    }

    @inlinable var isLearned: Bool { if case .learned = omega { return true } else { return false } }

    public var kind: String { "directional_projection" }
    public var configuration: [String: String] {
        ["omega": isLearned ? "learned" : "fixed", "hypergradient": hypergradient.rawValue, "source": source.rawValue]
    }
    public var usesAnchors: Bool { true }
    public var usesProvidedGradient: Bool { source == .provided }

    /// Scalar slots of the state.
    @usableFromInline enum Slot {
        @usableFromInline static let omega = 0, omegaM = 1, omegaV = 2, projected = 3, effective = 4
        @usableFromInline static let hypergradient = 5, cosine = 6, conflict = 7, active = 8
    }
    static let scalarNames = ["omega", "omega_m", "omega_v", "projected_steps", "effective_projected_steps",
                              "last_hypergradient", "last_cosine", "last_conflict", "active"]

    public func stateLayout(for parameter: ParameterInfo) -> StateLayout {
        .perElement(isLearned && parameter.hasAnchor ? ["previous_direction"] : [], of: parameter, scalars: Self.scalarNames)
    }

    public func initializeState(_ state: StateView, for parameter: ParameterInfo) {
        switch omega {
        case let .fixed(w): state[scalar: Slot.omega] = Double(w)
        case let .learned(_, _, initial): state[scalar: Slot.omega] = Double(initial)
        }
        state[scalar: Slot.active] = parameter.hasAnchor ? 1 : 0
    }

    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(omega: Float(state[scalar: Slot.omega]),
                    omegaAdam: ScalarAdam(m: state[scalar: Slot.omegaM], v: state[scalar: Slot.omegaV]),
                    previousDirection: state.tensorCount > 0 ? state.copyTensor(0, shape: parameter.shape) : nil,
                    projectedSteps: Int(state[scalar: Slot.projected]), effectiveProjectedSteps: Int(state[scalar: Slot.effective]),
                    lastHypergradient: Float(state[scalar: Slot.hypergradient]), lastCosine: Float(state[scalar: Slot.cosine]),
                    lastConflict: state[scalar: Slot.conflict] != 0, isActive: state[scalar: Slot.active] != 0)
    }

    public func telemetry(_ state: StateView, for parameter: ParameterInfo) -> [String: Double] {
        guard state[scalar: Slot.active] != 0 else { return [:] }
        return ["omega": Double(Float(state[scalar: Slot.omega])), "projected_steps": state[scalar: Slot.projected],
                "effective_projected_steps": state[scalar: Slot.effective], "cosine": Double(Float(state[scalar: Slot.cosine])),
                "hypergradient": Double(Float(state[scalar: Slot.hypergradient])), "conflict": state[scalar: Slot.conflict]]
    }

    // MARK: Kernel

    /// Scratch: 5 coefficients, then 6 partial sums per segment.
    @usableFromInline static let coefficients = 5, width = 6

    @inlinable public var reductionPasses: Int { 1 }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { parameter.hasAnchor && parameter.count > 0 }
    @inlinable public func scratchSize(segments: Int) -> Int { Self.coefficients + Self.width * segments }
    @inlinable public func prepareKernel(_ step: StepInfo) -> Int { step.step }

    @inlinable public func bindKernel(_ t: Int, _ tensor: KernelTensor, _ state: GroupState, pass: Int, commit: Bool) -> Lanes {
        guard pass >= 0, tensor.hasAnchor, tensor.count > 0, let scratch = tensor.scratch else { return Lanes(mode: .inert) }
        let view = state.view(tensor.index)
        let p: UnsafeMutablePointer<Float>? = view.tensorCount > 0 ? view.tensor(0) : nil
        var lanes = Lanes(mode: pass == 0 ? .reduce : .apply)
        lanes.anchor = tensor.anchor
        lanes.scratch = scratch
        lanes.previous = p
        if pass == 0 {
            if isLearned && t > 1 {
                lanes.x = source == .training ? tensor.gradient : tensor.providedGradient
                lanes.wantsRows = lanes.x != nil && p != nil
            }
        } else {
            lanes.project = scratch[0] != 0
            lanes.k = Float(scratch[1])
            lanes.inverseNorm = Float(scratch[2])
            lanes.coefficient = Float(scratch[3])
            lanes.inverseNormP = Float(scratch[4])
            lanes.storesDirection = commit && p != nil
        }
        return lanes
    }

    public func finishReduction(_ pass: Int, _ t: Int, _ tensor: KernelTensor, _ state: GroupState) {
        guard let scratch = tensor.scratch else { return }
        let view = state.view(tensor.index)
        let partial = scratch + Self.coefficients
        var uc = 0.0, cc = 0.0, uu = 0.0
        for s in 0..<tensor.segments {
            uc += partial[s * Self.width]; cc += partial[s * Self.width + 1]; uu += partial[s * Self.width + 2]
        }
        if case let .learned(mu, kappa, _) = omega, t > 1 {
            let x = source == .training ? tensor.gradient : tensor.providedGradient
            if x != nil && view.tensorCount > 0 {
                // Per-row cosines (one row for `.flat` or rank ≤ 1).
                let perRow = hypergradient == .rows && tensor.rank >= 2
                let rows = perRow ? tensor.rows : 1
                let segmentsPerRow = perRow ? tensor.segmentsPerRow : tensor.segments
                var h = 0.0
                for r in 0..<rows {
                    var xp = 0.0, xx = 0.0, pp = 0.0
                    for s in (r * segmentsPerRow)..<((r + 1) * segmentsPerRow) {
                        xp += partial[s * Self.width + 3]; xx += partial[s * Self.width + 4]; pp += partial[s * Self.width + 5]
                    }
                    h += xp / (max(xx.squareRoot(), 1e-12) * max(pp.squareRoot(), 1e-12))
                }
                var adam = ScalarAdam(m: view[scalar: Slot.omegaM], v: view[scalar: Slot.omegaV])
                let next = adam.step(Float(view[scalar: Slot.omega]), gradient: h, learningRate: mu, step: t)
                view[scalar: Slot.omegaM] = adam.m
                view[scalar: Slot.omegaV] = adam.v
                view[scalar: Slot.omega] = Double(Float(min(max(next, 0), Double(kappa))))
                view[scalar: Slot.hypergradient] = Double(Float(h))
            }
        }
        let denominator = (uu * cc).squareRoot()
        view[scalar: Slot.cosine] = denominator > 0 && denominator.isFinite ? Double(Float(uc / denominator)) : 0
        view[scalar: Slot.conflict] = uc < 0 ? 1 : 0
        let w = Float(view[scalar: Slot.omega])
        if uc < 0 {
            view[scalar: Slot.projected] += 1
            if w > 0 { view[scalar: Slot.effective] += 1 }
        }
        // p_t = d / (‖c‖² + 1e-8) · c and u ← u − ω (d / ‖c‖²) c, both evaluated as
        // (scalar ≤ ‖u‖) · (c / norm), which cannot overflow float32 for finite u and c.
        let project = uc < 0 && w != 0
        scratch[0] = project ? 1 : 0
        scratch[1] = project ? Double(Float(Double(w) * uc / cc.squareRoot())) : 0
        scratch[2] = project ? Double(Float(1 / cc.squareRoot())) : 0
        scratch[3] = Double(Float(uc / (cc + 1e-8).squareRoot()))
        scratch[4] = Double(Float(1 / (cc + 1e-8).squareRoot()))
    }

    /// The projection's lane function: partial sums in the reduction pass, the projection
    /// (and p_t) in the elementwise pass.
    public struct Lanes: LaneFunction {
        @usableFromInline enum Mode { case inert, reduce, apply }
        @usableFromInline let mode: Mode
        @usableFromInline var anchor: UnsafePointer<Float>?
        @usableFromInline var x: UnsafePointer<Float>?
        @usableFromInline var previous: UnsafeMutablePointer<Float>?
        @usableFromInline var scratch: UnsafeMutablePointer<Double>?
        @usableFromInline var wantsRows = false
        @usableFromInline var project = false, storesDirection = false
        @usableFromInline var k: Float = 0, inverseNorm: Float = 0, coefficient: Float = 0, inverseNormP: Float = 0
        @usableFromInline var sums = SegmentSums()

        @inlinable init(mode: Mode) { self.mode = mode }

        @inlinable @inline(__always)
        public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
            switch mode {
            case .inert:
                return true
            case .reduce:
                let c = anchor.map { theta - Lane.load($0, i) } ?? theta
                sums.add(u * c, c * c, u * u)
                if wantsRows, let x, let previous {
                    let xv = Lane.load(x, i), pv = Lane.load(previous, i)
                    sums.addMore(xv * pv, xv * xv, pv * pv)
                }
                return false
            case .apply:
                guard project || storesDirection else { return true }
                let c = anchor.map { theta - Lane.load($0, i) } ?? theta
                if storesDirection, let previous { Lane.store(coefficient * (c * inverseNormP), previous, i) }
                if project { u -= k * (c * inverseNorm) }
                return true
            }
        }

        @inlinable @inline(__always)
        public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
            switch mode {
            case .inert:
                return true
            case .reduce:
                let a = anchor?[i] ?? 0
                let c = theta - a
                let cd = Double(theta) - Double(a), ud = Double(u)
                sums.add(u * c, c * c, u * u, precise: ud * cd, cd * cd, ud * ud)
                if wantsRows, let x, let previous {
                    let xv = x[i], pv = previous[i]
                    sums.addMore(xv * pv, xv * xv, pv * pv, precise: Double(xv) * Double(pv), Double(xv) * Double(xv), Double(pv) * Double(pv))
                }
                return false
            case .apply:
                let c = theta - (anchor?[i] ?? 0)
                if storesDirection, let previous { previous[i] = coefficient * (c * inverseNormP) }
                if project { u -= k * (c * inverseNorm) }
                return true
            }
        }

        @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
            if mode == .reduce { sums.reset(precise: precise) }
        }

        /// The elementwise pass, gradient placement, as the first stage of Adam's C loop
        /// (`NativeStepChain.addProjection`): `[DiGraP] → Adam → lr` then runs each worker's piece of
        /// a tensor in one call of `graft_adam_chain`, reading g, θ, θ0, m and v once (the two-pass
        /// floor's elementwise loop), bitwise the Swift lanes. In a reduction pass: not native here.
        @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool {
            switch mode {
            case .inert: return true
            case .reduce: return false
            case .apply:
                return chain.addProjection(k: k, inverseNorm: inverseNorm, coefficient: coefficient, inverseNormP: inverseNormP,
                                           project: project, direction: storesDirection ? previous : nil, anchor: anchor)
            }
        }

        /// The elementwise pass as one C loop (`graft_digrap_apply`: the same operations, AVX2
        /// where the CPU has it, bitwise the Swift loop), when the projection leads a chain whose
        /// other members are a native step (`[DiGraP] → Adam → lr`).
        @inlinable public mutating func applyLeadingNatively(_ count: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                             out: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool {
            guard count == 1, mode == .apply, KernelEngine.usesNativeKernels else { return false }
            let p = storesDirection ? previous.map { $0 + lower } : nil
            graft_digrap_apply(inputAtLower, theta + lower, anchor.map { $0 + lower }, p, out, Int64(upper - lower),
                               k, inverseNorm, coefficient, inverseNormP, project ? 1 : 0)
            return true
        }

        /// The reduction pass as one C loop (`graft_digrap_reduce`: the same lanes and order, AVX2
        /// where the CPU has it, bitwise the Swift loop); not in a precise redo.
        @inlinable public mutating func reduceNatively(_ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                       lower: Int, upper: Int) -> Bool {
            guard mode == .reduce, !sums.precise, KernelEngine.usesNativeKernels else { return false }
            let rows = wantsRows && x != nil && previous != nil
            let x = rows ? self.x.map { $0 + lower } : nil, p = rows ? previous.map { UnsafePointer($0 + lower) } : nil
            let a = anchor.map { $0 + lower }
            sums.withLanes { lanes in
                graft_digrap_reduce(inputAtLower, theta + lower, a, x, p, Int64(upper - lower), lanes)
            }
            return true
        }

        /// The reduction pass over whole rows as one C call (`graft_digrap_reduce_rows`: per row the
        /// loop of `reduceNatively` and the store of `endSegment`, bitwise).
        @inlinable public mutating func reduceRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                           lower: Int, columns: Int, segment: Int, count: Int) -> Int? {
            guard after == 0, mode == .reduce, KernelEngine.usesNativeKernels, let scratch else { return nil }
            let rows = wantsRows && x != nil && previous != nil
            let x = rows ? self.x.map { $0 + lower } : nil, p = rows ? previous.map { UnsafePointer($0 + lower) } : nil
            let width = DirectionalProjection.width
            return Int(graft_digrap_reduce_rows(inputAtLower, theta + lower, anchor.map { $0 + lower }, x, p, Int64(columns), Int64(count),
                                                Int32(width), scratch + DirectionalProjection.coefficients + segment * width, Int64(width)))
        }

        @inlinable public mutating func endSegment(_ segment: Int) -> Bool {
            guard mode == .reduce, let scratch else { return true }
            return sums.store(DirectionalProjection.width, into: scratch + DirectionalProjection.coefficients + segment * DirectionalProjection.width)
        }
    }
}
