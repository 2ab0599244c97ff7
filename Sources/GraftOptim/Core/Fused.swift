import GraftTensor

/// Two fusable transforms composed into one kernel: `first`'s lanes, then `second`'s, in
/// the same loop over memory. The reduction passes of both run in order (a reduction of
/// `second` sees the update after `first`, recomputed without writing `first`'s state).
///
/// `@TransformBuilder` builds these itself from consecutive fusable members; nobody nests
/// for speed. The compiler specialises the whole composition: the loop body is every
/// member's lane math inlined.
public struct Fused<First: FusableTransform, Second: FusableTransform>: FusableTransform {
    /// The member applied first.
    public let first: First
    /// The member applied second, to the first's output.
    public let second: Second

    /// `first`, then `second`, fused.
    @inlinable public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    public var members: [TransformMember] { first.members + second.members }
    @inlinable public var memberCount: Int { first.memberCount + second.memberCount }
    public var usesAnchors: Bool { first.usesAnchors || second.usesAnchors }
    public var usesProvidedGradient: Bool { first.usesProvidedGradient || second.usesProvidedGradient }

    @inlinable public var reductionPasses: Int { first.reductionPasses + second.reductionPasses }

    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool {
        let a = first.reductionPasses
        return pass < a ? first.reductionApplies(pass, to: parameter) : second.reductionApplies(pass - a, to: parameter)
    }


    @inlinable public func scratchSize(segments: Int) -> Int {
        first.scratchSize(segments: segments) + second.scratchSize(segments: segments)
    }

    @inlinable public func prepareKernel(_ step: StepInfo) -> (First.KernelPrepared, Second.KernelPrepared) {
        (first.prepareKernel(step), second.prepareKernel(step))
    }

    @inlinable public func bindKernel(_ prepared: (First.KernelPrepared, Second.KernelPrepared), _ tensor: KernelTensor,
                                      _ state: GroupState, pass: Int, commit: Bool) -> FusedLanes<First.KernelLanes, Second.KernelLanes> {
        let a = first.reductionPasses
        let later = tensor.scratchAdvanced(by: first.scratchSize(segments: tensor.segments))
        return FusedLanes(first: first.bindKernel(prepared.0, tensor, state, pass: Swift.min(pass, a), commit: commit),
                          second: second.bindKernel(prepared.1, later, state.advanced(by: first.memberCount),
                                                    pass: pass - a, commit: commit))
    }

    @inlinable public func finishReduction(_ pass: Int, _ prepared: (First.KernelPrepared, Second.KernelPrepared),
                                           _ tensor: KernelTensor, _ state: GroupState) {
        let a = first.reductionPasses
        if pass < a {
            first.finishReduction(pass, prepared.0, tensor, state)
        } else {
            let later = tensor.scratchAdvanced(by: first.scratchSize(segments: tensor.segments))
            second.finishReduction(pass - a, prepared.1, later, state.advanced(by: first.memberCount))
        }
    }
}

/// The lanes of `Fused`: the first's, then (unless the pass ended) the second's.
public struct FusedLanes<A: LaneFunction, B: LaneFunction>: LaneFunction {
    @usableFromInline var first: A
    @usableFromInline var second: B
    @inlinable init(first: A, second: B) {
        self.first = first
        self.second = second
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        first.apply(&u, theta: theta, at: i) && second.apply(&u, theta: theta, at: i)
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        first.apply(&u, theta: theta, at: i) && second.apply(&u, theta: theta, at: i)
    }

    @inlinable @inline(__always)
    public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
        first.beginSegment(segment, row: row, precise: precise)
        second.beginSegment(segment, row: row, precise: precise)
    }

    @inlinable @inline(__always)
    public mutating func endSegment(_ segment: Int) -> Bool {
        let a = first.endSegment(segment)
        let b = second.endSegment(segment)
        return a && b
    }

    @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool {
        first.describeNative(&chain) && second.describeNative(&chain)
    }

    @inlinable public var memberLanes: Int { first.memberLanes + second.memberLanes }

    @inlinable @inline(__always)
    public mutating func applyLeading(_ count: Int, _ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        let a = first.memberLanes
        if count <= a { return first.applyLeading(count, &u, theta: theta, at: i) }
        return first.apply(&u, theta: theta, at: i) && second.applyLeading(count - a, &u, theta: theta, at: i)
    }

    @inlinable @inline(__always)
    public mutating func applyLeading(_ count: Int, _ u: inout Float, theta: Float, at i: Int) -> Bool {
        let a = first.memberLanes
        if count <= a { return first.applyLeading(count, &u, theta: theta, at: i) }
        return first.apply(&u, theta: theta, at: i) && second.applyLeading(count - a, &u, theta: theta, at: i)
    }

    @inlinable public func describeNative(_ chain: inout NativeStepChain, skipping: Int) -> Bool {
        let a = first.memberLanes
        return (skipping >= a || first.describeNative(&chain, skipping: skipping))
            && second.describeNative(&chain, skipping: Swift.max(0, skipping - a))
    }

    @inlinable public func describeNative(_ chain: inout NativeStepChain, leading: Int) -> Bool {
        let a = first.memberLanes
        if leading <= a { return first.describeNative(&chain, leading: leading) }
        return first.describeNative(&chain) && second.describeNative(&chain, leading: leading - a)
    }

    @inlinable @inline(__always)
    public mutating func applyTrailing(after: Int, _ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        let a = first.memberLanes
        if after >= a { return second.applyTrailing(after: after - a, &u, theta: theta, at: i) }
        return first.applyTrailing(after: after, &u, theta: theta, at: i) && second.apply(&u, theta: theta, at: i)
    }

    @inlinable @inline(__always)
    public mutating func applyTrailing(after: Int, _ u: inout Float, theta: Float, at i: Int) -> Bool {
        let a = first.memberLanes
        if after >= a { return second.applyTrailing(after: after - a, &u, theta: theta, at: i) }
        return first.applyTrailing(after: after, &u, theta: theta, at: i) && second.apply(&u, theta: theta, at: i)
    }

    @inlinable public func commitsInReduction(after: Int) -> Bool {
        let a = first.memberLanes
        return after >= a ? second.commitsInReduction(after: after - a) : first.commitsInReduction(after: after)
    }

    @inlinable public mutating func commitReduction(after: Int, _ update: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                    lower: Int, upper: Int) {
        let a = first.memberLanes
        if after >= a {
            second.commitReduction(after: after - a, update, theta: theta, lower: lower, upper: upper)
        } else {
            first.commitReduction(after: after, update, theta: theta, lower: lower, upper: upper)
        }
    }

    @inlinable public mutating func useCommittedReduction(after: Int) {
        let a = first.memberLanes
        if after >= a { second.useCommittedReduction(after: after - a) } else { first.useCommittedReduction(after: after) }
    }

    @inlinable public func readsUpdateAfterCommittedReduction(after: Int) -> Bool {
        let a = first.memberLanes
        return after >= a ? second.readsUpdateAfterCommittedReduction(after: after - a)
                          : first.readsUpdateAfterCommittedReduction(after: after)
    }

    /// Only when the leading members lie within the first (a native loop of one member's lanes).
    @inlinable public mutating func applyLeadingNatively(_ count: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                         out: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool {
        guard count <= first.memberLanes else { return false }
        return first.applyLeadingNatively(count, inputAtLower, theta: theta, out: out, lower: lower, upper: upper)
    }

    /// The first's native reduction: when the first reduces, its `apply` ends the pass, so the
    /// second never sees the segment. (A reduction of the second, after the first's lanes, stays
    /// in the Swift loop.)
    @inlinable public mutating func reduceNatively(_ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                   lower: Int, upper: Int) -> Bool {
        first.reduceNatively(inputAtLower, theta: theta, lower: lower, upper: upper)
    }

    /// After the first `after` members: inside the first, or the second's own when the first is
    /// skipped whole.
    @inlinable public mutating func reduceNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                   lower: Int, upper: Int) -> Bool {
        let a = first.memberLanes
        if after >= a { return second.reduceNatively(after: after - a, inputAtLower, theta: theta, lower: lower, upper: upper) }
        return first.reduceNatively(after: after, inputAtLower, theta: theta, lower: lower, upper: upper)
    }

    /// As `reduceNatively(after:…)`, row by row; the other member's segment hooks are then called
    /// for each completed segment (one segment per row: segment t is row t), as the engine calls
    /// them around a segment.
    @inlinable public mutating func reduceRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                       lower: Int, columns: Int, segment: Int, count: Int) -> Int? {
        let a = first.memberLanes
        if after >= a {
            guard let done = second.reduceRowsNatively(after: after - a, inputAtLower, theta: theta, lower: lower, columns: columns,
                                                       segment: segment, count: count) else { return nil }
            for t in segment..<segment + done { first.beginSegment(t, row: t, precise: false); _ = first.endSegment(t) }
            return done
        }
        guard let done = first.reduceRowsNatively(after: after, inputAtLower, theta: theta, lower: lower, columns: columns,
                                                  segment: segment, count: count) else { return nil }
        for t in segment..<segment + done { second.beginSegment(t, row: t, precise: false); _ = second.endSegment(t) }
        return done
    }

    /// As `reduceRowsNatively(after:…)`: the second's loop when the step rule is the first whole
    /// (`Adam → lr` then FTP), else the first's; the other member's segment hooks are then called
    /// for each completed segment (segment t is row t), as the engine calls them around a segment.
    @inlinable public mutating func reduceRowsNatively(after: Int, committing step: NativeStepChain, gradient: UnsafePointer<Float>,
                                                       theta: UnsafePointer<Float>, update: UnsafeMutablePointer<Float>, lower: Int,
                                                       columns: Int, segment: Int, count: Int) -> Int? {
        let a = first.memberLanes
        guard after >= a else {
            guard let done = first.reduceRowsNatively(after: after, committing: step, gradient: gradient, theta: theta, update: update,
                                                      lower: lower, columns: columns, segment: segment, count: count)
            else { return nil }
            for t in segment..<segment + done { second.beginSegment(t, row: t, precise: false); _ = second.endSegment(t) }
            return done
        }
        guard let done = second.reduceRowsNatively(after: after - a, committing: step, gradient: gradient, theta: theta,
                                                   update: update, lower: lower, columns: columns, segment: segment, count: count)
        else { return nil }
        for t in segment..<segment + done { first.beginSegment(t, row: t, precise: false); _ = first.endSegment(t) }
        return done
    }

    /// After the first `after` members, row by row: the second's own loop when the first is skipped
    /// whole; else the first's, then the second's factor (only when the second is a pure factor
    /// and no factor is pending: one multiplication, as its lanes do). The other member's segment
    /// hooks are called for each segment.
    @inlinable public mutating func applyTrailingRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                              output: UnsafeMutablePointer<Float>, lower: Int, columns: Int, segment: Int,
                                                              count: Int, then factor: Float?) -> Bool? {
        let a = first.memberLanes
        let finite: Bool
        if after >= a {
            guard let f = second.applyTrailingRowsNatively(after: after - a, inputAtLower, theta: theta, output: output, lower: lower,
                                                           columns: columns, segment: segment, count: count, then: factor) else { return nil }
            for t in segment..<segment + count { first.beginSegment(t, row: t, precise: false); _ = first.endSegment(t) }
            finite = f
        } else {
            guard factor == nil, let own = second.nativeFactor,
                  let f = first.applyTrailingRowsNatively(after: after, inputAtLower, theta: theta, output: output, lower: lower,
                                                          columns: columns, segment: segment, count: count, then: own) else { return nil }
            for t in segment..<segment + count { second.beginSegment(t, row: t, precise: false); _ = second.endSegment(t) }
            finite = f
        }
        return finite
    }
}
