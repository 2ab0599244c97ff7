/// An `if`/`else` between two fusable members is itself fusable: the chosen branch's lanes
/// run inside the surrounding kernel, so
/// ```swift
/// import GraftOptim
///
/// func recipe(useLion: Bool) throws -> some GradientTransform {
///     try chain {
///         if useLion { try ScaleByLion() } else { try ScaleByAdam() }
///         try AddDecayedWeights(0.01)
///         try ScaleByLearningRate(1e-3)
///     }
/// }
/// ```
/// is one fused kernel either way (`Fused<Either<ScaleByLion, ScaleByAdam>, Fused<…>>`). The
/// branch is fixed when the chain is built; per element it costs one well-predicted test.
extension Either: FusableTransform where A: FusableTransform, B: FusableTransform {
    @inlinable public var reductionPasses: Int {
        switch self {
        case let .first(a): return a.reductionPasses
        case let .second(b): return b.reductionPasses
        }
    }

    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool {
        switch self {
        case let .first(a): return a.reductionApplies(pass, to: parameter)
        case let .second(b): return b.reductionApplies(pass, to: parameter)
        }
    }

    @inlinable public func scratchSize(segments: Int) -> Int {
        switch self {
        case let .first(a): return a.scratchSize(segments: segments)
        case let .second(b): return b.scratchSize(segments: segments)
        }
    }

    @inlinable public func prepareKernel(_ step: StepInfo) -> EitherPrepared<A.KernelPrepared, B.KernelPrepared> {
        switch self {
        case let .first(a): return .first(a.prepareKernel(step))
        case let .second(b): return .second(b.prepareKernel(step))
        }
    }

    @inlinable public func bindKernel(_ prepared: EitherPrepared<A.KernelPrepared, B.KernelPrepared>, _ tensor: KernelTensor,
                                      _ state: GroupState, pass: Int, commit: Bool) -> EitherLanes<A.KernelLanes, B.KernelLanes> {
        switch (self, prepared) {
        case let (.first(a), .first(p)): return EitherLanes(first: a.bindKernel(p, tensor, state, pass: pass, commit: commit), second: nil)
        case let (.second(b), .second(p)): return EitherLanes(first: nil, second: b.bindKernel(p, tensor, state, pass: pass, commit: commit))
        default: preconditionFailure("Either: prepared values of the other branch")
        }
    }

    @inlinable public func finishReduction(_ pass: Int, _ prepared: EitherPrepared<A.KernelPrepared, B.KernelPrepared>,
                                           _ tensor: KernelTensor, _ state: GroupState) {
        switch (self, prepared) {
        case let (.first(a), .first(p)): a.finishReduction(pass, p, tensor, state)
        case let (.second(b), .second(p)): b.finishReduction(pass, p, tensor, state)
        default: preconditionFailure("Either: prepared values of the other branch")
        }
    }
}

/// The step-wide values of the branch an `Either` took.
public enum EitherPrepared<A: Sendable, B: Sendable>: Sendable {
    /// The first branch's values.
    case first(A)
    /// The second branch's values.
    case second(B)
}

/// The lanes of an `Either`: exactly one of the two is present.
public struct EitherLanes<A: LaneFunction, B: LaneFunction>: LaneFunction {
    @usableFromInline var first: A?
    @usableFromInline var second: B?
    @inlinable init(first: A?, second: B?) {
        self.first = first
        self.second = second
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        if first != nil { return first!.apply(&u, theta: theta, at: i) }
        return second!.apply(&u, theta: theta, at: i)
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        if first != nil { return first!.apply(&u, theta: theta, at: i) }
        return second!.apply(&u, theta: theta, at: i)
    }

    @inlinable @inline(__always)
    public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
        if first != nil { first!.beginSegment(segment, row: row, precise: precise) } else { second!.beginSegment(segment, row: row, precise: precise) }
    }

    @inlinable @inline(__always)
    public mutating func endSegment(_ segment: Int) -> Bool {
        if first != nil { return first!.endSegment(segment) }
        return second!.endSegment(segment)
    }
}
