import GraftTensor

/// A per-element rule: element i of the new update depends only on element i of the update,
/// θ, θ0, g and the rule's own state, and on numbers fixed for the step.
///
/// Write two things: `prepare` (step-wide numbers, e.g. bias corrections, computed once per
/// group step) and `lanes` (bound once per tensor: state pointers and those numbers) whose
/// `apply` rewrites eight elements of the update in SIMD registers. The update is an
/// `inout` value, so there is no buffer to write by mistake. Consecutive elementwise members
/// of a `@TransformBuilder` chain are composed into one loop at compile time (`Fused`):
///
/// ```swift
/// struct Sign: ElementwiseTransform {
///     struct Lanes: ElementLanes {
///         func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
///             u = u.replacing(with: 1, where: u .> 0).replacing(with: -1, where: u .< 0)
///         }
///         func apply(_ u: inout Float, theta: Float, at i: Int) { u = u > 0 ? 1 : (u < 0 ? -1 : 0) }
///     }
///     func lanes(_ prepared: Void, tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes { Lanes() }
/// }
/// ```
///
/// State: declare it with `stateLayout(for:)`; `state.tensor(j)` points at element 0 of
/// state tensor `j` of this parameter. Write state only when `commit` is true (a dry pass
/// recomputes the update for a later member's reduction).
public protocol ElementwiseTransform: FusableTransform
where KernelLanes == ElementwiseLanes<Lanes>, KernelPrepared == Prepared {
    /// Step-wide numbers (default `Void`).
    associatedtype Prepared: Sendable = Void
    /// The lanes bound to one tensor.
    associatedtype Lanes: ElementLanes

    /// Step-wide numbers for `step`.
    func prepare(_ step: StepInfo) -> Prepared
    /// The lanes for one tensor (`state` is this member's state of that parameter).
    func lanes(_ prepared: Prepared, tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes
}

/// The per-element function of an `ElementwiseTransform`, bound to one tensor.
public protocol ElementLanes {
    /// Rewrites the update of the 8 elements from `i`; `theta` is θ_t there.
    func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int)
    /// Rewrites the update of element `i`.
    func apply(_ u: inout Float, theta: Float, at i: Int)
    /// Adds what these lanes do to `chain` when they are a step of the native Adam-family loop
    /// (`NativeStepChain`); the default, `false`, keeps the Swift loop.
    func describeNative(_ chain: inout NativeStepChain) -> Bool
    /// When these lanes only multiply the update by a constant: that constant (native loops of the
    /// members before may apply it, `LaneFunction.nativeFactor`). The default, `nil`.
    var nativeFactor: Float? { get }
}

extension ElementLanes {
    @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool { false }
    @inlinable public var nativeFactor: Float? { nil }
}

extension ElementwiseTransform where Prepared == Void {
    @inlinable public func prepare(_ step: StepInfo) {}
}

extension ElementwiseTransform {
    @inlinable public func prepareKernel(_ step: StepInfo) -> Prepared { prepare(step) }

    @inlinable public func bindKernel(_ prepared: Prepared, _ tensor: KernelTensor, _ state: GroupState, pass: Int,
                                      commit: Bool) -> ElementwiseLanes<Lanes> {
        ElementwiseLanes(lanes: lanes(prepared, tensor: tensor, state: state.view(tensor.index), commit: commit))
    }
}

/// The lane function of an elementwise rule (never ends a pass, reduces nothing).
public struct ElementwiseLanes<Lanes: ElementLanes>: LaneFunction {
    @usableFromInline let lanes: Lanes
    @inlinable init(lanes: Lanes) { self.lanes = lanes }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) -> Bool {
        lanes.apply(&u, theta: theta, at: i)
        return true
    }

    @inlinable @inline(__always)
    public mutating func apply(_ u: inout Float, theta: Float, at i: Int) -> Bool {
        lanes.apply(&u, theta: theta, at: i)
        return true
    }

    @inlinable public func describeNative(_ chain: inout NativeStepChain) -> Bool { lanes.describeNative(&chain) }
    @inlinable public var nativeFactor: Float? { lanes.nativeFactor }
}

/// SIMD load and store helpers for lane functions. Written as eight scalar accesses, which LLVM
/// merges into two unaligned vector moves (`movups`) wherever they are inlined: the standard
/// library's generic `loadUnaligned(as:)` / `storeBytes(of:as:)` for `SIMD8<Float>` stayed an
/// out-of-line call in the engine's large kernel functions (54 and 27 call sites in a release
/// graft-bench), which dominated steps over many tiny tensors.
public enum Lane {
    /// Eight floats from `p + i`.
    @inlinable @inline(__always) public static func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> { eight(p + i) }
    /// Eight floats from `p + i`.
    @inlinable @inline(__always) public static func load(_ p: UnsafeMutablePointer<Float>, _ i: Int) -> SIMD8<Float> {
        eight(UnsafePointer(p + i))
    }
    /// Eight floats from element `i` of float memory at `p`.
    @inlinable @inline(__always) public static func load(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        eight(p.assumingMemoryBound(to: Float.self) + i)
    }
    /// The eight floats at `q` (one unaligned vector load once inlined).
    @inlinable @inline(__always) static func eight(_ q: UnsafePointer<Float>) -> SIMD8<Float> {
        SIMD8(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7])
    }
    /// Stores eight floats at `p + i`.
    @inlinable @inline(__always) public static func store(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        let q = p + i
        q[0] = x[0]; q[1] = x[1]; q[2] = x[2]; q[3] = x[3]
        q[4] = x[4]; q[5] = x[5]; q[6] = x[6]; q[7] = x[7]
    }
    /// Stores eight floats at element `i` of float memory at `p`.
    @inlinable @inline(__always) public static func store(_ x: SIMD8<Float>, _ p: UnsafeMutableRawPointer, _ i: Int) {
        store(x, p.assumingMemoryBound(to: Float.self), i)
    }
    /// θ0 at elements `i ..< i + 8` (zeros for a zero anchor).
    @inlinable @inline(__always) public static func anchor(_ tensor: KernelTensor, _ i: Int) -> SIMD8<Float> {
        if let a = tensor.anchor { return load(a, i) }
        return SIMD8<Float>()
    }
}
