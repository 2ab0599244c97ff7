// The Adam- and SGD-family steps of GraftOptim's fused kernel as C loops, so that it can run 256-bit AVX2
// (Swift compiles for baseline x86-64, whose 128-bit SSE halves the width of Adam's sqrt / div
// chain). Bitwise identical to the Swift lanes: the same operations in the same order, IEEE
// float32 (+, ·, /, √ are correctly rounded whatever the vector width) and no FMA contraction.
#include "graft_step_chain.h"
#include <string.h>

#pragma clang fp contract(off)

#define INLINE static inline __attribute__((always_inline))

/// Stores the new θ_i and returns 1 when it is not finite (an integer test on the exponent bits,
/// which vectorises as an OR reduction without reassociating float sums).
INLINE uint32_t store_theta(float *restrict th, int64_t i, float nt) {
    th[i] = nt;
    uint32_t bits;
    memcpy(&bits, &nt, 4);
    return (uint32_t)((bits & 0x7f800000u) == 0x7f800000u);
}

INLINE int adam_chain_loop(const float *restrict g, float *restrict th, float *restrict m, float *restrict v, int64_t n,
                           const graft_adam_chain_constants k, const int pre, const int post) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const float t = th[i];
        float u = g[i];
        if (pre) u = u + k.pre_decay * t;
        const float mi = k.beta1 * m[i] + k.c1 * u;
        const float vi = k.beta2 * v[i] + k.c2 * u * u;
        m[i] = mi;
        v[i] = vi;
        u = (mi * k.inv_bc1) / (__builtin_elementwise_sqrt(vi) * k.inv_sqrt_bc2 + k.epsilon);
        if (post) u = u + k.post_decay * t;
        bad |= store_theta(th, i, t + u * k.scale);
    }
    return bad != 0;
}

INLINE int adam_chain_body(const float *g, float *th, float *m, float *v, int64_t n, const graft_adam_chain_constants *kp) {
    const graft_adam_chain_constants k = *kp;
    if (k.has_pre_decay) return k.has_post_decay ? adam_chain_loop(g, th, m, v, n, k, 1, 1) : adam_chain_loop(g, th, m, v, n, k, 1, 0);
    return k.has_post_decay ? adam_chain_loop(g, th, m, v, n, k, 0, 1) : adam_chain_loop(g, th, m, v, n, k, 0, 0);
}

INLINE int sgd_chain_loop(const float *restrict g, float *restrict th, float *restrict b, int64_t n,
                          const graft_sgd_chain_constants k, const int decay, const int momentum, const int first,
                          const int nesterov) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        const float t = th[i];
        float u = g[i];
        if (decay) u = u + k.decay * t;
        if (momentum) {
            const float bi = first ? u : k.momentum * b[i] + k.keep * u;
            b[i] = bi;
            u = nesterov ? u + k.momentum * bi : bi;
        }
        bad |= store_theta(th, i, t + u * k.scale);
    }
    return bad != 0;
}

INLINE int sgd_chain_body(const float *g, float *th, float *b, int64_t n, const graft_sgd_chain_constants *kp) {
    const graft_sgd_chain_constants k = *kp;
#define S(D, M, F, N) return sgd_chain_loop(g, th, b, n, k, D, M, F, N)
    if (!k.has_momentum) { if (k.has_decay) S(1, 0, 0, 0); else S(0, 0, 0, 0); }
    if (k.has_decay) {
        if (k.first) { if (k.nesterov) S(1, 1, 1, 1); else S(1, 1, 1, 0); }
        else { if (k.nesterov) S(1, 1, 0, 1); else S(1, 1, 0, 0); }
    } else {
        if (k.first) { if (k.nesterov) S(0, 1, 1, 1); else S(0, 1, 1, 0); }
        else { if (k.nesterov) S(0, 1, 0, 1); else S(0, 1, 0, 0); }
    }
#undef S
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static int adam_chain_avx2(const float *g, float *th, float *m, float *v, int64_t n,
                                                          const graft_adam_chain_constants *k) {
    return adam_chain_body(g, th, m, v, n, k);
}
static int adam_chain_base(const float *g, float *th, float *m, float *v, int64_t n, const graft_adam_chain_constants *k) {
    return adam_chain_body(g, th, m, v, n, k);
}
__attribute__((target("avx2"))) static int sgd_chain_avx2(const float *g, float *th, float *b, int64_t n,
                                                         const graft_sgd_chain_constants *k) {
    return sgd_chain_body(g, th, b, n, k);
}
static int sgd_chain_base(const float *g, float *th, float *b, int64_t n, const graft_sgd_chain_constants *k) {
    return sgd_chain_body(g, th, b, n, k);
}
static int has_avx2 = 0;
__attribute__((constructor)) static void graft_step_chain_detect(void) {
    __builtin_cpu_init();
    has_avx2 = __builtin_cpu_supports("avx2");
}
int graft_adam_chain(const float *g, float *theta, float *m, float *v, int64_t n, const graft_adam_chain_constants *k) {
    return has_avx2 ? adam_chain_avx2(g, theta, m, v, n, k) : adam_chain_base(g, theta, m, v, n, k);
}
int graft_sgd_chain(const float *g, float *theta, float *b, int64_t n, const graft_sgd_chain_constants *k) {
    return has_avx2 ? sgd_chain_avx2(g, theta, b, n, k) : sgd_chain_base(g, theta, b, n, k);
}
int graft_step_chain_uses_avx2(void) { return has_avx2; }
#else
int graft_adam_chain(const float *g, float *theta, float *m, float *v, int64_t n, const graft_adam_chain_constants *k) {
    return adam_chain_body(g, theta, m, v, n, k);
}
int graft_sgd_chain(const float *g, float *theta, float *b, int64_t n, const graft_sgd_chain_constants *k) {
    return sgd_chain_body(g, theta, b, n, k);
}
int graft_step_chain_uses_avx2(void) { return 0; }
#endif
