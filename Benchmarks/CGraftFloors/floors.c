// The C floors: see include/graft_floors.h. Each kernel's body is an always-inline function;
// VARIANTS() instantiates it for the baseline target and for AVX2+FMA and exports a dispatcher.
#include "graft_floors.h"

#define INLINE static inline __attribute__((always_inline))
#define SQRT(x) __builtin_elementwise_sqrt(x)

static int use_avx2 = 0;
static int has_avx2 = 0;

__attribute__((constructor)) static void graft_floors_detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    use_avx2 = has_avx2;
}

int graft_floors_avx2(void) { return use_avx2; }
void graft_floors_use_avx2(int avx2) { use_avx2 = avx2 && has_avx2; }

#if defined(__x86_64__) || defined(__i386__)
#define AVX2 __attribute__((target("avx2,fma")))
#define VARIANTS(name, params, args)                                                   \
    AVX2 static void name##_avx2 params { name##_body args; }                         \
    static void name##_base params { name##_body args; }                              \
    void graft_floor_##name params {                                                  \
        if (use_avx2) name##_avx2 args; else name##_base args;                        \
    }
#else
#define VARIANTS(name, params, args) void graft_floor_##name params { name##_body args; }
#endif

// MARK: - Elementwise step rules

INLINE void sgd_body(float *restrict th, const float *restrict g, int64_t lo, int64_t hi, float lr) {
    for (int64_t i = lo; i < hi; i++) th[i] -= lr * g[i];
}
VARIANTS(sgd, (float *theta, const float *g, int64_t lo, int64_t hi, float lr), (theta, g, lo, hi, lr))

// mode: 0 plain, 1 decay toward 0, 2 decay toward the anchor; the branches are outside the loops.
INLINE void momentum_loop(float *restrict th, const float *restrict g, float *restrict b, const float *restrict a,
                          int64_t lo, int64_t hi, float lr, float mu, float decay, int first, int nesterov, int mode) {
    for (int64_t i = lo; i < hi; i++) {
        float u = g[i];
        if (mode == 1) u += decay * th[i];
        if (mode == 2) u += decay * (th[i] - a[i]);
        float bi = first ? u : mu * b[i] + u;
        b[i] = bi;
        th[i] -= lr * (nesterov ? u + mu * bi : bi);
    }
}
INLINE void momentum_body(float *th, const float *g, float *b, const float *a, int64_t lo, int64_t hi,
                          float lr, float mu, float decay, int first, int nesterov) {
    int mode = a ? 2 : (decay != 0 ? 1 : 0);
#define M(F, N, MODE) momentum_loop(th, g, b, a, lo, hi, lr, mu, decay, F, N, MODE)
    if (first) {
        if (nesterov) { if (mode == 0) M(1, 1, 0); else if (mode == 1) M(1, 1, 1); else M(1, 1, 2); }
        else { if (mode == 0) M(1, 0, 0); else if (mode == 1) M(1, 0, 1); else M(1, 0, 2); }
    } else {
        if (nesterov) { if (mode == 0) M(0, 1, 0); else if (mode == 1) M(0, 1, 1); else M(0, 1, 2); }
        else { if (mode == 0) M(0, 0, 0); else if (mode == 1) M(0, 0, 1); else M(0, 0, 2); }
    }
#undef M
}
VARIANTS(momentum, (float *theta, const float *g, float *b, const float *anchor, int64_t lo, int64_t hi, float lr, float mu,
                    float decay, int first, int nesterov),
         (theta, g, b, anchor, lo, hi, lr, mu, decay, first, nesterov))

INLINE void adam_body(float *restrict th, const float *restrict g, float *restrict m, float *restrict v, int64_t lo, int64_t hi,
                      const GraftAdamConstants *kp) {
    const GraftAdamConstants k = *kp;
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        th[i] -= k.stepSize * mi / (SQRT(vi) * k.invSqrtBC2 + k.eps);
    }
}
VARIANTS(adam, (float *theta, const float *g, float *m, float *v, int64_t lo, int64_t hi, const GraftAdamConstants *k),
         (theta, g, m, v, lo, hi, k))

INLINE void adamw_body(float *restrict th, const float *restrict g, float *restrict m, float *restrict v, int64_t lo, int64_t hi,
                       const GraftAdamConstants *kp, float lr, float invBC1, float lambda) {
    const GraftAdamConstants k = *kp;
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float t = th[i];
        th[i] = t - lr * (mi * invBC1 / (SQRT(vi) * k.invSqrtBC2 + k.eps) + lambda * t);
    }
}
VARIANTS(adamw, (float *theta, const float *g, float *m, float *v, int64_t lo, int64_t hi, const GraftAdamConstants *k,
                 float lr, float invBC1, float lambda),
         (theta, g, m, v, lo, hi, k, lr, invBC1, lambda))

// MARK: - Reductions

INLINE void sumsq_body(const float *restrict g, int64_t lo, int64_t hi, double *out) {
#pragma clang fp reassociate(on)
    float s = 0;
    for (int64_t i = lo; i < hi; i++) s += g[i] * g[i];
    out[0] = s;
}
VARIANTS(sumsq, (const float *g, int64_t lo, int64_t hi, double *out), (g, lo, hi, out))

// MARK: - DiGraP

INLINE void digrap_row(const float *restrict th, const float *restrict g, const float *restrict a, const float *restrict p,
                       int64_t lo, int64_t hi, double *out) {
#pragma clang fp reassociate(on)
    float gc = 0, cc = 0, gp = 0, gg = 0, pp = 0;
    if (p) {
        for (int64_t i = lo; i < hi; i++) {
            float c = th[i] - a[i], gi = g[i], pi = p[i];
            gc += gi * c; cc += c * c; gp += gi * pi; gg += gi * gi; pp += pi * pi;
        }
        out[2] = gp; out[3] = gg; out[4] = pp;
    } else {
        for (int64_t i = lo; i < hi; i++) {
            float c = th[i] - a[i];
            gc += g[i] * c; cc += c * c;
        }
    }
    out[0] = gc; out[1] = cc;
}
INLINE void digrap_reduce_body(const float *th, const float *g, const float *a, const float *p,
                               int64_t lo, int64_t hi, int64_t cols, double *out) {
    int64_t j = 0;
    while (lo < hi) {
        int64_t end = (lo / cols + 1) * cols;
        if (end > hi) end = hi;
        digrap_row(th, g, a, p, lo, end, out + 5 * j);
        lo = end;
        j++;
    }
}
VARIANTS(digrap_reduce, (const float *theta, const float *g, const float *anchor, const float *p, int64_t lo, int64_t hi,
                         int64_t cols, double *out),
         (theta, g, anchor, p, lo, hi, cols, out))

INLINE void digrap_apply_loop(float *restrict th, const float *restrict g, float *restrict m, float *restrict v,
                              const float *restrict a, float *restrict p, float kk, float coef, int64_t lo, int64_t hi,
                              const GraftAdamConstants k, int storesP) {
    for (int64_t i = lo; i < hi; i++) {
        float t = th[i];
        float c = t - a[i];
        if (storesP) p[i] = coef * c;
        float gi = g[i] - kk * c;
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        th[i] = t - k.stepSize * mi / (SQRT(vi) * k.invSqrtBC2 + k.eps);
    }
}
INLINE void digrap_apply_body(float *th, const float *g, float *m, float *v, const float *a, float *p, float kk, float coef,
                              int64_t lo, int64_t hi, const GraftAdamConstants *k) {
    if (p) digrap_apply_loop(th, g, m, v, a, p, kk, coef, lo, hi, *k, 1);
    else digrap_apply_loop(th, g, m, v, a, p, kk, coef, lo, hi, *k, 0);
}
VARIANTS(digrap_apply, (float *theta, const float *g, float *m, float *v, const float *anchor, float *p, float kk, float coef,
                        int64_t lo, int64_t hi, const GraftAdamConstants *k),
         (theta, g, m, v, anchor, p, kk, coef, lo, hi, k))

// MARK: - SPD

INLINE void spd_reduce_body(const float *restrict th, const float *restrict g, float *restrict m, float *restrict v,
                            const float *restrict a, int64_t lo, int64_t hi, const GraftAdamConstants *kp, double *out) {
#pragma clang fp reassociate(on)
    const GraftAdamConstants k = *kp;
    float gc = 0, cc = 0, nn = 0;
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float u = -k.stepSize * mi / (SQRT(vi) * k.invSqrtBC2 + k.eps);
        float c = th[i] - a[i], n = c + u;
        gc += gi * c; cc += c * c; nn += n * n;
    }
    out[0] = gc; out[1] = cc; out[2] = nn;
}
VARIANTS(spd_reduce, (const float *theta, const float *g, float *m, float *v, const float *anchor, int64_t lo, int64_t hi,
                      const GraftAdamConstants *k, double *out),
         (theta, g, m, v, anchor, lo, hi, k, out))

INLINE void spd_apply_body(float *restrict th, const float *restrict m, const float *restrict v, const float *restrict a,
                           int64_t lo, int64_t hi, const GraftAdamConstants *kp, float factor) {
    const GraftAdamConstants k = *kp;
    for (int64_t i = lo; i < hi; i++) {
        float t = th[i];
        float u = -k.stepSize * m[i] / (SQRT(v[i]) * k.invSqrtBC2 + k.eps);
        th[i] = t + u - factor * (t + u - a[i]);
    }
}
VARIANTS(spd_apply, (float *theta, const float *m, const float *v, const float *anchor, int64_t lo, int64_t hi,
                     const GraftAdamConstants *k, float factor),
         (theta, m, v, anchor, lo, hi, k, factor))

// MARK: - FTP

INLINE void ftp_row(const float *restrict th, const float *restrict g, float *restrict m, float *restrict v,
                    const float *restrict a, float *restrict chat, int64_t lo, int64_t hi, const GraftAdamConstants k,
                    int readsPrevious, double *out) {
#pragma clang fp reassociate(on)
    float dot = 0, l1 = 0;
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float u = -k.stepSize * mi / (SQRT(vi) * k.invSqrtBC2 + k.eps);
        float c = th[i] + u - a[i];
        if (readsPrevious) dot += gi * chat[i];
        l1 += __builtin_fabsf(c);
        chat[i] = c;
    }
    out[0] = dot; out[1] = l1;
}
INLINE void ftp_reduce_body(const float *th, const float *g, float *m, float *v, const float *a, float *chat,
                            int64_t lo, int64_t hi, int64_t cols, const GraftAdamConstants *k, int readsPrevious, double *out) {
    int64_t j = 0;
    while (lo < hi) {
        int64_t end = (lo / cols + 1) * cols;
        if (end > hi) end = hi;
        if (readsPrevious) ftp_row(th, g, m, v, a, chat, lo, end, *k, 1, out + 2 * j);
        else ftp_row(th, g, m, v, a, chat, lo, end, *k, 0, out + 2 * j);
        lo = end;
        j++;
    }
}
VARIANTS(ftp_reduce, (const float *theta, const float *g, float *m, float *v, const float *anchor, float *chat, int64_t lo,
                      int64_t hi, int64_t cols, const GraftAdamConstants *k, int readsPrevious, double *out),
         (theta, g, m, v, anchor, chat, lo, hi, cols, k, readsPrevious, out))

INLINE void ftp_apply_body(float *restrict th, const float *restrict a, const float *restrict chat, int64_t lo, int64_t hi,
                           int64_t cols, const float *scales) {
    while (lo < hi) {
        int64_t row = lo / cols;
        int64_t end = (row + 1) * cols;
        if (end > hi) end = hi;
        float s = scales[row];
        for (int64_t i = lo; i < end; i++) th[i] = a[i] + s * chat[i];
        lo = end;
    }
}
VARIANTS(ftp_apply, (float *theta, const float *anchor, const float *chat, int64_t lo, int64_t hi, int64_t cols,
                     const float *scales),
         (theta, anchor, chat, lo, hi, cols, scales))

// MARK: - DiGraP, update placement (Adam → projection → ×(−lr))

INLINE void digrap_update_row(const float *restrict th, const float *restrict g, float *restrict m, float *restrict v,
                              const float *restrict a, const float *restrict p, int64_t lo, int64_t hi,
                              const GraftAdamConstants k, float invBC1, double *out) {
#pragma clang fp reassociate(on)
    float uc = 0, cc = 0, gp = 0, gg = 0, pp = 0;
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float u = mi * invBC1 / (SQRT(vi) * k.invSqrtBC2 + k.eps);
        float c = th[i] - a[i];
        uc += u * c; cc += c * c;
        if (p) { float pi = p[i]; gp += gi * pi; gg += gi * gi; pp += pi * pi; }
    }
    out[0] = uc; out[1] = cc;
    if (p) { out[2] = gp; out[3] = gg; out[4] = pp; }
}
INLINE void digrap_update_reduce_body(const float *th, const float *g, float *m, float *v, const float *a, const float *p,
                                      int64_t lo, int64_t hi, int64_t cols, const GraftAdamConstants *k, float invBC1, double *out) {
    int64_t j = 0;
    while (lo < hi) {
        int64_t end = (lo / cols + 1) * cols;
        if (end > hi) end = hi;
        if (p) digrap_update_row(th, g, m, v, a, p, lo, end, *k, invBC1, out + 5 * j);
        else digrap_update_row(th, g, m, v, a, 0, lo, end, *k, invBC1, out + 5 * j);
        lo = end;
        j++;
    }
}
VARIANTS(digrap_update_reduce, (const float *theta, const float *g, float *m, float *v, const float *anchor, const float *p,
                                int64_t lo, int64_t hi, int64_t cols, const GraftAdamConstants *k, float invBC1, double *out),
         (theta, g, m, v, anchor, p, lo, hi, cols, k, invBC1, out))

INLINE void digrap_update_apply_loop(float *restrict th, const float *restrict m, const float *restrict v, const float *restrict a,
                                     float *restrict p, float kk, float coef, float lr, float invBC1, int64_t lo, int64_t hi,
                                     const GraftAdamConstants k, int storesP) {
    for (int64_t i = lo; i < hi; i++) {
        float t = th[i];
        float c = t - a[i];
        if (storesP) p[i] = coef * c;
        float u = m[i] * invBC1 / (SQRT(v[i]) * k.invSqrtBC2 + k.eps) - kk * c;
        th[i] = t - lr * u;
    }
}
INLINE void digrap_update_apply_body(float *th, const float *m, const float *v, const float *a, float *p, float kk, float coef,
                                     float lr, float invBC1, int64_t lo, int64_t hi, const GraftAdamConstants *k) {
    if (p) digrap_update_apply_loop(th, m, v, a, p, kk, coef, lr, invBC1, lo, hi, *k, 1);
    else digrap_update_apply_loop(th, m, v, a, p, kk, coef, lr, invBC1, lo, hi, *k, 0);
}
VARIANTS(digrap_update_apply, (float *theta, const float *m, const float *v, const float *anchor, float *p, float kk, float coef,
                               float lr, float invBC1, int64_t lo, int64_t hi, const GraftAdamConstants *k),
         (theta, m, v, anchor, p, kk, coef, lr, invBC1, lo, hi, k))

// MARK: - PCGrad (Gram matrix pass, then the combined gradient into Adam)

INLINE float dot_range(const float *restrict x, const float *restrict y, int64_t lo, int64_t hi) {
#pragma clang fp reassociate(on)
    float s = 0;
    for (int64_t i = lo; i < hi; i++) s += x[i] * y[i];
    return s;
}
INLINE void gram_body(const float *const *g, int objectives, int64_t lo, int64_t hi, double *out) {
    int q = 0;
    for (int i = 0; i < objectives; i++)
        for (int j = i; j < objectives; j++) out[q++] = dot_range(g[i], g[j], lo, hi);
}
VARIANTS(gram, (const float *const *g, int objectives, int64_t lo, int64_t hi, double *out), (g, objectives, lo, hi, out))

INLINE void combine_adam_loop(float *restrict th, const float *const *gs, const float *alpha, int objectives, float *restrict m,
                              float *restrict v, int64_t lo, int64_t hi, const GraftAdamConstants k) {
    const float *restrict g0 = gs[0];
    const float *restrict g1 = objectives > 1 ? gs[1] : gs[0];
    const float *restrict g2 = objectives > 2 ? gs[2] : gs[0];
    const float *restrict g3 = objectives > 3 ? gs[3] : gs[0];
    float a0 = alpha[0], a1 = objectives > 1 ? alpha[1] : 0, a2 = objectives > 2 ? alpha[2] : 0, a3 = objectives > 3 ? alpha[3] : 0;
    for (int64_t i = lo; i < hi; i++) {
        float gi = a0 * g0[i] + a1 * g1[i];
        if (objectives > 2) gi += a2 * g2[i] + a3 * g3[i];
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        th[i] -= k.stepSize * mi / (SQRT(vi) * k.invSqrtBC2 + k.eps);
    }
}
INLINE void combine_adam_body(float *th, const float *const *gs, const float *alpha, int objectives, float *m, float *v,
                              int64_t lo, int64_t hi, const GraftAdamConstants *k) {
    // K = 2 and K = 4 as straight-line loops (K = 3 runs as 4 with a zero coefficient).
    if (objectives <= 2) combine_adam_loop(th, gs, alpha, 2, m, v, lo, hi, *k);
    else combine_adam_loop(th, gs, alpha, 4, m, v, lo, hi, *k);
}
VARIANTS(combine_adam, (float *theta, const float *const *g, const float *alpha, int objectives, float *m, float *v, int64_t lo,
                        int64_t hi, const GraftAdamConstants *k),
         (theta, g, alpha, objectives, m, v, lo, hi, k))
