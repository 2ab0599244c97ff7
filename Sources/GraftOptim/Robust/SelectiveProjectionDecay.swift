import CGraftSupport
import GraftTensor

/// SPD, Selective Projection Decay (Tian et al., NeurIPS 2024, "Rethinking Weight Decay for
/// Robust Fine-Tuning of Foundation Models"; the AdamSPD optimizer), applied after Adam and
/// `ScaleByLearningRate` (`u` is the full update), per tensor, to anchored parameters:
/// `θ̃ = θ + u`; `c = −<g, θ − θ0>`; if `c < 0`,
/// `r = clamp((‖θ̃ − θ0‖ − ‖θ − θ0‖) / ‖θ̃ − θ0‖, 0, 1)` (0 when θ̃ = θ0) and
/// `θ ← θ̃ − λ r (θ̃ − θ0)`; otherwise `θ ← θ̃`. Two passes, fused with the step rule before
/// it: a reduction (`<g, c>`, `‖c‖²`, `‖c + u‖²`), then the decay as a lane function.
/// State per parameter: scalars only (counters, the last ratio). Memory: θ0.
public struct SelectiveProjectionDecay: FusableTransform {
    /// A copy of one parameter's telemetry (for inspection).
    public struct TensorState: Sendable, Equatable {
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

    public var kind: String { "selective_projection_decay" }
    public var usesAnchors: Bool { true }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout {
        StateLayout(scalars: ["decayed_steps", "last_ratio", "active"])
    }
    public func initializeState(_ state: StateView, for parameter: ParameterInfo) { state[scalar: 2] = parameter.hasAnchor ? 1 : 0 }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(decayedSteps: Int(state[scalar: 0]), lastRatio: Float(state[scalar: 1]), isActive: state[scalar: 2] != 0)
    }
    public func telemetry(_ state: StateView, for parameter: ParameterInfo) -> [String: Double] {
        guard state[scalar: 2] != 0 else { return [:] }
        return ["decayed_steps": state[scalar: 0], "ratio": Double(Float(state[scalar: 1]))]
    }

    // MARK: Kernel

    @inlinable public var reductionPasses: Int { 1 }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { parameter.hasAnchor && parameter.count > 0 }
    @inlinable public func scratchSize(segments: Int) -> Int { 1 + 3 * segments }
    @inlinable public func prepareKernel(_ step: StepInfo) {}

    @inlinable public func bindKernel(_ prepared: Void, _ tensor: KernelTensor, _ state: GroupState, pass: Int, commit: Bool) -> Lanes {
        guard pass >= 0, tensor.hasAnchor, tensor.count > 0, let scratch = tensor.scratch else { return Lanes(mode: .inert) }
        var lanes = Lanes(mode: pass == 0 ? .reduce : .apply)
        lanes.anchor = tensor.anchor
        lanes.gradient = tensor.gradient
        lanes.scratch = scratch
        lanes.factor = pass == 0 ? 0 : Float(scratch[0])
        return lanes
    }

    public func finishReduction(_ pass: Int, _ prepared: Void, _ tensor: KernelTensor, _ state: GroupState) {
        guard let scratch = tensor.scratch else { return }
        let view = state.view(tensor.index)
        var gc = 0.0, oldSq = 0.0, newSq = 0.0
        for s in 0..<tensor.segments {
            gc += scratch[1 + 3 * s]; oldSq += scratch[2 + 3 * s]; newSq += scratch[3 + 3 * s]
        }
        scratch[0] = 0
        guard -gc < 0 else { view[scalar: 1] = 0; return }
        view[scalar: 0] += 1
        let newNorm = newSq.squareRoot(), oldNorm = oldSq.squareRoot()
        let ratio = newNorm > 0 ? Float(min(max((newNorm - oldNorm) / newNorm, 0), 1)) : 0
        view[scalar: 1] = Double(ratio)
        scratch[0] = Double(lambda * ratio)
    }

    /// Partial sums, then `u ← u − λ r (θ + u − θ0)`.
    public struct Lanes: LaneFunction {
        @usableFromInline enum Mode { case inert, reduce, apply }
        @usableFromInline let mode: Mode
        @usableFromInline var anchor: UnsafePointer<Float>?
        @usableFromInline var gradient: UnsafePointer<Float>?
        @usableFromInline var scratch: UnsafeMutablePointer<Double>?
        @usableFromInline var factor: Float = 0
        @usableFromInline var sums = SegmentSums()
        @inlinable init(mode: Mode) { self.mode = mode }

        @inlinable @inline(__always)
        public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
            switch mode {
            case .inert: return true
            case .reduce:
                let c = anchor.map { theta - Lane.load($0, i) } ?? theta
                let next = c + u
                sums.add(Lane.load(gradient!, i) * c, c * c, next * next)
                return false
            case .apply:
                guard factor != 0 else { return true }
                let a = anchor.map { Lane.load($0, i) } ?? SIMD8<Float>()
                u -= factor * (theta + u - a)
                return true
            }
        }

        @inlinable @inline(__always)
        public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
            switch mode {
            case .inert: return true
            case .reduce:
                let a = anchor?[i] ?? 0
                let c = theta - a, next = c + u, g = gradient![i]
                let cd = Double(theta) - Double(a), nd = cd + Double(u)
                sums.add(g * c, c * c, next * next, precise: Double(g) * cd, cd * cd, nd * nd)
                return false
            case .apply:
                guard factor != 0 else { return true }
                u -= factor * (theta + u - (anchor?[i] ?? 0))
                return true
            }
        }

        @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
            if mode == .reduce { sums.reset(precise: precise) }
        }

        /// The reduction pass as one C loop (`graft_spd_reduce`: the same lanes and order, AVX2
        /// where the CPU has it, bitwise the Swift loop); not in a precise redo.
        @inlinable public mutating func reduceNatively(_ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                       lower: Int, upper: Int) -> Bool {
            guard mode == .reduce, !sums.precise, KernelEngine.usesNativeKernels, let gradient else { return false }
            let a = anchor.map { $0 + lower }
            sums.withLanes { lanes in
                graft_spd_reduce(inputAtLower, theta + lower, a, gradient + lower, Int64(upper - lower), lanes)
            }
            return true
        }
        /// The reduction pass over whole rows as one C call (`graft_spd_reduce_rows`: per row the
        /// loop of `reduceNatively` and the store of `endSegment`, bitwise).
        @inlinable public mutating func reduceRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                           lower: Int, columns: Int, segment: Int, count: Int) -> Int? {
            guard after == 0, mode == .reduce, KernelEngine.usesNativeKernels, let gradient, let scratch else { return nil }
            return Int(graft_spd_reduce_rows(inputAtLower, theta + lower, anchor.map { $0 + lower }, gradient + lower, Int64(columns),
                                             Int64(count), scratch + 1 + 3 * segment, 3))
        }
        /// The elementwise pass as one C call (`graft_spd_apply`: the apply lanes with the tensor's
        /// factor, bitwise the Swift loop); SPD's factor is per tensor, so the rows are one range.
        @inlinable public mutating func applyTrailingRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                                  output: UnsafeMutablePointer<Float>, lower: Int, columns: Int, segment: Int,
                                                                  count: Int, then next: Float?) -> Bool? {
            guard after == 0, next == nil, mode == .apply, KernelEngine.usesNativeKernels else { return nil }
            return graft_spd_apply(inputAtLower, theta + lower, anchor.map { $0 + lower }, output + lower, Int64(columns * count), factor) != 0
        }
        /// SPD has no state of its own to finish, but lets the engine commit the step rule in the
        /// reduction pass (fused with its sums, below) and recompute the update from the committed
        /// moments in the elementwise pass (`readsUpdateAfterCommittedReduction`, the default `true`),
        /// as its floor does: Adam's gradient is read once and its state written once.
        @inlinable public func commitsInReduction(after: Int) -> Bool { after == 0 && mode == .reduce }
        /// The reduction pass fused with the committing Adam step before SPD (`Adam → lr → SPD`), as
        /// one C call over whole rows (`graft_adam_spd_reduce_rows`: the loops of
        /// `NativeStepChain.runUpdate` and `reduceRowsNatively` in one, bitwise theirs; an
        /// overflowed row's update handed back for the Double redo).
        @inlinable public mutating func reduceRowsNatively(after: Int, committing step: NativeStepChain, gradient: UnsafePointer<Float>,
                                                           theta: UnsafePointer<Float>, update: UnsafeMutablePointer<Float>,
                                                           lower: Int, columns: Int, segment: Int, count: Int) -> Int? {
            guard after == 0, mode == .reduce, KernelEngine.usesNativeKernels, let scratch, let spdGradient = self.gradient
            else { return nil }
            return step.withCommittingAdam(at: lower) { m, v, stepAnchor, k in
                Int(graft_adam_spd_reduce_rows(gradient + lower, theta + lower, m, v, stepAnchor, k, anchor.map { $0 + lower },
                                               spdGradient + lower, update, Int64(columns), Int64(count), scratch + 1 + 3 * segment))
            }
        }
        @inlinable public mutating func endSegment(_ segment: Int) -> Bool {
            guard mode == .reduce, let scratch else { return true }
            return sums.store(3, into: scratch + 1 + 3 * segment)
        }
    }
}
