import CGraftSupport
import GraftTensor

/// The description of a fused kernel that is exactly a built-in step rule, so the engine can run it
/// as one C loop (`graft_adam_chain` / `graft_sgd_chain` in CGraftSupport) that uses 256-bit AVX2
/// where the CPU has it.
///
/// Swift compiles Graft for baseline x86-64 (SSE2, no compiler flag that would make binaries crash on
/// older CPUs), so the Swift loop runs each `SIMD8<Float>` as two 128-bit halves, and Adam's
/// `sqrt` / `div` chain decides the step's speed while the parameters are in cache. The C loops are
/// compiled twice (baseline and `target("avx2")`) and picked once at load time. They do the Swift
/// lanes' operations in the same order with FMA contraction off, and IEEE float32 `+ · / √` are
/// correctly rounded at every vector width, so the two paths are bitwise equal (tests check it).
///
/// Lanes describe themselves in chain order through `LaneFunction.describeNative(_:)` /
/// `ElementLanes.describeNative(_:)`; any lane that does not (the default: user transforms,
/// reductions, combinators, AMSGrad) keeps the Swift loop. The chains that qualify:
/// - `[L2 decay] → Adam → [decoupled decay] → ×factor`: `Recipes.adam` (with or without
///   `weightDecay`) and `Recipes.adamW`;
/// - `[L2 decay] → [momentum (dampening, Nesterov)] → ×factor`: `Recipes.sgd` in all its forms;
/// - either of them preceded by L2-SP's `AnchorDecay` instead of the L2 decay: `Recipes.l2sp`.
public struct NativeStepChain {
    /// Where the description stands.
    public enum Stage: Sendable { case start, adam, momentum, scaled, invalid }
    /// The stage reached so far.
    public var stage: Stage { current }
    @usableFromInline var current = Stage.start
    /// Whether the chain has an Adam step (else it is the SGD family).
    @usableFromInline var isAdam = false
    @usableFromInline var adamConstants = graft_adam_chain_constants()
    @usableFromInline var sgdConstants = graft_sgd_chain_constants()
    /// The anchor θ0 of an L2-SP pull (`addAnchorDecay`), else `nil`.
    @usableFromInline var anchor: UnsafePointer<Float>?
    /// ω's direction p_t that DiGraP's projection stores (`addProjection`), else `nil`.
    @usableFromInline var direction: UnsafeMutablePointer<Float>?
    /// Adam's m and v, or the momentum buffer (in `first`).
    @usableFromInline var first: UnsafeMutablePointer<Float>?
    @usableFromInline var second: UnsafeMutablePointer<Float>?

    /// An empty description.
    @inlinable public init() {}

    /// Whether the description is a complete chain a C loop runs.
    @inlinable public var isComplete: Bool { current == .scaled && commits }

    /// Whether the description is a step rule (with or without the final scale) whose update a C
    /// loop can compute for the Swift lanes of the members after it (`runUpdate`).
    @inlinable public var isLeadingStep: Bool {
        (current == .adam || current == .momentum || current == .scaled) && adamConstants.has_projection == 0
    }

    /// Whether the described members commit their state (`false`: a reduction pass's dry run).
    @usableFromInline var commits = true

    @inlinable mutating func fail() -> Bool {
        current = .invalid
        return false
    }

    /// θ-proportional decay `u ← u + λ·θ`: first in the chain (coupled L2), or right after Adam
    /// (decoupled). Returns `false` (and spoils the description) where the C loops have no such step.
    @inlinable public mutating func addDecay(_ lambda: Float) -> Bool {
        switch current {
        case .start where adamConstants.has_pre_decay == 0 && adamConstants.has_projection == 0:
            adamConstants.has_pre_decay = 1
            adamConstants.pre_decay = lambda
            sgdConstants.has_decay = 1
            sgdConstants.decay = lambda
        case .adam where adamConstants.has_post_decay == 0:
            adamConstants.has_post_decay = 1
            adamConstants.post_decay = lambda
        default:
            return fail()
        }
        return true
    }

    /// L2-SP's pull toward the anchor, `u ← u + f·(θ − θ0)`, first in the chain (`AnchorDecay`
    /// on an anchored tensor; without an anchor it is `addDecay(β)`). Returns `false` (and spoils
    /// the description) anywhere else.
    @inlinable public mutating func addAnchorDecay(_ factor: Float, anchor: UnsafePointer<Float>) -> Bool {
        guard current == .start, adamConstants.has_pre_decay == 0, adamConstants.has_projection == 0 else { return fail() }
        adamConstants.has_pre_decay = 2
        adamConstants.pre_decay = factor
        sgdConstants.has_decay = 2
        sgdConstants.decay = factor
        self.anchor = anchor
        return true
    }

    /// DiGraP's projection of the gradient (Yang et al., ICLR 2025; `DirectionalProjection`'s
    /// elementwise pass, gradient placement), first in an Adam chain with no decay before Adam:
    /// with c = θ − θ0 (θ without `anchor`), `direction ← coefficient·(c·inverseNormP)` when a
    /// direction is given (learned ω's p_t), then `u ← u − k·(c·inverseNorm)` when `project`.
    /// Nothing to describe when neither. Returns `false` (and spoils the description) anywhere else;
    /// a chain with a projection runs only as a whole (`isComplete`, Adam's C loop).
    @inlinable public mutating func addProjection(k: Float, inverseNorm: Float, coefficient: Float, inverseNormP: Float, project: Bool,
                                                  direction: UnsafeMutablePointer<Float>?, anchor: UnsafePointer<Float>?) -> Bool {
        guard current == .start, adamConstants.has_pre_decay == 0, adamConstants.has_projection == 0 else { return fail() }
        var bits: Int32 = project ? 1 : 0
        if let direction {
            bits |= 2
            self.direction = direction
        }
        guard bits != 0 else { return true }
        if let anchor {
            bits |= 4
            self.anchor = anchor
        }
        adamConstants.has_projection = bits
        adamConstants.projection_k = k
        adamConstants.projection_inverse_norm = inverseNorm
        adamConstants.projection_coefficient = coefficient
        adamConstants.projection_inverse_norm_p = inverseNormP
        return true
    }

    /// Adam's moments and normalisation (committing the moments; not AMSGrad).
    @inlinable public mutating func adam(m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, beta1: Float, beta2: Float,
                                         epsilon: Float, invBC1: Float, invSqrtBC2: Float, commit: Bool = true) -> Bool {
        guard current == .start else { return fail() }
        if !commit { commits = false }
        first = m
        second = v
        isAdam = true
        adamConstants.beta1 = beta1
        adamConstants.beta2 = beta2
        adamConstants.c1 = 1 - beta1
        adamConstants.c2 = 1 - beta2
        adamConstants.epsilon = epsilon
        adamConstants.inv_bc1 = invBC1
        adamConstants.inv_sqrt_bc2 = invSqrtBC2
        current = .adam
        return true
    }

    /// Heavy-ball momentum `b ← first ? u : μ·b + keep·u`, then `u ← nesterov ? u + μ·b : b`
    /// (committing the buffer).
    @inlinable public mutating func momentum(buffer: UnsafeMutablePointer<Float>, momentum: Float, keep: Float,
                                             nesterov: Bool, firstStep: Bool, commit: Bool = true) -> Bool {
        guard current == .start, adamConstants.has_projection == 0 else { return fail() }
        if !commit { commits = false }
        first = buffer
        sgdConstants.has_momentum = 1
        sgdConstants.momentum = momentum
        sgdConstants.keep = keep
        sgdConstants.nesterov = nesterov ? 1 : 0
        sgdConstants.first = firstStep ? 1 : 0
        current = .momentum
        return true
    }

    /// The final scale `u ← u·factor` (the learning rate, negated).
    @inlinable public mutating func scale(_ factor: Float) -> Bool {
        guard current == .adam || ((current == .start || current == .momentum) && adamConstants.has_projection == 0) else { return fail() }
        adamConstants.scale = factor
        sgdConstants.scale = factor
        current = .scaled
        return true
    }

    /// Runs the step on elements `lower ..< upper` of one tensor (θ in place): a worker's whole
    /// piece in one call. Returns `false` when a new θ is not finite.
    @inlinable func run(gradient: UnsafePointer<Float>, theta: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool {
        run(gradientAtLower: gradient + lower, theta: theta, lower: lower, upper: upper)
    }

    /// The same, reading the incoming update of element `lower + j` at `gradientAtLower[j]` (a
    /// buffer the chain's leading Swift members filled for this range).
    @inlinable func run(gradientAtLower g: UnsafePointer<Float>, theta: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool {
        let n = Int64(upper - lower)
        if isAdam {
            return withUnsafePointer(to: adamConstants) { k in
                graft_adam_chain(g, theta + lower, first! + lower, second! + lower, anchor.map { $0 + lower },
                                 direction.map { $0 + lower }, n, k) == 0
            }
        }
        return withUnsafePointer(to: sgdConstants) { k in
            graft_sgd_chain(g, theta + lower, first.map { $0 + lower }, anchor.map { $0 + lower }, n, k) == 0
        }
    }

    /// The described members' update of elements `lower ..< upper`, `out[j] ← u` for element
    /// `lower + j` (θ read only, the state committed unless the description is a dry run), for
    /// the Swift lanes of the members after them (SPD and FTP after Adam). A description without
    /// the final scale multiplies by 1, which is exact.
    @inlinable func runUpdate(gradient: UnsafePointer<Float>, theta: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                              lower: Int, upper: Int) {
        let n = Int64(upper - lower), commit: Int32 = commits ? 1 : 0
        if isAdam {
            withUnsafePointer(to: updateConstants) { k in
                graft_adam_chain_update(gradient + lower, theta + lower, first! + lower, second! + lower, anchor.map { $0 + lower },
                                        out, n, k, commit)
            }
        } else {
            withUnsafePointer(to: sgdUpdateConstants) { k in
                graft_sgd_chain_update(gradient + lower, theta + lower, first.map { $0 + lower }, anchor.map { $0 + lower },
                                       out, n, k, commit)
            }
        }
    }

    /// The described Adam-family members' update of elements `lower ..< upper` recomputed from the
    /// moments a reduction pass of this step committed, `out[j] ← u` for element `lower + j`
    /// (`graft_adam_chain_update_from_moments`: θ, m and v read, nothing else written): bitwise the
    /// update `runUpdate` computed when it committed them. Returns `false` (nothing done) for a
    /// description that is not Adam's.
    @inlinable func runUpdateFromMoments(theta: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, lower: Int, upper: Int) -> Bool {
        guard canRecomputeUpdate else { return false }
        withUnsafePointer(to: updateConstants) { k in
            graft_adam_chain_update_from_moments(theta + lower, first! + lower, second! + lower, out, Int64(upper - lower), k)
        }
        return true
    }

    /// Whether the update can be recomputed from the committed state alone (`runUpdateFromMoments`):
    /// Adam's (a momentum step's needs the gradient too).
    @inlinable var canRecomputeUpdate: Bool { isAdam && isLeadingStep }

    /// Adam's constants for the update of the described members (`runUpdate`): without the final
    /// scale the update is multiplied by 1, which is exact.
    @inlinable var updateConstants: graft_adam_chain_constants {
        var k = adamConstants
        if current != .scaled { k.scale = 1 }
        return k
    }
    /// The same for the SGD family.
    @inlinable var sgdUpdateConstants: graft_sgd_chain_constants {
        var k = sgdConstants
        if current != .scaled { k.scale = 1 }
        return k
    }

    /// For a committing Adam-family step rule, whose update a C loop fused with the member after it
    /// computes (`graft_adam_ftp_reduce_rows`, `graft_adam_spd_reduce_rows`): `body` with its m, v
    /// and L2-SP anchor at element `lower` and its update constants; `nil` for any other description.
    @inlinable func withCommittingAdam<R>(at lower: Int, _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
                                                                   UnsafePointer<Float>?, UnsafePointer<graft_adam_chain_constants>) -> R) -> R? {
        guard canRecomputeUpdate, commits else { return nil }
        return withUnsafePointer(to: updateConstants) { k in body(first! + lower, second! + lower, anchor.map { $0 + lower }, k) }
    }

    /// Pieces (a worker's contiguous share of one tensor) shorter than this stay in the Swift loop
    /// (a C call costs more than it saves there).
    public static let minimumLength = 32

    /// Whether the C loops run 256-bit AVX2 on this CPU.
    public static var usesAVX2: Bool { graft_step_chain_uses_avx2() != 0 }
}
