#ifndef GRAFT_FINITE_H
#define GRAFT_FINITE_H

#include <stdint.h>

/// 1 when every one of the `n` floats at `x` is finite (no NaN, no ±Inf), else 0.
///
/// An integer test on the bits: the largest magnitude (sign cleared) is below 0x7f800000 exactly
/// when no element has an all-ones exponent. The running unsigned max vectorises without
/// reassociating float sums; the loop runs 256-bit AVX2 where the CPU has it (picked once at load
/// time), else the baseline instruction set. Subnormals count as finite whatever the FTZ/DAZ mode.
int graft_all_finite(const float *x, int64_t n);

#endif
