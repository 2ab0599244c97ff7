// The finiteness scan of a step's gradients (see graft_finite.h). It reads every gradient once
// before anything changes, so its speed is a share of every optimizer step: 256-bit integer max
// runs at L2 bandwidth where a 128-bit float `x·0` sum (the Swift loop it replaces) does not.
#include "graft_finite.h"
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

INLINE int all_finite_body(const float *restrict x, int64_t n) {
    uint32_t largest = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, 4);
        bits &= 0x7fffffffu;
        largest = bits > largest ? bits : largest;
    }
    return largest < 0x7f800000u;
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static int all_finite_avx2(const float *x, int64_t n) { return all_finite_body(x, n); }
static int all_finite_base(const float *x, int64_t n) { return all_finite_body(x, n); }
static int finite_has_avx2 = 0;
__attribute__((constructor)) static void graft_finite_detect(void) {
    __builtin_cpu_init();
    finite_has_avx2 = __builtin_cpu_supports("avx2");
}
int graft_all_finite(const float *x, int64_t n) { return finite_has_avx2 ? all_finite_avx2(x, n) : all_finite_base(x, n); }
#else
int graft_all_finite(const float *x, int64_t n) { return all_finite_body(x, n); }
#endif
