// DiGraP's reduction pass as one C loop (see graft_reduce.h): Swift compiles for baseline x86-64,
// whose 128-bit SSE needs twelve registers for the six 8-lane sums and spills; AVX2 holds them in six.
#include "graft_reduce.h"
#include <string.h>

#pragma clang fp contract(off)

#define INLINE static inline __attribute__((always_inline))

typedef float v8 __attribute__((vector_size(32), aligned(4)));

INLINE v8 load8(const float *x) {
    v8 v;
    memcpy(&v, x, sizeof v);
    return v;
}

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

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void reduce_avx2(const float *u, const float *th, const float *a, const float *x,
                                                        const float *p, int64_t n, float *lanes) {
    reduce_body(u, th, a, x, p, n, lanes);
}
static void reduce_base(const float *u, const float *th, const float *a, const float *x, const float *p, int64_t n,
                        float *lanes) {
    reduce_body(u, th, a, x, p, n, lanes);
}
static int reduce_has_avx2 = 0;
__attribute__((constructor)) static void graft_reduce_detect(void) {
    __builtin_cpu_init();
    reduce_has_avx2 = __builtin_cpu_supports("avx2");
}
void graft_digrap_reduce(const float *u, const float *theta, const float *anchor, const float *x, const float *p,
                         int64_t n, float *lanes) {
    if (reduce_has_avx2) reduce_avx2(u, theta, anchor, x, p, n, lanes);
    else reduce_base(u, theta, anchor, x, p, n, lanes);
}
#else
void graft_digrap_reduce(const float *u, const float *theta, const float *anchor, const float *x, const float *p,
                         int64_t n, float *lanes) {
    reduce_body(u, theta, anchor, x, p, n, lanes);
}
#endif
