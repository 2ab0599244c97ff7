#ifndef GRAFT_STEP_CHAIN_H
#define GRAFT_STEP_CHAIN_H

#include <stdint.h>

/// The constants of one fused Adam-family step over a run of elements, as GraftOptim's lanes
/// compute it (see `NativeStepChain` in GraftOptim):
///   u = g;  u = u + pre_decay·θ (has_pre_decay 1: coupled L2, torch's weight_decay), or
///   u = u + pre_decay·(θ − θ0) (has_pre_decay 2: L2-SP's pull toward the anchor θ0);
///   m = β1·m + c1·u;  v = β2·v + (c2·u)·u;  u = (m·inv_bc1) / (√v·inv_sqrt_bc2 + ε);
///   u = u + post_decay·θ (when has_post_decay: AdamW's decoupled decay);  u = u·scale;  θ = θ + u.
/// c1 = 1 − β1 and c2 = 1 − β2 are rounded to float by the caller, as the Swift lanes do.
/// DiGraP's projection of the gradient may come first (`graft_adam_chain` only, without a decay
/// before Adam): with c = θ − θ0 (θ when the projection is not anchored),
///   direction ← projection_coefficient·(c·projection_inverse_norm_p) (has_projection bit 1: ω's
///   direction p_t, stored), then u = u − projection_k·(c·projection_inverse_norm) (bit 0);
/// bit 2: anchored (θ0 read from `anchor`).
typedef struct {
    float beta1, beta2, c1, c2, epsilon, inv_bc1, inv_sqrt_bc2;
    float pre_decay, post_decay, scale;
    int32_t has_pre_decay, has_post_decay;
    float projection_k, projection_inverse_norm, projection_coefficient, projection_inverse_norm_p;
    int32_t has_projection;
} graft_adam_chain_constants;

/// Applies the step to elements 0 ..< n of θ (in place), m and v, reading g (and the anchor θ0 when
/// has_pre_decay is 2 or the projection is anchored; NULL otherwise; `direction` ω's direction
/// when the projection stores it, else NULL). Returns 1 when a new θ is not finite, else 0. Every operation is the Swift lanes' own, in the same order, with no
/// contraction into FMA, so the result is bitwise the Swift kernel's; the loop runs 256-bit AVX2
/// where the CPU has it (chosen once at load time), else the baseline instruction set.
int graft_adam_chain(const float *g, float *theta, float *m, float *v, const float *anchor, float *direction, int64_t n,
                     const graft_adam_chain_constants *k);

/// The same chain's update without touching θ: out[i] ← u·scale for elements 0 ..< n (θ read only),
/// with m and v committed when `commit` is nonzero and left as they are otherwise (a reduction pass
/// recomputing the update). Bitwise the Swift lanes' u.
void graft_adam_chain_update(const float *g, const float *theta, float *m, float *v, const float *anchor, float *out,
                             int64_t n, const graft_adam_chain_constants *k, int commit);

/// The chain's update recomputed from moments it already committed: out[i] ← u·scale with
/// u = (m·inv_bc1) / (√v·inv_sqrt_bc2 + ε) (+ post_decay·θ), reading θ, m and v only (no gradient,
/// nothing written but `out`). The same operations on the same floats as the committing step, so
/// bitwise its update: for a pass after a reduction pass that committed the step (SPD's decay).
void graft_adam_chain_update_from_moments(const float *theta, const float *m, const float *v, float *out, int64_t n,
                                          const graft_adam_chain_constants *k);

/// The constants of one fused SGD-family step (see `NativeStepChain` in GraftOptim):
///   u = g;  u = u + decay·θ (has_decay 1: torch's weight_decay), or u = u + decay·(θ − θ0)
///   (has_decay 2: L2-SP);
///   with momentum: b = first ? u : μ·b + keep·u;  u = nesterov ? u + μ·b : b;
///   u = u·scale;  θ = θ + u.
typedef struct {
    float decay, momentum, keep, scale;
    int32_t has_decay, has_momentum, first, nesterov;
} graft_sgd_chain_constants;

/// Applies the SGD-family step to elements 0 ..< n of θ (in place) and of the momentum buffer `b`
/// (unused without momentum), reading g (and the anchor when has_decay is 2). Returns 1 when a new θ is not finite, else 0. Bitwise the
/// Swift lanes' result, as `graft_adam_chain`.
int graft_sgd_chain(const float *g, float *theta, float *b, const float *anchor, int64_t n,
                    const graft_sgd_chain_constants *k);

/// The SGD-family update without touching θ, as `graft_adam_chain_update`.
void graft_sgd_chain_update(const float *g, const float *theta, float *b, const float *anchor, float *out, int64_t n,
                            const graft_sgd_chain_constants *k, int commit);

/// 1 when the chains run their AVX2 variant on this CPU, else 0.
int graft_step_chain_uses_avx2(void);

#endif
