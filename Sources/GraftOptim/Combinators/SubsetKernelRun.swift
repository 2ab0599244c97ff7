import GraftTensor

extension GroupStep {
    /// The same tensors with other step-wide facts (how a combinator shows its inner member
    /// its own step count).
    func with(_ info: StepInfo) -> GroupStep {
        GroupStep(info: info, slots: slots, plan: plan, parallelThreshold: parallelThreshold)
    }
}

extension StepInfo {
    /// The same step facts with step count `t`.
    @inlinable func counting(_ t: Int) -> StepInfo { StepInfo(step: t, learningRateScale: learningRateScale) }
}

/// The lanes of a combinator around an inner member's lanes, for a pass in which the inner
/// member does not run: `idle` ends the pass at once (an inner reduction pass skipped this
/// step: nothing is reduced and nothing later runs); otherwise the lanes are the identity.
public struct GatedLanes<L: LaneFunction>: LaneFunction {
    @usableFromInline var inner: L?
    @usableFromInline let idle: Bool
    @inlinable init(_ inner: L?, idle: Bool = false) {
        self.inner = inner
        self.idle = idle
    }
    @inlinable @inline(__always) public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        if idle { return false }
        if inner != nil { return inner!.apply(&u, theta: theta, at: i) }
        return true
    }
    @inlinable @inline(__always) public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        if idle { return false }
        if inner != nil { return inner!.apply(&u, theta: theta, at: i) }
        return true
    }
    @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
        if inner != nil { inner!.beginSegment(segment, row: row, precise: precise) }
    }
    @inlinable public mutating func endSegment(_ segment: Int) -> Bool {
        if inner != nil { return inner!.endSegment(segment) }
        return true
    }
}

extension FusableTransform {
    /// The fused runner of this kernel, built in a context where the type is known to be
    /// fusable (a combinator's constrained initialiser stores a closure that calls it, so its
    /// `makeKernelRunner()` is fused exactly when its inner members are).
    @inlinable func fusedKernelRunner() -> KernelRunner {
        let kernel = self
        return KernelRunner(passes: reductionPasses,
                            applies: { kernel.reductionApplies($0, to: $1) },
                            scratch: { kernel.scratchSize(segments: $0) },
                            run: { KernelEngine.run(kernel, $0) })
    }
}
