/// Two transforms applied one after the other: `first` over the whole group, then `second`.
///
/// The builder makes a `Chain` only where a member cannot be fused (a whole-group member such
/// as `ClipByGlobalNorm`, or an erased one); consecutive fusable members become one `Fused`
/// kernel. Build chains with `@TransformBuilder`:
/// ```swift
/// import GraftOptim
///
/// let adam = try chain {
///     try ScaleByAdam()
///     try ScaleByLearningRate(1e-3)
/// }
/// ```
public struct Chain<First: GradientTransform, Second: GradientTransform>: GradientTransform {
    /// The member applied first.
    public let first: First
    /// The member applied second, to the first's output.
    public let second: Second

    /// `first`, then `second`.
    @inlinable public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    public var members: [TransformMember] { first.members + second.members }
    @inlinable public var memberCount: Int { first.memberCount + second.memberCount }

    @inlinable public func update(_ group: GroupStep, state: GroupState) {
        first.update(group, state: state)
        second.update(group, state: state.advanced(by: first.memberCount))
    }

    public var usesAnchors: Bool { first.usesAnchors || second.usesAnchors }
    public var usesProvidedGradient: Bool { first.usesProvidedGradient || second.usesProvidedGradient }
}

/// Builds a transform from a `@TransformBuilder` block: `let t = try chain { … }`.
@inlinable public func chain<T: GradientTransform>(@TransformBuilder _ body: () throws -> T) rethrows -> T {
    try body()
}

/// Builds chains of transforms; supports `if`, `if`/`else`, `switch`, `for` and nesting.
/// Consecutive fusable members (elementwise rules and reductions such as DiGraP) are composed
/// into one `Fused` kernel; the others are chained.
///
/// - `if` without `else` gives an `OptionalTransform` and `if`/`else` (or `switch`) an
///   `Either`; both are fusable when their branches are, so a choice inside a chain of
///   elementwise rules keeps the whole chain one kernel.
/// - `for` gives a `SequenceTransform` of erased iterations (one member; not fused with
///   its neighbours).
/// - Every throwing initialiser still needs its own `try`: Swift requires `try` on each
///   throwing expression, also inside a result builder.
@resultBuilder
public enum TransformBuilder {
    @inlinable public static func buildExpression<T: GradientTransform>(_ t: T) -> T { t }
    @inlinable public static func buildPartialBlock<T: GradientTransform>(first: T) -> T { first }

    /// Two fusable members: one kernel.
    @inlinable public static func buildPartialBlock<A: FusableTransform, B: FusableTransform>(accumulated: A, next: B) -> Fused<A, B> {
        Fused(accumulated, next)
    }

    /// A chain ending in a fusable member, then a fusable member: the tail becomes one kernel.
    @inlinable public static func buildPartialBlock<P: GradientTransform, A: FusableTransform, B: FusableTransform>(
        accumulated: Chain<P, A>, next: B) -> Chain<P, Fused<A, B>> {
        Chain(accumulated.first, Fused(accumulated.second, next))
    }

    /// Anything else: one after the other.
    @inlinable public static func buildPartialBlock<A: GradientTransform, B: GradientTransform>(accumulated: A, next: B) -> Chain<A, B> {
        Chain(accumulated, next)
    }

    @inlinable public static func buildBlock() -> Identity { Identity() }
    @inlinable public static func buildOptional<T: GradientTransform>(_ t: T?) -> OptionalTransform<T> { OptionalTransform(t) }
    @inlinable public static func buildEither<A: GradientTransform, B: GradientTransform>(first: A) -> Either<A, B> { .first(first) }
    @inlinable public static func buildEither<A: GradientTransform, B: GradientTransform>(second: B) -> Either<A, B> { .second(second) }

    /// A `for` loop: its iterations become one member that runs them in order, each erased
    /// (`SequenceTransform`). It does not fuse with its neighbours (a loop of one iteration
    /// runs as that iteration does); write the members out when they should.
    @inlinable public static func buildArray<T: GradientTransform>(_ members: [T]) -> SequenceTransform {
        SequenceTransform(members.map { AnyGradientTransform($0) })
    }
}

/// The transform that leaves the update unchanged.
public struct Identity: ElementwiseTransform {
    /// Lanes that do nothing.
    public struct Lanes: ElementLanes {
        @inlinable init() {}
        @inlinable public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {}
        @inlinable public func apply(_ u: inout Float, theta: Float, at i: Int) {}
        @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool { true }
    }
    /// The identity transform.
    @inlinable public init() {}
    public var kind: String { "identity" }
    @inlinable public func lanes(_ prepared: Void, tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes { Lanes() }
    /// Binds without reading any state: `Identity`'s kernel also runs member-less chains (an
    /// `if` without `else` that was false, an empty `for`), which have no state storage at all.
    @inlinable public func bindKernel(_ prepared: Void, _ tensor: KernelTensor, _ state: GroupState, pass: Int,
                                      commit: Bool) -> ElementwiseLanes<Lanes> {
        ElementwiseLanes(lanes: Lanes())
    }
}

/// A transform present or absent (the builder's `if` without `else`).
public struct OptionalTransform<Wrapped: GradientTransform>: GradientTransform {
    /// The transform, or `nil` when the builder's `if` was false.
    public let wrapped: Wrapped?
    /// Wraps a transform that may be absent.
    @inlinable public init(_ wrapped: Wrapped?) { self.wrapped = wrapped }

    public var members: [TransformMember] { wrapped?.members ?? [] }
    @inlinable public var memberCount: Int { wrapped?.memberCount ?? 0 }
    @inlinable public func update(_ group: GroupStep, state: GroupState) { wrapped?.update(group, state: state) }
    public var usesAnchors: Bool { wrapped?.usesAnchors ?? false }
    public var usesProvidedGradient: Bool { wrapped?.usesProvidedGradient ?? false }
    @inlinable public func makeKernelRunner() -> KernelRunner? {
        if let wrapped { return wrapped.makeKernelRunner() }
        return Identity().makeKernelRunner()
    }
}

extension OptionalTransform: FusableTransform where Wrapped: FusableTransform {
    @inlinable public var reductionPasses: Int { wrapped?.reductionPasses ?? 0 }
    @inlinable public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool {
        wrapped?.reductionApplies(pass, to: parameter) ?? false
    }
    @inlinable public func scratchSize(segments: Int) -> Int { wrapped?.scratchSize(segments: segments) ?? 0 }
    @inlinable public func prepareKernel(_ step: StepInfo) -> Wrapped.KernelPrepared? { wrapped?.prepareKernel(step) }
    @inlinable public func bindKernel(_ prepared: Wrapped.KernelPrepared?, _ tensor: KernelTensor, _ state: GroupState,
                                      pass: Int, commit: Bool) -> OptionalLanes<Wrapped.KernelLanes> {
        guard let wrapped, let prepared else { return OptionalLanes(lanes: nil) }
        return OptionalLanes(lanes: wrapped.bindKernel(prepared, tensor, state, pass: pass, commit: commit))
    }
    @inlinable public func finishReduction(_ pass: Int, _ prepared: Wrapped.KernelPrepared?, _ tensor: KernelTensor, _ state: GroupState) {
        if let wrapped, let prepared { wrapped.finishReduction(pass, prepared, tensor, state) }
    }
}

/// The lanes of an optional member (nothing when absent).
public struct OptionalLanes<L: LaneFunction>: LaneFunction {
    @usableFromInline var lanes: L?
    @inlinable init(lanes: L?) { self.lanes = lanes }
    @inlinable @inline(__always) public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        lanes?.apply(&u, theta: theta, at: i) ?? true
    }
    @inlinable @inline(__always) public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        lanes?.apply(&u, theta: theta, at: i) ?? true
    }
    @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {
        lanes?.beginSegment(segment, row: row, precise: precise)
    }
    @inlinable public mutating func endSegment(_ segment: Int) -> Bool { lanes?.endSegment(segment) ?? true }
    @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool { lanes?.describeNative(&chain) ?? true }
    @inlinable public mutating func reduceNatively(_ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                   lower: Int, upper: Int) -> Bool {
        lanes?.reduceNatively(inputAtLower, theta: theta, lower: lower, upper: upper) ?? false
    }
    @inlinable public mutating func reduceNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                   lower: Int, upper: Int) -> Bool {
        lanes?.reduceNatively(after: after, inputAtLower, theta: theta, lower: lower, upper: upper) ?? false
    }
    @inlinable public mutating func reduceRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                       lower: Int, columns: Int, segment: Int, count: Int) -> Int? {
        lanes?.reduceRowsNatively(after: after, inputAtLower, theta: theta, lower: lower, columns: columns, segment: segment, count: count)
    }
    @inlinable public mutating func reduceRowsNatively(after: Int, committing step: NativeStepChain, gradient: UnsafePointer<Float>,
                                                       theta: UnsafePointer<Float>, update: UnsafeMutablePointer<Float>, lower: Int,
                                                       columns: Int, segment: Int, count: Int) -> Int? {
        lanes?.reduceRowsNatively(after: after, committing: step, gradient: gradient, theta: theta, update: update, lower: lower,
                                  columns: columns, segment: segment, count: count)
    }
    @inlinable public mutating func applyTrailingRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                              output: UnsafeMutablePointer<Float>, lower: Int, columns: Int, segment: Int,
                                                              count: Int, then factor: Float?) -> Bool? {
        lanes?.applyTrailingRowsNatively(after: after, inputAtLower, theta: theta, output: output, lower: lower, columns: columns,
                                         segment: segment, count: count, then: factor)
    }
    @inlinable public var memberLanes: Int { lanes?.memberLanes ?? 0 }
    @inlinable public func commitsInReduction(after: Int) -> Bool { lanes?.commitsInReduction(after: after) ?? false }
    @inlinable public mutating func commitReduction(after: Int, _ update: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                    lower: Int, upper: Int) {
        lanes?.commitReduction(after: after, update, theta: theta, lower: lower, upper: upper)
    }
    @inlinable public mutating func useCommittedReduction(after: Int) { lanes?.useCommittedReduction(after: after) }
    @inlinable public func readsUpdateAfterCommittedReduction(after: Int) -> Bool {
        lanes?.readsUpdateAfterCommittedReduction(after: after) ?? true
    }
    @inlinable public mutating func applyLeadingNatively(_ count: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                         out: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool {
        lanes?.applyLeadingNatively(count, inputAtLower, theta: theta, out: out, lower: lower, upper: upper) ?? false
    }
    @inlinable @inline(__always)
    public mutating func applyLeading(_ count: Int, _ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        lanes?.applyLeading(count, &u, theta: theta, at: i) ?? true
    }
    @inlinable @inline(__always)
    public mutating func applyLeading(_ count: Int, _ u: inout Float, theta: Float, at i: Int) -> Bool {
        lanes?.applyLeading(count, &u, theta: theta, at: i) ?? true
    }
    @inlinable public func describeNative(_ chain: inout NativeStepChain, skipping: Int) -> Bool {
        lanes?.describeNative(&chain, skipping: skipping) ?? true
    }
    @inlinable public func describeNative(_ chain: inout NativeStepChain, leading: Int) -> Bool {
        lanes?.describeNative(&chain, leading: leading) ?? true
    }
    @inlinable @inline(__always)
    public mutating func applyTrailing(after: Int, _ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        lanes?.applyTrailing(after: after, &u, theta: theta, at: i) ?? true
    }
    @inlinable @inline(__always)
    public mutating func applyTrailing(after: Int, _ u: inout Float, theta: Float, at i: Int) -> Bool {
        lanes?.applyTrailing(after: after, &u, theta: theta, at: i) ?? true
    }
}

/// One of two transforms (the builder's `if`/`else`).
public enum Either<A: GradientTransform, B: GradientTransform>: GradientTransform {
    case first(A)
    case second(B)

    public var members: [TransformMember] {
        switch self {
        case let .first(a): return a.members
        case let .second(b): return b.members
        }
    }

    @inlinable public var memberCount: Int {
        switch self {
        case let .first(a): return a.memberCount
        case let .second(b): return b.memberCount
        }
    }

    @inlinable public func update(_ group: GroupStep, state: GroupState) {
        switch self {
        case let .first(a): a.update(group, state: state)
        case let .second(b): b.update(group, state: state)
        }
    }

    public var usesAnchors: Bool {
        switch self {
        case let .first(a): return a.usesAnchors
        case let .second(b): return b.usesAnchors
        }
    }

    public var usesProvidedGradient: Bool {
        switch self {
        case let .first(a): return a.usesProvidedGradient
        case let .second(b): return b.usesProvidedGradient
        }
    }

    @inlinable public func makeKernelRunner() -> KernelRunner? {
        switch self {
        case let .first(a): return a.makeKernelRunner()
        case let .second(b): return b.makeKernelRunner()
        }
    }
}
