// CGraftFloors: the benchmark's "C floors": each optimizer step Graft times, written as plain
// fused C loops over raw float32 buffers (PyTorch semantics), for graft-bench to compare with.
//
// Every kernel works on the element range [lo, hi) of one tensor; graft-bench deals contiguous
// runs of such segments to its threads (Dispatch), as the library does. Each kernel is compiled
// twice from one body: for the baseline x86-64 target and with __attribute__((target("avx2,fma")));
// the exported function picks the AVX2+FMA variant once per process when
// __builtin_cpu_supports says the CPU has both (function multiversioning without -march flags).
// Square roots use __builtin_elementwise_sqrt (IEEE sqrt without errno, so loops vectorise as
// with -fno-math-errno); reductions use `#pragma clang fp reassociate(on)` so they vectorise
// without -ffast-math. Partial sums are float32 within a segment (≤ 8192 elements), stored as double.
#ifndef GRAFT_FLOORS_H
#define GRAFT_FLOORS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Adam's per-step constants (PyTorch): m ← b1 m + c1 g, v ← b2 v + c2 g²,
/// θ ← θ − stepSize · m / (sqrt(v) · invSqrtBC2 + eps), stepSize = lr / (1 − β1^t),
/// invSqrtBC2 = 1 / sqrt(1 − β2^t).
typedef struct {
    float b1, b2, c1, c2, stepSize, invSqrtBC2, eps;
} GraftAdamConstants;

/// 1 when the AVX2+FMA variants run on this CPU, 0 for the baseline (SSE2) variants.
int graft_floors_avx2(void);
/// Forces the baseline variants (avx2 = 0) or the detected ones (avx2 = 1); for the self-check.
void graft_floors_use_avx2(int avx2);

/// SGD: θ ← θ − lr · g.
void graft_floor_sgd(float *theta, const float *g, int64_t lo, int64_t hi, float lr);
/// SGD with momentum (dampening 0), as torch.optim.SGD: b ← g (first step) or μ b + u;
/// θ ← θ − lr · (nesterov ? u + μ b : b), where u = g + decay · (θ − anchor) (anchor NULL: u = g + decay · θ).
/// L2-SP is decay = α with its anchor (β = decay without).
void graft_floor_momentum(float *theta, const float *g, float *b, const float *anchor, int64_t lo, int64_t hi,
                          float lr, float mu, float decay, int first, int nesterov);
/// Adam, one pass: 28 B/element.
void graft_floor_adam(float *theta, const float *g, float *m, float *v, int64_t lo, int64_t hi, const GraftAdamConstants *k);
/// AdamW: θ ← θ − lr · (m̂ / (sqrt(v̂) + ε) + λ θ), with `invBC1` = 1 / (1 − β1^t) and k->stepSize unused.
void graft_floor_adamw(float *theta, const float *g, float *m, float *v, int64_t lo, int64_t hi, const GraftAdamConstants *k,
                       float lr, float invBC1, float lambda);
/// Sum of squares of g over [lo, hi) into out[0] (clip by global norm's reduction).
void graft_floor_sumsq(const float *g, int64_t lo, int64_t hi, double *out);
/// DiGraP reduction, per row piece: for each row r of [lo, hi) (rows of `cols` elements; the
/// range is whole rows or part of one), out[5 j + 0..4] = <g, c>, ‖c‖², <g, p>, ‖g‖², ‖p‖² with
/// c = θ − θ0 and j the row's index within the range. p NULL (fixed ω): only out[5 j + 0..1].
void graft_floor_digrap_reduce(const float *theta, const float *g, const float *anchor, const float *p,
                               int64_t lo, int64_t hi, int64_t cols, double *out);
/// DiGraP pass 2 (gradient placement): c = θ − θ0; p ← coef · c (p non-NULL); ĝ = g − kk · c; Adam on ĝ.
void graft_floor_digrap_apply(float *theta, const float *g, float *m, float *v, const float *anchor, float *p,
                              float kk, float coef, int64_t lo, int64_t hi, const GraftAdamConstants *k);
/// DiGraP update placement, pass 1: Adam moments stored; u = m / bc1 / (sqrt(v) / sqrt(bc2) + ε); per row
/// piece j: out[5 j + 0..4] = <u, c>, ‖c‖², <g, p>, ‖g‖², ‖p‖² (p NULL, fixed ω: out[5 j + 0..1] only).
void graft_floor_digrap_update_reduce(const float *theta, const float *g, float *m, float *v, const float *anchor, const float *p,
                                      int64_t lo, int64_t hi, int64_t cols, const GraftAdamConstants *k, float invBC1, double *out);
/// DiGraP update placement, pass 2: u from the stored moments; p ← coef · c (p non-NULL); θ ← θ − lr (u − kk c).
void graft_floor_digrap_update_apply(float *theta, const float *m, const float *v, const float *anchor, float *p, float kk,
                                     float coef, float lr, float invBC1, int64_t lo, int64_t hi, const GraftAdamConstants *k);
/// SPD pass 1: Adam moments stored; u = −stepSize m / (sqrt(v) invSqrtBC2 + ε); c = θ − θ0;
/// out[0..2] = <g, c>, ‖c‖², ‖c + u‖².
void graft_floor_spd_reduce(const float *theta, const float *g, float *m, float *v, const float *anchor,
                            int64_t lo, int64_t hi, const GraftAdamConstants *k, double *out);
/// SPD pass 2: u from the stored moments; θ ← θ + u − factor · (θ + u − θ0).
void graft_floor_spd_apply(float *theta, const float *m, const float *v, const float *anchor,
                           int64_t lo, int64_t hi, const GraftAdamConstants *k, float factor);
/// FTP pass 1 (after Adam): moments stored; ĉ = θ + u − θ0; per row piece j:
/// out[2 j] = <g, ĉ_{t−1}> (readsPrevious), out[2 j + 1] = ‖ĉ‖₁; ĉ_{t−1} ← ĉ.
void graft_floor_ftp_reduce(const float *theta, const float *g, float *m, float *v, const float *anchor, float *chat,
                            int64_t lo, int64_t hi, int64_t cols, const GraftAdamConstants *k, int readsPrevious, double *out);
/// FTP pass 2: θ ← θ0 + s_row ĉ, s[r] for the tensor's row r.
void graft_floor_ftp_apply(float *theta, const float *anchor, const float *chat, int64_t lo, int64_t hi, int64_t cols,
                           const float *scales);

/// PCGrad pass 1: the Gram matrix of the K objectives' gradients over [lo, hi), upper triangle row by
/// row into out[0 ..< K(K+1)/2].
void graft_floor_gram(const float *const *g, int objectives, int64_t lo, int64_t hi, double *out);
/// PCGrad pass 2: ĝ = Σ_k alpha[k] g_k (the projected gradients' sum, as a combination of the
/// originals), then Adam. K ≤ 4 (K = 1 or 3: pass K + 1 pointers, the extra with alpha 0).
void graft_floor_combine_adam(float *theta, const float *const *g, const float *alpha, int objectives, float *m, float *v,
                              int64_t lo, int64_t hi, const GraftAdamConstants *k);

#ifdef __cplusplus
}
#endif

#endif
