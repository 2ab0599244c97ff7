import GraftTensor

/// A transform whose work is, per tensor, zero or more **reduction passes** followed by one
/// **elementwise pass**, so that consecutive fusable members compose into a single kernel
/// (`Fused`) that the engine runs as: one pass per reduction (computing per-tensor or per-row
/// scalars such as DiGraP's `<u, θ − θ0>`), then one loop that loads g, θ and every member's
/// state once, applies every member's lane function in chain order and stores θ and the
/// state once.
///
/// Plain per-element rules conform to the simpler `ElementwiseTransform`. Implement this
/// protocol directly for a reducing rule:
/// - `reductionPasses` (1 for DiGraP, SPD, FTP). Tensors of rank ≥ 2 are always cut into
///   rows (their first dimension) and rows into segments, whatever the kernel: a per-row
///   reduction sums its row's segments, and a reduction's order of addition is the same
///   fused or not, on one thread or two;
/// - `bindKernel(...)`: lanes for one tensor. In reduction pass `p < reductionPasses` the
///   lanes accumulate partial sums of their input and return `false` (the pass stops there);
///   `endSegment` stores a segment's partial sums in the tensor's scratch; in later passes
///   they apply the rule with the scalars `finishReduction` computed;
/// - `finishReduction`: after every segment of a tensor was reduced, turns the partial sums
///   (added in a fixed order: results do not depend on the thread count) into scalars.
public protocol FusableTransform: GradientTransform {
    /// Step-wide values computed once per group step (e.g. Adam's bias corrections).
    associatedtype KernelPrepared: Sendable
    /// The lane function bound to one tensor for one pass.
    associatedtype KernelLanes: LaneFunction

    /// Reduction passes this kernel runs before its elementwise pass.
    var reductionPasses: Int { get }
    /// Whether reduction pass `pass` does anything for this parameter (e.g. false without an anchor).
    func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool
    /// Doubles of scratch this kernel needs per tensor with `segments` segments.
    func scratchSize(segments: Int) -> Int
    /// Computes step-wide values once per group step.
    func prepareKernel(_ step: StepInfo) -> KernelPrepared
    /// Binds the lanes for one tensor: reduction pass `pass < reductionPasses`, or the
    /// elementwise pass (`pass == reductionPasses`); `commit` is true only in the real
    /// elementwise pass (a dry pass recomputes the input of a later member's reduction and
    /// must not write state). A negative `pass` means the pass ends before this member: its
    /// lanes are never applied and must ignore `beginSegment` / `endSegment`.
    func bindKernel(_ prepared: KernelPrepared, _ tensor: KernelTensor, _ state: GroupState, pass: Int, commit: Bool) -> KernelLanes
    /// Called once per tensor after reduction pass `pass` covered all its segments.
    func finishReduction(_ pass: Int, _ prepared: KernelPrepared, _ tensor: KernelTensor, _ state: GroupState)
}

extension FusableTransform {
    public var reductionPasses: Int { 0 }
    public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool { false }
    public func scratchSize(segments: Int) -> Int { 0 }
    public func finishReduction(_ pass: Int, _ prepared: KernelPrepared, _ tensor: KernelTensor, _ state: GroupState) {}

    /// Runs the kernel in place on the group's running updates (when it is one member of a
    /// chain that cannot be fused as a whole).
    @inlinable public func update(_ group: GroupStep, state: GroupState) {
        KernelEngine.runInPlace(self, group: group, state: state)
    }

    /// The fused runner of this kernel.
    @inlinable public func makeKernelRunner() -> KernelRunner? {
        let kernel = self
        return KernelRunner(passes: reductionPasses,
                            applies: { kernel.reductionApplies($0, to: $1) },
                            scratch: { kernel.scratchSize(segments: $0) },
                            run: { KernelEngine.run(kernel, $0) })
    }
}

/// A lane function: the per-element part of a kernel, bound to one tensor for one pass.
public protocol LaneFunction {
    /// Rewrites the update of the 8 elements from `i` (`theta` is θ_t there). Returns `false`
    /// when the pass ends at this lane (a reduction pass reached its reducer).
    mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool
    /// The same for one element.
    mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool
    /// A segment (inside one row) starts; `precise` asks reducers to accumulate in Double.
    mutating func beginSegment(_ segment: Int, row: Int, precise: Bool)
    /// A segment ends: reducers store its partial sums. `false` when a float partial sum
    /// overflowed (the engine redoes the segment with `precise: true`).
    mutating func endSegment(_ segment: Int) -> Bool
    /// Adds what these lanes do to `chain` (in chain order) when the kernel can run as the
    /// native Adam-family loop (`NativeStepChain`); `false` when it cannot. The default is `false`:
    /// such lanes keep the Swift loop.
    func describeNative(_ chain: inout NativeStepChain) -> Bool
    /// In a reduction pass: accumulates the segment `lower ..< upper` of the incoming update
    /// (element `lower + j` at `inputAtLower[j]`; θ at `theta`) with a native loop, exactly as
    /// `apply` would, and returns `true`; `false` (nothing done) when these lanes have no native
    /// reduction. The default is `false`.
    mutating func reduceNatively(_ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>, lower: Int, upper: Int) -> Bool
    /// The same for the members after the first `after`, whose input is the leading members'
    /// update (a native step rule's, in a buffer). The default: `reduceNatively` for `after == 0`,
    /// else `false`.
    mutating func reduceNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                 lower: Int, upper: Int) -> Bool
    /// In a reduction pass, for the members after the first `after`: the segments `segment ..<
    /// segment + count`, each one whole row of `columns` elements, consecutive from element
    /// `lower` (input of element `lower + j` at `inputAtLower[j]`), with one native call that does
    /// for each what `beginSegment`, `reduceNatively(after:…)` and `endSegment` would. Returns how
    /// many segments it completed: fewer than `count` when the next one's float sums overflowed
    /// (nothing of it stored; the engine redoes it in Double and calls again after it); `nil`
    /// (nothing done) when these lanes have no such loop, the default. Rows of 128 elements are
    /// 5,868 segments in a 10⁶-parameter model: one call per segment costs more than its loop.
    mutating func reduceRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                     lower: Int, columns: Int, segment: Int, count: Int) -> Int?
    /// In a reduction pass that commits the native step rule formed by the first `after` members
    /// (`step`, an Adam-family description whose update the engine would otherwise compute into a
    /// buffer with `NativeStepChain.runUpdate`, `commitsInReduction(after:)` being true): the step,
    /// the reduction and the commit of `commitReduction` over the segments `segment ..< segment +
    /// count`, each one whole row of `columns` elements, consecutive from element `lower` (the step
    /// reading the incoming gradient `gradient`, indexed from element 0), in one native call,
    /// bitwise what those three do. Returns how many segments it completed: fewer than `count` when
    /// the next one's float sums overflowed — that segment's step is committed and its update is
    /// left at `update[(k) · columns ..< (k + 1) · columns]` (k its index in the call), nothing else
    /// of it done, for the engine to redo its reduction in Double and commit it; `nil` (nothing
    /// done) when these lanes have no such loop, the default. FTP after Adam: one loop where the
    /// split path ran three over the segment buffer (its floor's single loop).
    mutating func reduceRowsNatively(after: Int, committing step: NativeStepChain, gradient: UnsafePointer<Float>,
                                     theta: UnsafePointer<Float>, update: UnsafeMutablePointer<Float>, lower: Int, columns: Int,
                                     segment: Int, count: Int) -> Int?
    /// In the elementwise pass, for the members after the first `after`: the segments `segment ..<
    /// segment + count`, each one whole row of `columns` elements, consecutive from element `lower`
    /// (updates of element `lower + j` at `inputAtLower[j]`), then a multiplication by `factor`
    /// when given, storing θ + u at `output` — one native call doing what `beginSegment`,
    /// `applyTrailing(after:…)` and `endSegment` would. Returns whether every new value is finite;
    /// `nil` (nothing done) when these lanes have no such loop, the default.
    mutating func applyTrailingRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                            output: UnsafeMutablePointer<Float>, lower: Int, columns: Int, segment: Int,
                                            count: Int, then factor: Float?) -> Bool?
    /// Whether the member right after the first `after` can finish its state in a reduction pass
    /// that committed the members before it (`KernelPlan.keptUpdateLimit`): the engine then hands
    /// it their update at the end of that pass (`commitReduction`) and tells its elementwise pass
    /// (`useCommittedReduction`), which no longer reads the incoming update, so the engine keeps
    /// no copy of it (FTP: ĉ is stored in the reduction pass, as its floor does). The default, `false`.
    func commitsInReduction(after: Int) -> Bool
    /// In a reduction pass that committed the first `after` members, once the reduction of
    /// elements `lower ..< upper` is final (an overflowed segment already redone): their update of
    /// element `lower + j` is `update[j]`. Only called when `commitsInReduction(after:)`.
    mutating func commitReduction(after: Int, _ update: UnsafePointer<Float>, theta: UnsafePointer<Float>, lower: Int, upper: Int)
    /// In the elementwise pass after such a reduction pass: the member right after the first
    /// `after` takes what `commitReduction` stored instead of its incoming update.
    mutating func useCommittedReduction(after: Int)
    /// In the elementwise pass after such a reduction pass: whether the member right after the
    /// first `after` still reads their update, which the engine then recomputes from the state
    /// they committed (`NativeStepChain.runUpdateFromMoments`; SPD's decay acts on it). `false`
    /// when what `commitReduction` stored replaces it (FTP's ĉ). The default, `true`.
    func readsUpdateAfterCommittedReduction(after: Int) -> Bool
    /// When these lanes only multiply the update by a constant, with no segment hooks (a learning
    /// rate): that constant, so a native loop of the members before can apply it. The default, `nil`.
    var nativeFactor: Float? { get }
    /// The members these lanes apply, in chain order (the default: one). With
    /// `applyLeading(_:_:theta:at:)` and `describeNative(_:skipping:)` it lets the engine run a
    /// chain whose last members are a native step (`[DiGraP] → Adam → lr`) as the leading members'
    /// Swift loop into a buffer, then the C loop over that buffer.
    var memberLanes: Int { get }
    /// Applies only the first `count` members' lanes (all of them from `memberLanes` on).
    mutating func applyLeading(_ count: Int, _ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool
    /// The same for one element.
    mutating func applyLeading(_ count: Int, _ u: inout Float, theta: Float, at i: Int) -> Bool
    /// `describeNative` of the members after the first `skipping` (`true` when none is left).
    func describeNative(_ chain: inout NativeStepChain, skipping: Int) -> Bool
    /// `describeNative` of the first `leading` members only (`true` for none). With
    /// `applyTrailing(after:_:theta:at:)` it lets the engine run a chain whose first members are
    /// a native step rule (`Adam → lr → [SPD]`, `Adam → [FTP] → lr`) as the C loop's update into a
    /// buffer, then the remaining members' Swift lanes over it.
    func describeNative(_ chain: inout NativeStepChain, leading: Int) -> Bool
    /// The first `count` members' `applyLeading` over elements `lower ..< upper` as a native loop,
    /// writing element `lower + j`'s update to `out[j]` (input at `inputAtLower[j]`, θ at `theta`);
    /// `true` when done, `false` (nothing done) when these lanes have none. The default is `false`.
    mutating func applyLeadingNatively(_ count: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                       out: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool
    /// Applies only the members after the first `after` (their pass may end at a reducer, as `apply`).
    mutating func applyTrailing(after: Int, _ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool
    /// The same for one element.
    mutating func applyTrailing(after: Int, _ u: inout Float, theta: Float, at i: Int) -> Bool
}

extension LaneFunction {
    @inlinable public mutating func applyLeadingNatively(_ count: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                         out: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool { false }
    @inlinable public var memberLanes: Int { 1 }
    @inlinable @inline(__always)
    public mutating func applyLeading(_ count: Int, _ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        count > 0 ? apply(&u, theta: theta, at: i) : true
    }
    @inlinable @inline(__always)
    public mutating func applyLeading(_ count: Int, _ u: inout Float, theta: Float, at i: Int) -> Bool {
        count > 0 ? apply(&u, theta: theta, at: i) : true
    }
    @inlinable public func describeNative(_ chain: inout NativeStepChain, skipping: Int) -> Bool {
        skipping > 0 ? true : describeNative(&chain)
    }
    @inlinable public func describeNative(_ chain: inout NativeStepChain, leading: Int) -> Bool {
        leading > 0 ? describeNative(&chain) : true
    }
    @inlinable @inline(__always)
    public mutating func applyTrailing(after: Int, _ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        after > 0 ? true : apply(&u, theta: theta, at: i)
    }
    @inlinable @inline(__always)
    public mutating func applyTrailing(after: Int, _ u: inout Float, theta: Float, at i: Int) -> Bool {
        after > 0 ? true : apply(&u, theta: theta, at: i)
    }
    @inlinable public mutating func reduceNatively(_ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                   lower: Int, upper: Int) -> Bool { false }
    @inlinable public mutating func reduceNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                   lower: Int, upper: Int) -> Bool {
        after == 0 ? reduceNatively(inputAtLower, theta: theta, lower: lower, upper: upper) : false
    }
    @inlinable public mutating func reduceRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                       lower: Int, columns: Int, segment: Int, count: Int) -> Int? { nil }
    @inlinable public mutating func reduceRowsNatively(after: Int, committing step: NativeStepChain, gradient: UnsafePointer<Float>,
                                                       theta: UnsafePointer<Float>, update: UnsafeMutablePointer<Float>, lower: Int,
                                                       columns: Int, segment: Int, count: Int) -> Int? { nil }
    @inlinable public mutating func applyTrailingRowsNatively(after: Int, _ inputAtLower: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                              output: UnsafeMutablePointer<Float>, lower: Int, columns: Int, segment: Int,
                                                              count: Int, then factor: Float?) -> Bool? { nil }
    @inlinable public var nativeFactor: Float? { nil }
    @inlinable public func commitsInReduction(after: Int) -> Bool { false }
    @inlinable public mutating func commitReduction(after: Int, _ update: UnsafePointer<Float>, theta: UnsafePointer<Float>,
                                                    lower: Int, upper: Int) {}
    @inlinable public mutating func useCommittedReduction(after: Int) {}
    @inlinable public func readsUpdateAfterCommittedReduction(after: Int) -> Bool { true }
    @inlinable public mutating func beginSegment(_ segment: Int, row: Int, precise: Bool) {}
    @inlinable public mutating func endSegment(_ segment: Int) -> Bool { true }
    @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool { false }
}

/// One tensor as a kernel sees it during one step (pointers valid during the step only).
public struct KernelTensor: @unchecked Sendable {
    /// The parameter's index in its group.
    public let index: Int
    /// The element count.
    public let count: Int
    /// Rows of the segmentation: the first dimension for rank ≥ 2, else 1.
    public let rows: Int
    /// Elements per row (`count / rows`).
    public let columns: Int
    /// Segments per row.
    public let segmentsPerRow: Int
    /// The parameter's rank.
    public let rank: Int
    /// θ_t.
    public let value: UnsafePointer<Float>
    /// θ0 for a stored anchor; `nil` for a zero anchor (θ0 = 0) or none.
    public let anchor: UnsafePointer<Float>?
    /// Whether the parameter has an anchor (stored or zero).
    public let hasAnchor: Bool
    /// The aggregated raw gradient g_t.
    public let gradient: UnsafePointer<Float>
    /// The caller-provided gradient, when the step has one.
    public let providedGradient: UnsafePointer<Float>?
    /// This member's scratch (see `FusableTransform.scratchSize`).
    public let scratch: UnsafeMutablePointer<Double>?

    /// All segments.
    @inlinable public var segments: Int { rows * segmentsPerRow }

    /// A tensor description (the engine makes these).
    public init(index: Int, count: Int, rows: Int, segmentsPerRow: Int, rank: Int, value: UnsafePointer<Float>,
                anchor: UnsafePointer<Float>?, hasAnchor: Bool, gradient: UnsafePointer<Float>,
                providedGradient: UnsafePointer<Float>?, scratch: UnsafeMutablePointer<Double>?) {
        self.index = index
        self.count = count
        self.rows = rows
        self.columns = rows > 0 ? count / rows : 0
        self.segmentsPerRow = segmentsPerRow
        self.rank = rank
        self.value = value
        self.anchor = anchor
        self.hasAnchor = hasAnchor
        self.gradient = gradient
        self.providedGradient = providedGradient
        self.scratch = scratch
    }

    /// The same tensor with the scratch moved by `offset` doubles (for a later fused member).
    @inlinable public func scratchAdvanced(by offset: Int) -> KernelTensor {
        KernelTensor(index: index, count: count, rows: rows, segmentsPerRow: segmentsPerRow, rank: rank, value: value,
                     anchor: anchor, hasAnchor: hasAnchor, gradient: gradient, providedGradient: providedGradient,
                     scratch: scratch.map { $0 + offset })
    }

    /// θ0 at element `i` (0 for a zero anchor).
    @inlinable public func anchorValue(_ i: Int) -> Float { anchor?[i] ?? 0 }
}

/// The erased fused form of a kernel: what the optimizer needs to plan and run it.
public struct KernelRunner: Sendable {
    /// Reduction passes before the elementwise pass.
    public let passes: Int
    @usableFromInline let applies: @Sendable (Int, ParameterInfo) -> Bool
    @usableFromInline let scratch: @Sendable (Int) -> Int
    @usableFromInline let run: @Sendable (KernelRun) -> Void

    /// A runner from its parts (made by `FusableTransform.makeKernelRunner`).
    @inlinable public init(passes: Int, applies: @escaping @Sendable (Int, ParameterInfo) -> Bool,
                           scratch: @escaping @Sendable (Int) -> Int, run: @escaping @Sendable (KernelRun) -> Void) {
        self.passes = passes
        self.applies = applies
        self.scratch = scratch
        self.run = run
    }
}
