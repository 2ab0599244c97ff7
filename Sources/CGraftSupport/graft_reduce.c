// The reduction passes of DiGraP, SPD and FTP and DiGraP's elementwise pass as C loops (see graft_reduce.h): Swift compiles for baseline x86-64,
// whose 128-bit SSE needs twelve registers for the six 8-lane sums and spills; AVX2 holds them in six.
#include "graft_reduce.h"
#include "graft_adam_math.h"
#include <string.h>

#pragma clang fp contract(off)

#define INLINE static inline __attribute__((always_inline))

typedef float v8 __attribute__((vector_size(32), aligned(4)));
typedef int32_t v8i __attribute__((vector_size(32), aligned(4)));

// A macro, not a function: a function returning a 256-bit vector changes the ABI of the baseline
// variant (a warning), while a statement expression is inlined into either variant.
#define load8(x) ({ v8 v_; memcpy(&v_, (x), sizeof v_); v_; })

INLINE void reduce_loop(const float *restrict u, const float *restrict th, const float *restrict a,
                        const float *restrict x, const float *restrict p, int64_t n, float *restrict lanes,
                        const int anchored, const int rows) {
    v8 s[6];
    memcpy(s, lanes, sizeof s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v8 uv = load8(u + i), t = load8(th + i);
        const v8 c = anchored ? t - load8(a + i) : t;
        s[0] += uv * c;
        s[1] += c * c;
        s[2] += uv * uv;
        if (rows) {
            const v8 xv = load8(x + i), pv = load8(p + i);
            s[3] += xv * pv;
            s[4] += xv * xv;
            s[5] += pv * pv;
        }
    }
    for (; i < n; i++) {
        const float c = th[i] - (anchored ? a[i] : 0.0f);
        s[0][0] += u[i] * c;
        s[1][0] += c * c;
        s[2][0] += u[i] * u[i];
        if (rows) {
            s[3][0] += x[i] * p[i];
            s[4][0] += x[i] * x[i];
            s[5][0] += p[i] * p[i];
        }
    }
    memcpy(lanes, s, sizeof s);
}

INLINE void reduce_body(const float *u, const float *th, const float *a, const float *x, const float *p, int64_t n,
                        float *lanes) {
    const int rows = x && p;
    if (a) { if (rows) reduce_loop(u, th, a, x, p, n, lanes, 1, 1); else reduce_loop(u, th, a, x, p, n, lanes, 1, 0); }
    else { if (rows) reduce_loop(u, th, a, x, p, n, lanes, 0, 1); else reduce_loop(u, th, a, x, p, n, lanes, 0, 0); }
}

INLINE void spd_loop(const float *restrict u, const float *restrict th, const float *restrict a, const float *restrict g,
                     int64_t n, float *restrict lanes, const int anchored) {
    v8 s[3];
    memcpy(s, lanes, sizeof s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v8 t = load8(th + i);
        const v8 c = anchored ? t - load8(a + i) : t;
        const v8 next = c + load8(u + i);
        s[0] += load8(g + i) * c;
        s[1] += c * c;
        s[2] += next * next;
    }
    for (; i < n; i++) {
        const float c = th[i] - (anchored ? a[i] : 0.0f), next = c + u[i];
        s[0][0] += g[i] * c;
        s[1][0] += c * c;
        s[2][0] += next * next;
    }
    memcpy(lanes, s, sizeof s);
}

INLINE void spd_body(const float *u, const float *th, const float *a, const float *g, int64_t n, float *lanes) {
    if (a) spd_loop(u, th, a, g, n, lanes, 1); else spd_loop(u, th, a, g, n, lanes, 0);
}

INLINE void ftp_loop(const float *restrict u, const float *restrict th, const float *restrict a, const float *restrict g,
                     const float *restrict d, int64_t n, float *restrict lanes, const int anchored, const int previous) {
    v8 s[3];
    memcpy(s, lanes, sizeof s);
    const v8 zero = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v8 av = anchored ? load8(a + i) : zero;
        const v8 c = load8(th + i) + load8(u + i) - av;
        const v8 dot = previous ? load8(g + i) * load8(d + i) : zero;
        s[0] += dot;
        const v8i negative = c < zero;   // the Swift lanes' `c.replacing(with: -c, where: c .< 0)`
        s[1] += (v8)((negative & (v8i)(-c)) | (~negative & (v8i)c));
        s[2] += zero;
    }
    for (; i < n; i++) {
        const float c = th[i] + u[i] - (anchored ? a[i] : 0.0f);
        s[0][0] += previous ? g[i] * d[i] : 0.0f;
        s[1][0] += __builtin_fabsf(c);
        s[2][0] += 0.0f;
    }
    memcpy(lanes, s, sizeof s);
}

INLINE void ftp_body(const float *u, const float *th, const float *a, const float *g, const float *d, int64_t n, float *lanes) {
    if (a) { if (d) ftp_loop(u, th, a, g, d, n, lanes, 1, 1); else ftp_loop(u, th, a, g, d, n, lanes, 1, 0); }
    else { if (d) ftp_loop(u, th, a, g, d, n, lanes, 0, 1); else ftp_loop(u, th, a, g, d, n, lanes, 0, 0); }
}

INLINE void digrap_apply_loop(const float *restrict u, const float *restrict th, const float *restrict a, float *restrict p,
                              float *restrict out, int64_t n, float k, float inv, float coef, float invp, const int anchored,
                              const int stores, const int project) {
    for (int64_t i = 0; i < n; i++) {
        const float c = anchored ? th[i] - a[i] : th[i];
        if (stores) p[i] = coef * (c * invp);
        out[i] = project ? u[i] - k * (c * inv) : u[i];
    }
}

INLINE void digrap_apply_body(const float *u, const float *th, const float *a, float *p, float *out, int64_t n, float k,
                              float inv, float coef, float invp, int project) {
#define D(A, S, P) digrap_apply_loop(u, th, a, p, out, n, k, inv, coef, invp, A, S, P)
    if (a) {
        if (p) { if (project) D(1, 1, 1); else D(1, 1, 0); } else { if (project) D(1, 0, 1); else D(1, 0, 0); }
    } else {
        if (p) { if (project) D(0, 1, 1); else D(0, 1, 0); } else { if (project) D(0, 0, 1); else D(0, 0, 0); }
    }
#undef D
}

// MARK: - Rows: one call for many consecutive segments of one row each

// Stores the first `width` of the six sums of one segment's 8-lane accumulators, each summed lane
// by lane from −0 as Swift's `SIMD8.sum()` does, as doubles; 0 (nothing stored) when any of the six
// is not finite (`SegmentSums.store`: the caller redoes that segment in Double).
INLINE int store_sums(const float *lanes, int width, double *out) {
    float total[6];
    int finite = 1;
    for (int s = 0; s < 6; s++) {
        float r = -0.0f;
        for (int j = 0; j < 8; j++) r += lanes[8 * s + j];
        total[s] = r;
        finite &= __builtin_isfinite(r) != 0;
    }
    if (!finite) return 0;
    for (int s = 0; s < width; s++) out[s] = (double)total[s];
    return 1;
}

// Runs `BODY` (a reduction over `columns` elements into `lanes`, with the row's pointers offset by
// `o`) for each row, from zeroed lanes, and stores its sums at out + row·stride; stops at the first
// row whose sums overflow and returns its index (`rows` when none did).
#define ROWS_DRIVER(BODY)                                                      \
    for (int64_t r = 0; r < rows; r++) {                                       \
        float lanes[48];                                                       \
        memset(lanes, 0, sizeof lanes);                                        \
        const int64_t o = r * columns;                                         \
        BODY;                                                                  \
        if (!store_sums(lanes, width, out + r * stride)) return r;             \
    }                                                                          \
    return rows;

#define OFF(ptr) ((ptr) ? (ptr) + o : NULL)

INLINE int64_t digrap_rows_body(const float *u, const float *th, const float *a, const float *x, const float *p,
                                int64_t columns, int64_t rows, int width, double *out, int64_t stride) {
    ROWS_DRIVER(reduce_body(u + o, th + o, OFF(a), OFF(x), OFF(p), columns, lanes))
}
INLINE int64_t spd_rows_body(const float *u, const float *th, const float *a, const float *g, int64_t columns,
                             int64_t rows, int width, double *out, int64_t stride) {
    ROWS_DRIVER(spd_body(u + o, th + o, OFF(a), g + o, columns, lanes))
}
INLINE int64_t ftp_rows_body(const float *u, const float *th, const float *a, const float *g, const float *d,
                             int64_t columns, int64_t rows, int width, double *out, int64_t stride) {
    ROWS_DRIVER(ftp_body(u + o, th + o, OFF(a), OFF(g), OFF(d), columns, lanes))
}

// The running maximum of the new values' magnitude bits: below the all-ones exponent (0x7f800000)
// when every value is finite (one unsigned max per vector, no compare-and-or).
INLINE uint32_t larger_magnitude(uint32_t largest, float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    bits &= 0x7fffffffu;
    return bits > largest ? bits : largest;
}

// FTP's elementwise pass over whole rows, after the step rule's update `u`, then an optional
// factor (a learning rate after the projection), storing θ + u: see graft_ftp_apply_rows.
INLINE int ftp_apply_loop(const float *restrict u, const float *restrict th, const float *restrict a, float *restrict d,
                          const double *restrict scales, float *restrict out, int64_t columns, int64_t rows, float factor,
                          const int anchored, const int commit, const int scaled, const int committed) {
    uint32_t largest = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float s = (float)scales[r];
        const int64_t o = r * columns;
        for (int64_t i = o; i < o + columns; i++) {
            const float av = anchored ? a[i] : 0.0f;
            // committed: the reduction pass already stored ĉ = θ + u − θ0 (graft_ftp_commit).
            const float c = committed ? d[i] : th[i] + u[i] - av;
            if (commit && !committed) d[i] = c;
            float step = av + s * c - th[i];
            if (scaled) step *= factor;
            const float next = th[i] + step;
            out[i] = next;
            largest = larger_magnitude(largest, next);
        }
    }
    return largest < 0x7f800000u;
}

// SPD's elementwise pass after the step rule's update `u`, storing θ + u: see graft_spd_apply.
INLINE int spd_apply_loop(const float *restrict u, const float *restrict th, const float *restrict a, float *restrict out,
                          int64_t n, float factor, const int anchored, const int decays) {
    uint32_t largest = 0;
    for (int64_t i = 0; i < n; i++) {
        float step = u[i];
        if (decays) step -= factor * (th[i] + u[i] - (anchored ? a[i] : 0.0f));
        const float next = th[i] + step;
        out[i] = next;
        largest = larger_magnitude(largest, next);
    }
    return largest < 0x7f800000u;
}

INLINE int spd_apply_body(const float *u, const float *th, const float *a, float *out, int64_t n, float factor) {
    if (factor == 0) return spd_apply_loop(u, th, a, out, n, factor, 0, 0);
    return a ? spd_apply_loop(u, th, a, out, n, factor, 1, 1) : spd_apply_loop(u, th, a, out, n, factor, 0, 1);
}

INLINE int ftp_apply_body(const float *u, const float *th, const float *a, float *d, const double *scales, float *out,
                          int64_t columns, int64_t rows, int has_factor, float factor) {
#define F(A, C, S) ftp_apply_loop(u, th, a, d, scales, out, columns, rows, factor, A, C, S, 0)
    if (a) {
        if (d) return has_factor ? F(1, 1, 1) : F(1, 1, 0);
        return has_factor ? F(1, 0, 1) : F(1, 0, 0);
    }
    if (d) return has_factor ? F(0, 1, 1) : F(0, 1, 0);
    return has_factor ? F(0, 0, 1) : F(0, 0, 0);
#undef F
}

INLINE int ftp_apply_committed_body(const float *th, const float *a, const float *d, const double *scales, float *out,
                                    int64_t columns, int64_t rows, int has_factor, float factor) {
#define F(A, S) ftp_apply_loop(NULL, th, a, (float *)d, scales, out, columns, rows, factor, A, 0, S, 1)
    if (a) return has_factor ? F(1, 1) : F(1, 0);
    return has_factor ? F(0, 1) : F(0, 0);
#undef F
}

// ĉ = θ + u − θ0 (θ0 = 0 without an anchor), as the apply loop computes it: FTP's commit at the end
// of a reduction pass that committed the step rule (see graft_ftp_commit).
INLINE void ftp_commit_loop(const float *restrict u, const float *restrict th, const float *restrict a, float *restrict d,
                            int64_t n, const int anchored) {
    for (int64_t i = 0; i < n; i++) d[i] = th[i] + u[i] - (anchored ? a[i] : 0.0f);
}
INLINE void ftp_commit_body(const float *u, const float *th, const float *a, float *d, int64_t n) {
    if (a) ftp_commit_loop(u, th, a, d, n, 1); else ftp_commit_loop(u, th, a, d, n, 0);
}

// MARK: - Reductions fused with the Adam step before them (FTP, SPD)

#define store8(x, value) do { v8 s_ = (value); memcpy((x), &s_, sizeof s_); } while (0)

// The committed Adam step of elements i ..< i + 8 (θ already loaded in `T`): m and v stored, `U`
// declared as the update u·scale, as graft_adam_chain_update computes it (graft_adam_math.h).
#define ADAM_COMMIT8(U, T, g, m, v, sa, i, k, pre, post)                                        \
    v8 U;                                                                                       \
    {                                                                                           \
        const v8 u0_ = GRAFT_PRE_DECAY(load8(g + i), T, load8(sa + i), k.pre_decay, pre);       \
        const v8 mi_ = GRAFT_ADAM_FIRST(k, load8(m + i), u0_);                                  \
        const v8 vi_ = GRAFT_ADAM_SECOND(k, load8(v + i), u0_);                                 \
        store8(m + i, mi_);                                                                     \
        store8(v + i, vi_);                                                                     \
        U = GRAFT_ADAM_DIRECTION(k, mi_, vi_, T, post) * k.scale;                               \
    }
// The same for element i alone.
#define ADAM_COMMIT1(U, T, g, m, v, sa, i, k, pre, post)                                        \
    float U;                                                                                    \
    {                                                                                           \
        const float u0_ = GRAFT_PRE_DECAY(g[i], T, sa[i], k.pre_decay, pre);                    \
        const float mi_ = GRAFT_ADAM_FIRST(k, m[i], u0_);                                       \
        const float vi_ = GRAFT_ADAM_SECOND(k, v[i], u0_);                                      \
        m[i] = mi_;                                                                             \
        v[i] = vi_;                                                                             \
        U = GRAFT_ADAM_DIRECTION(k, mi_, vi_, T, post) * k.scale;                               \
    }

// One row (segment) of graft_adam_ftp_reduce_rows: the step committed, the FTP sums into `lanes`
// (as ftp_loop over the update graft_adam_chain_update would have stored), ĉ_t over ĉ_{t−1}, whose
// old values go to `saved` when the dot reads them (for the restore of an overflowed row).
INLINE void adam_ftp_row(const float *restrict g, const float *restrict th, float *restrict m, float *restrict v,
                         const float *restrict sa, const graft_adam_chain_constants k, const float *restrict a,
                         const float *restrict fg, float *restrict d, float *restrict saved, int64_t n,
                         float *restrict lanes, const int pre, const int post, const int anchored, const int previous) {
    v8 s[2];
    memcpy(s, lanes, sizeof s);
    const v8 zero = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v8 t = load8(th + i);
        ADAM_COMMIT8(u, t, g, m, v, sa, i, k, pre, post)
        const v8 c = t + u - (anchored ? load8(a + i) : zero);
        if (previous) {
            const v8 old = load8(d + i);
            s[0] += load8(fg + i) * old;
            store8(saved + i, old);
        }
        const v8i negative = c < zero;   // the Swift lanes' `c.replacing(with: -c, where: c .< 0)`
        s[1] += (v8)((negative & (v8i)(-c)) | (~negative & (v8i)c));
        store8(d + i, c);
    }
    for (; i < n; i++) {
        const float t = th[i];
        ADAM_COMMIT1(u, t, g, m, v, sa, i, k, pre, post)
        const float c = t + u - (anchored ? a[i] : 0.0f);
        if (previous) {
            s[0][0] += fg[i] * d[i];
            saved[i] = d[i];
        } else {
            s[0][0] += 0.0f;
        }
        s[1][0] += __builtin_fabsf(c);
        d[i] = c;
    }
    memcpy(lanes, s, sizeof s);
}

// One row of graft_adam_spd_reduce_rows: the step committed and SPD's sums into `lanes`, as
// spd_loop over the update graft_adam_chain_update would have stored.
INLINE void adam_spd_row(const float *restrict g, const float *restrict th, float *restrict m, float *restrict v,
                         const float *restrict sa, const graft_adam_chain_constants k, const float *restrict a,
                         const float *restrict sg, int64_t n, float *restrict lanes, const int pre, const int post,
                         const int anchored) {
    v8 s[3];
    memcpy(s, lanes, sizeof s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const v8 t = load8(th + i);
        ADAM_COMMIT8(u, t, g, m, v, sa, i, k, pre, post)
        const v8 c = anchored ? t - load8(a + i) : t;
        const v8 next = c + u;
        s[0] += load8(sg + i) * c;
        s[1] += c * c;
        s[2] += next * next;
    }
    for (; i < n; i++) {
        const float t = th[i];
        ADAM_COMMIT1(u, t, g, m, v, sa, i, k, pre, post)
        const float c = t - (anchored ? a[i] : 0.0f), next = c + u;
        s[0][0] += sg[i] * c;
        s[1][0] += c * c;
        s[2][0] += next * next;
    }
    memcpy(lanes, s, sizeof s);
}

// The rows driver of both: per row from zeroed lanes, the row loop, then its sums stored at
// out + row·width; at the first row whose sums overflow, the row's update from the committed
// moments into u (graft_adam_chain_update_from_moments: the same operations on the same floats),
// `AFTER_OVERFLOW`, and its index returned.
#define FUSED_ROWS_DRIVER(ROW, WIDTH, AFTER_OVERFLOW)                                           \
    for (int64_t r = 0; r < rows; r++) {                                                        \
        float lanes[48];                                                                        \
        memset(lanes, 0, sizeof lanes);                                                         \
        const int64_t o = r * columns;                                                          \
        ROW;                                                                                    \
        if (!store_sums(lanes, WIDTH, out + WIDTH * r)) {                                       \
            graft_adam_chain_update_from_moments(th + o, m + o, v + o, u + o, columns, &k);     \
            AFTER_OVERFLOW;                                                                     \
            return r;                                                                           \
        }                                                                                       \
    }                                                                                           \
    return rows;

INLINE int64_t adam_ftp_rows_loop(const float *g, const float *th, float *m, float *v, const float *sa,
                                  const graft_adam_chain_constants k, const float *a, const float *fg, float *d, float *u,
                                  int64_t columns, int64_t rows, double *out, const int pre, const int post,
                                  const int anchored, const int previous) {
    float saved[GRAFT_SEGMENT_LENGTH];
    FUSED_ROWS_DRIVER(adam_ftp_row(g + o, th + o, m + o, v + o, sa ? sa + o : NULL, k, a ? a + o : NULL, fg ? fg + o : NULL,
                                   d + o, saved, columns, lanes, pre, post, anchored, previous),
                      2, if (previous) memcpy(d + o, saved, (size_t)columns * sizeof(float)))
}

INLINE int64_t adam_spd_rows_loop(const float *g, const float *th, float *m, float *v, const float *sa,
                                  const graft_adam_chain_constants k, const float *a, const float *sg, float *u,
                                  int64_t columns, int64_t rows, double *out, const int pre, const int post,
                                  const int anchored) {
    FUSED_ROWS_DRIVER(adam_spd_row(g + o, th + o, m + o, v + o, sa ? sa + o : NULL, k, a ? a + o : NULL, sg + o, columns,
                                   lanes, pre, post, anchored),
                      3, (void)0)
}

// Calls F(PRE, POST, …) with the step's decay modes as constants.
#define ADAM_MODES(F, ...) do {                                                                    \
        if (k.has_pre_decay == 2) { if (k.has_post_decay) F(2, 1, __VA_ARGS__); F(2, 0, __VA_ARGS__); } \
        if (k.has_pre_decay == 1) { if (k.has_post_decay) F(1, 1, __VA_ARGS__); F(1, 0, __VA_ARGS__); } \
        if (k.has_post_decay) F(0, 1, __VA_ARGS__); F(0, 0, __VA_ARGS__);                         \
    } while (0)

INLINE int64_t adam_ftp_rows_body(const float *g, const float *th, float *m, float *v, const float *sa,
                                  const graft_adam_chain_constants *kp, const float *a, const float *fg, float *d, float *u,
                                  int64_t columns, int64_t rows, double *out) {
    const graft_adam_chain_constants k = *kp;
    if (columns > GRAFT_SEGMENT_LENGTH) return -1;
#define F(PRE, POST, A, P) return adam_ftp_rows_loop(g, th, m, v, sa, k, a, fg, d, u, columns, rows, out, PRE, POST, A, P)
#define ANCHORS(PRE, POST, _) do { if (a) { if (fg) F(PRE, POST, 1, 1); F(PRE, POST, 1, 0); } \
                                   if (fg) F(PRE, POST, 0, 1); F(PRE, POST, 0, 0); } while (0)
    ADAM_MODES(ANCHORS, 0);
#undef ANCHORS
#undef F
}

INLINE int64_t adam_spd_rows_body(const float *g, const float *th, float *m, float *v, const float *sa,
                                  const graft_adam_chain_constants *kp, const float *a, const float *sg, float *u,
                                  int64_t columns, int64_t rows, double *out) {
    const graft_adam_chain_constants k = *kp;
#define F(PRE, POST, _) do { if (a) return adam_spd_rows_loop(g, th, m, v, sa, k, a, sg, u, columns, rows, out, PRE, POST, 1); \
                             return adam_spd_rows_loop(g, th, m, v, sa, k, a, sg, u, columns, rows, out, PRE, POST, 0); } while (0)
    ADAM_MODES(F, 0);
#undef F
}

// MARK: - Exported functions: each body compiled for the baseline and for AVX2, chosen at load time

#if defined(__x86_64__) || defined(__i386__)
static int reduce_has_avx2 = 0;
__attribute__((constructor)) static void graft_reduce_detect(void) {
    __builtin_cpu_init();
    reduce_has_avx2 = __builtin_cpu_supports("avx2");
}
// `graft_NAME PARAMS` runs STATEMENT (the body's call; `return …` when it returns a value) compiled
// with `target("avx2")` where the CPU has it, else for the baseline; ARGS: the parameters' names.
#define VARIANTS(RET, NAME, PARAMS, STATEMENT)                                    \
    __attribute__((target("avx2"))) static RET NAME##_avx2 PARAMS { STATEMENT; }  \
    static RET NAME##_base PARAMS { STATEMENT; }
#define EXPORT_VOID(NAME, PARAMS, ARGS, STATEMENT)                                \
    VARIANTS(void, NAME, PARAMS, STATEMENT)                                       \
    void graft_##NAME PARAMS { if (reduce_has_avx2) NAME##_avx2 ARGS; else NAME##_base ARGS; }
#define EXPORT(RET, NAME, PARAMS, ARGS, STATEMENT)                                \
    VARIANTS(RET, NAME, PARAMS, STATEMENT)                                        \
    RET graft_##NAME PARAMS { return reduce_has_avx2 ? NAME##_avx2 ARGS : NAME##_base ARGS; }
#else
#define EXPORT_VOID(NAME, PARAMS, ARGS, STATEMENT) void graft_##NAME PARAMS { STATEMENT; }
#define EXPORT(RET, NAME, PARAMS, ARGS, STATEMENT) RET graft_##NAME PARAMS { STATEMENT; }
#endif

EXPORT_VOID(digrap_reduce,
            (const float *u, const float *theta, const float *anchor, const float *x, const float *p, int64_t n, float *lanes),
            (u, theta, anchor, x, p, n, lanes), reduce_body(u, theta, anchor, x, p, n, lanes))
EXPORT_VOID(spd_reduce, (const float *u, const float *theta, const float *anchor, const float *g, int64_t n, float *lanes),
            (u, theta, anchor, g, n, lanes), spd_body(u, theta, anchor, g, n, lanes))
EXPORT_VOID(ftp_reduce,
            (const float *u, const float *theta, const float *anchor, const float *g, const float *previous, int64_t n, float *lanes),
            (u, theta, anchor, g, previous, n, lanes), ftp_body(u, theta, anchor, g, previous, n, lanes))
EXPORT_VOID(digrap_apply,
            (const float *u, const float *theta, const float *anchor, float *previous, float *out, int64_t n, float k,
             float inverse_norm, float coefficient, float inverse_norm_p, int project),
            (u, theta, anchor, previous, out, n, k, inverse_norm, coefficient, inverse_norm_p, project),
            digrap_apply_body(u, theta, anchor, previous, out, n, k, inverse_norm, coefficient, inverse_norm_p, project))
EXPORT(int64_t, digrap_reduce_rows,
       (const float *u, const float *theta, const float *anchor, const float *x, const float *p, int64_t columns, int64_t rows,
        int width, double *out, int64_t stride),
       (u, theta, anchor, x, p, columns, rows, width, out, stride),
       return digrap_rows_body(u, theta, anchor, x, p, columns, rows, width, out, stride))
EXPORT(int64_t, spd_reduce_rows,
       (const float *u, const float *theta, const float *anchor, const float *g, int64_t columns, int64_t rows, double *out,
        int64_t stride),
       (u, theta, anchor, g, columns, rows, out, stride), return spd_rows_body(u, theta, anchor, g, columns, rows, 3, out, stride))
EXPORT(int64_t, ftp_reduce_rows,
       (const float *u, const float *theta, const float *anchor, const float *g, const float *previous, int64_t columns,
        int64_t rows, double *out, int64_t stride),
       (u, theta, anchor, g, previous, columns, rows, out, stride),
       return ftp_rows_body(u, theta, anchor, g, previous, columns, rows, 2, out, stride))
EXPORT(int, spd_apply, (const float *u, const float *theta, const float *anchor, float *out, int64_t n, float factor),
       (u, theta, anchor, out, n, factor), return spd_apply_body(u, theta, anchor, out, n, factor))
EXPORT(int, ftp_apply_rows,
       (const float *u, const float *theta, const float *anchor, float *displacement, const double *scales, float *out,
        int64_t columns, int64_t rows, int has_factor, float factor),
       (u, theta, anchor, displacement, scales, out, columns, rows, has_factor, factor),
       return ftp_apply_body(u, theta, anchor, displacement, scales, out, columns, rows, has_factor, factor))
EXPORT(int, ftp_apply_rows_committed,
       (const float *theta, const float *anchor, const float *displacement, const double *scales, float *out, int64_t columns,
        int64_t rows, int has_factor, float factor),
       (theta, anchor, displacement, scales, out, columns, rows, has_factor, factor),
       return ftp_apply_committed_body(theta, anchor, displacement, scales, out, columns, rows, has_factor, factor))
EXPORT(int64_t, adam_ftp_reduce_rows,
       (const float *g, const float *theta, float *m, float *v, const float *step_anchor, const graft_adam_chain_constants *k,
        const float *anchor, const float *ftp_gradient, float *displacement, float *update, int64_t columns, int64_t rows,
        double *out),
       (g, theta, m, v, step_anchor, k, anchor, ftp_gradient, displacement, update, columns, rows, out),
       return adam_ftp_rows_body(g, theta, m, v, step_anchor, k, anchor, ftp_gradient, displacement, update, columns, rows, out))
EXPORT(int64_t, adam_spd_reduce_rows,
       (const float *g, const float *theta, float *m, float *v, const float *step_anchor, const graft_adam_chain_constants *k,
        const float *anchor, const float *spd_gradient, float *update, int64_t columns, int64_t rows, double *out),
       (g, theta, m, v, step_anchor, k, anchor, spd_gradient, update, columns, rows, out),
       return adam_spd_rows_body(g, theta, m, v, step_anchor, k, anchor, spd_gradient, update, columns, rows, out))
EXPORT_VOID(ftp_commit, (const float *u, const float *theta, const float *anchor, float *displacement, int64_t n),
            (u, theta, anchor, displacement, n), ftp_commit_body(u, theta, anchor, displacement, n))
