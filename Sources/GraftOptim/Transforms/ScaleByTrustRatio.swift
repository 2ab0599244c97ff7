import GraftTensor

/// The layer-wise trust ratio of LAMB (You et al., ICLR 2020) and LARS (You et al., 2017), as
/// optax's `scale_by_trust_ratio`, per tensor:
/// `p = max(‖θ‖, n_min)`, `q = max(‖u‖, n_min)`, `u ← u · (p = 0 or q = 0 ? 1 : c · p / (q + ε))`
/// with c the trust coefficient. Two passes, fused with the rule before it: a reduction of
/// `‖θ‖²` and `‖u‖²` (the update of the members before it, recomputed in a dry pass), then the
/// scaling. State per parameter: the last ratio (a scalar, reported as telemetry `trust_ratio`).
public struct ScaleByTrustRatio: FusableTransform {
    /// c, multiplies the ratio (optax's `trust_coefficient`, 1).
    public let trustCoefficient: Float
    /// n_min, the smallest norm used (optax's `min_norm`, 0).
    public let minNorm: Float
    /// ε, added to the update norm (optax's `eps`, 0).
    public let epsilon: Float

    /// - Throws: unless c > 0, n_min ≥ 0 and ε ≥ 0.
    public init(trustCoefficient: Float = 1, minNorm: Float = 0, epsilon: Float = 0) throws {
        try Check.positive("trust_coefficient", trustCoefficient)
        try Check.nonNegative("min_norm", minNorm)
        try Check.nonNegative("eps", epsilon)
        self.trustCoefficient = trustCoefficient
        self.minNorm = minNorm
        self.epsilon = epsilon
    }

    public var kind: String { "scale_by_trust_ratio" }
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { StateLayout(scalars: ["trust_ratio"]) }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? { Float(state[scalar: 0]) }
    public func telemetry(_ state: StateView, for parameter: ParameterInfo) -> [String: Double] { ["trust_ratio": state[scalar: 0]] }

    // MARK: Kernel

    @inlinable public var reductionPasses: Int { 1 }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { parameter.count > 0 }
    @inlinable public func scratchSize(segments: Int) -> Int { 1 + 2 * segments }
    @inlinable public func prepareKernel(_ step: StepInfo) {}

    @inlinable public func bindKernel(_ prepared: Void, _ tensor: KernelTensor, _ state: GroupState, pass: Int, commit: Bool) -> Lanes {
        guard pass >= 0, tensor.count > 0, let scratch = tensor.scratch else { return Lanes(mode: .inert, scratch: nil, factor: 1) }
        return Lanes(mode: pass == 0 ? .reduce : .apply, scratch: scratch, factor: pass == 0 ? 1 : Float(scratch[0]))
    }

    /// The ratio from the partial sums (added in segment order).
    public func finishReduction(_ pass: Int, _ prepared: Void, _ tensor: KernelTensor, _ state: GroupState) {
        guard let scratch = tensor.scratch else { return }
        var thetaSq = 0.0, updateSq = 0.0
        for s in 0..<tensor.segments {
            thetaSq += scratch[1 + 2 * s]
            updateSq += scratch[2 + 2 * s]
        }
        let p = max(thetaSq.squareRoot(), Double(minNorm)), q = max(updateSq.squareRoot(), Double(minNorm))
        let ratio = (p == 0 || q == 0) ? 1 : Double(trustCoefficient) * p / (q + Double(epsilon))
        scratch[0] = ratio
        state.view(tensor.index)[scalar: 0] = Double(Float(ratio))
    }

    /// Partial sums of θ² and u², then `u ← ratio · u`.
    public struct Lanes: LaneFunction {
        @usableFromInline enum Mode { case inert, reduce, apply }
        @usableFromInline let mode: Mode
        @usableFromInline let scratch: UnsafeMutablePointer<Double>?
        @usableFromInline let factor: Float
        @usableFromInline var sums = SegmentSums()

        @inlinable init(mode: Mode, scratch: UnsafeMutablePointer<Double>?, factor: Float) {
            self.mode = mode
            self.scratch = scratch
            self.factor = factor
        }

        @inlinable @inline(__always)
        public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
            switch mode {
            case .inert: return true
            case .reduce:
                sums.add(theta * theta, u * u, SIMD8<Float>())
                return false
            case .apply:
                u *= factor
                return true
            }
        }

        @inlinable @inline(__always)
        public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
            switch mode {
            case .inert: return true
            case .reduce:
                sums.add(theta * theta, u * u, 0, precise: Double(theta) * Double(theta), Double(u) * Double(u), 0)
                return false
            case .apply:
                u *= factor
                return true
            }
        }

        @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
            if mode == .reduce { sums.reset(precise: precise) }
        }
        @inlinable public mutating func endSegment(_ segment: Int) -> Bool {
            guard mode == .reduce, let scratch else { return true }
            return sums.store(2, into: scratch + 1 + 2 * segment)
        }
    }
}
