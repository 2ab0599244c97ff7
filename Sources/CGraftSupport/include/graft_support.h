#ifndef GRAFT_SUPPORT_H
#define GRAFT_SUPPORT_H

/// Sets flush-to-zero and denormals-are-zero in the calling thread's floating-point
/// control register (MXCSR on x86-64; FPCR.FZ on AArch64). Returns the previous state
/// so it can be restored with `graft_restore_fp_mode`.
unsigned int graft_enable_flush_to_zero(void);

/// Clears flush-to-zero and denormals-are-zero in the calling thread; returns the previous
/// state, as `graft_enable_flush_to_zero` does.
unsigned int graft_disable_flush_to_zero(void);

/// Restores a state returned by `graft_enable_flush_to_zero` or `graft_disable_flush_to_zero`.
void graft_restore_fp_mode(unsigned int previous);

/// 1 when subnormal floats are currently flushed to zero in this thread, else 0.
int graft_flush_to_zero_enabled(void);

#include "graft_step_chain.h"
#include "graft_finite.h"
#include "graft_pool.h"
#include "graft_reduce.h"

#endif
