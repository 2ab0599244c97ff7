import CGraftSupport
import GraftTensor

/// The description of a fused kernel that is exactly an Adam-family step, so the engine can run it
/// as one C loop (`graft_adam_chain` in CGraftSupport) that uses 256-bit AVX2 where the CPU has it.
///
/// Swift compiles Graft for baseline x86-64 (SSE2, no compiler flag that would make binaries crash on
/// older CPUs), so the Swift loop runs each `SIMD8<Float>` as two 128-bit halves, and Adam's
/// `sqrt` / `div` chain decides the step's speed while the parameters are in cache. The C loop is
/// compiled twice (baseline and `target("avx2")`) and picked once at load time. It does the Swift
/// lanes' operations in the same order with FMA contraction off, and IEEE float32 `+ · / √` are
/// correctly rounded at every vector width, so the two paths are bitwise equal (tests check it).
///
/// Lanes describe themselves in chain order through `LaneFunction.describeNative(_:)` /
/// `ElementLanes.describeNative(_:)`; any lane that does not (the default: user transforms,
/// reductions, combinators, AMSGrad) keeps the Swift loop. The chains that qualify:
/// `[L2 decay] → Adam → [decoupled decay] → learning rate` — `Recipes.adam` (with or without
/// `weightDecay`) and `Recipes.adamw`.
public struct NativeAdamChain {
    /// Where the description stands.
    public enum Stage: Sendable { case start, adam, scaled, invalid }
    /// The stage reached so far.
    public var stage: Stage { current }
    @usableFromInline var current = Stage.start
    @usableFromInline var constants = graft_adam_chain_constants()
    @usableFromInline var m: UnsafeMutablePointer<Float>?
    @usableFromInline var v: UnsafeMutablePointer<Float>?

    /// An empty description.
    @inlinable public init() {}

    /// Whether the description is a complete chain the C loop runs.
    @inlinable public var isComplete: Bool { stage == .scaled && m != nil && v != nil }

    /// θ-proportional decay `u ← u + λ·θ`: before Adam (coupled L2) or after it (decoupled).
    /// Returns `false` (and spoils the description) where the C loop has no such step.
    @inlinable public mutating func addDecay(_ lambda: Float) -> Bool {
        switch stage {
        case .start where constants.has_pre_decay == 0:
            constants.has_pre_decay = 1
            constants.pre_decay = lambda
        case .adam where constants.has_post_decay == 0:
            constants.has_post_decay = 1
            constants.post_decay = lambda
        default:
            current = .invalid
            return false
        }
        return true
    }

    /// Adam's moments and normalisation (committing the moments; not AMSGrad).
    @inlinable public mutating func adam(m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, beta1: Float, beta2: Float,
                                         epsilon: Float, invBC1: Float, invSqrtBC2: Float) -> Bool {
        guard stage == .start else { current = .invalid; return false }
        self.m = m
        self.v = v
        constants.beta1 = beta1
        constants.beta2 = beta2
        constants.c1 = 1 - beta1
        constants.c2 = 1 - beta2
        constants.epsilon = epsilon
        constants.inv_bc1 = invBC1
        constants.inv_sqrt_bc2 = invSqrtBC2
        current = .adam
        return true
    }

    /// The final scale `u ← u·factor` (the learning rate, negated).
    @inlinable public mutating func scale(_ factor: Float) -> Bool {
        guard stage == .adam else { current = .invalid; return false }
        constants.scale = factor
        current = .scaled
        return true
    }

    /// Runs the step on elements `lower ..< upper` of one tensor (θ in place). Returns `false`
    /// when a new θ is not finite.
    @inlinable func run(gradient: UnsafePointer<Float>, theta: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool {
        withUnsafePointer(to: constants) { k in
            graft_adam_chain(gradient + lower, theta + lower, m! + lower, v! + lower, Int64(upper - lower), k) == 0
        }
    }

    /// Segments shorter than this stay in the Swift loop (a C call costs more than it saves there).
    public static let minimumLength = 32

    /// Whether the C loop runs 256-bit AVX2 on this CPU.
    public static var usesAVX2: Bool { graft_adam_chain_uses_avx2() != 0 }
}
