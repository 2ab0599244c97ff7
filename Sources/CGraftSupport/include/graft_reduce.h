#ifndef GRAFT_REDUCE_H
#define GRAFT_REDUCE_H

#include <stdint.h>

#include "graft_step_chain.h"

/// The longest segment of GraftOptim's kernels (`KernelPlan.segmentLength`; a test checks they agree).
#define GRAFT_SEGMENT_LENGTH 4096

/// DiGraP's reduction pass over one segment (see `DirectionalProjection` in GraftOptim), as the
/// Swift lanes accumulate it: `lanes` holds six 8-lane float accumulators (48 floats, lane j of
/// sum s at 8·s + j), updated in place. Per 8 elements from 0 (c = θ − θ0, or θ without anchor):
///   s0 += u·c,  s1 += c·c,  s2 += u·u,  and when x and p are given  s3 += x·p, s4 += x·x, s5 += p·p;
/// the scalar tail adds to lane 0. No FMA contraction and the same lane order, so the result is
/// bitwise the Swift loop's (`SegmentSums`); 256-bit AVX2 where the CPU has it.
void graft_digrap_reduce(const float *u, const float *theta, const float *anchor, const float *x, const float *p,
                         int64_t n, float *lanes);

/// SPD's reduction pass over one segment (`SelectiveProjectionDecay`), as `graft_digrap_reduce`:
/// with c = θ − θ0 (θ without anchor) and `u` the step rule's update,
///   s0 += g·c,  s1 += c·c,  s2 += (c + u)·(c + u).
void graft_spd_reduce(const float *u, const float *theta, const float *anchor, const float *g, int64_t n, float *lanes);

/// FTP's reduction pass over one segment (`TrainableProjection`): with c = θ + u − θ0,
///   s0 += g·ĉ_prev (when `previous` is given, else + 0),  s1 += |c|,  s2 += 0.
void graft_ftp_reduce(const float *u, const float *theta, const float *anchor, const float *g, const float *previous,
                      int64_t n, float *lanes);

/// DiGraP's elementwise pass over elements 0 ..< n (`DirectionalProjection`'s apply lanes), into
/// `out` (which may be `u`): with c = θ − θ0 (θ without anchor),
///   p ← coefficient·(c·inverse_norm_p) when `previous` is given (ω's direction p_t, stored);
///   out ← u − k·(c·inverse_norm) when `project`, else out ← u.
/// The Swift lanes' operations in their order, without FMA: bitwise the Swift loop.
void graft_digrap_apply(const float *u, const float *theta, const float *anchor, float *previous, float *out, int64_t n,
                        float k, float inverse_norm, float coefficient, float inverse_norm_p, int project);

/// The reduction passes over `rows` consecutive rows of `columns` elements each, one segment per
/// row (every pointer at the first row's first element; `g`, `x`, `p`, `previous` as above): for
/// each row, the per-segment function from zeroed lanes, then its sums — each lane by lane from −0,
/// as `SIMD8.sum()` — stored as doubles at out + row·stride (DiGraP: the first `width` of its six,
/// SPD three, FTP two), as `SegmentSums.store` does. Stops at the first row whose sums are not all
/// finite (nothing stored for it; the caller redoes it in Double) and returns its index, or `rows`.
int64_t graft_digrap_reduce_rows(const float *u, const float *theta, const float *anchor, const float *x, const float *p,
                                  int64_t columns, int64_t rows, int width, double *out, int64_t stride);
int64_t graft_spd_reduce_rows(const float *u, const float *theta, const float *anchor, const float *g, int64_t columns,
                               int64_t rows, double *out, int64_t stride);
int64_t graft_ftp_reduce_rows(const float *u, const float *theta, const float *anchor, const float *g, const float *previous,
                               int64_t columns, int64_t rows, double *out, int64_t stride);

/// FTP's elementwise pass (`TrainableProjection`'s apply lanes) over `rows` consecutive rows of
/// `columns` elements, after the step rule's update `u` (all pointers at the first row's first
/// element; `scales` one per row): with s = (float)scales[row] and c = θ + u − θ0 (θ0 = 0 without
/// anchor), stores ĉ = c in `displacement` when given (the commit pass), then
///   u' = θ0 + s·c − θ,  u' ← u'·factor when `has_factor` (a learning rate after the projection),
///   out ← θ + u'.
/// The Swift lanes' operations in their order, without FMA: bitwise the Swift loop. Returns 1 when
/// every new value is finite, else 0.
int graft_ftp_apply_rows(const float *u, const float *theta, const float *anchor, float *displacement, const double *scales,
                         float *out, int64_t columns, int64_t rows, int has_factor, float factor);

/// `graft_ftp_apply_rows` after a reduction pass that committed ĉ (`graft_ftp_commit`): c is read
/// from `displacement` (not written), the rest as there, bitwise.
int graft_ftp_apply_rows_committed(const float *theta, const float *anchor, const float *displacement, const double *scales,
                                   float *out, int64_t columns, int64_t rows, int has_factor, float factor);

/// FTP's commit of ĉ at the end of a reduction pass that committed the step rule: for elements
/// 0 ..< n, displacement ← θ + u − θ0 (θ0 = 0 without anchor), the apply lanes' c, bitwise.
void graft_ftp_commit(const float *u, const float *theta, const float *anchor, float *displacement, int64_t n);

/// FTP's reduction pass fused with the Adam-family step rule before it (`Adam → ×lr → FTP`, the step
/// committing), over `rows` consecutive rows of `columns` elements (≤ 4,096), one segment per row,
/// every pointer at the first row's first element: per element, the step's update u as
/// `graft_adam_chain_update` computes it (m and v committed; g, θ, `step_anchor` for the L2-SP pull,
/// constants `k`), c = θ + u − θ0 (θ0 = `anchor`, 0 when NULL), then the row's two FTP sums in the
/// lanes and order of `graft_ftp_reduce_rows` (s0 += g_ftp·ĉ_{t−1} when `ftp_gradient` is given,
/// s1 += |c|), stored at out + 2·row, and ĉ_t = c stored over ĉ_{t−1} in `displacement`: one loop
/// for what `graft_adam_chain_update`, `graft_ftp_reduce_rows` and `graft_ftp_commit` do in three,
/// bitwise the same. Stops at the first row whose sums are not all finite and returns its index
/// (`rows` when none): that row's step is committed, its ĉ_{t−1} restored and its update stored at
/// update + row·columns, for the caller's precise redo (and its commit of ĉ); rows after it are not
/// touched. Returns −1 (nothing done) when `columns` exceeds `GRAFT_SEGMENT_LENGTH`.
int64_t graft_adam_ftp_reduce_rows(const float *g, const float *theta, float *m, float *v, const float *step_anchor,
                                   const graft_adam_chain_constants *k, const float *anchor, const float *ftp_gradient,
                                   float *displacement, float *update, int64_t columns, int64_t rows, double *out);

/// SPD's reduction pass fused with the Adam-family step rule before it (`Adam → ×lr → SPD`, the step
/// committing), as `graft_adam_ftp_reduce_rows`: per element the step's committed update u, c = θ − θ0
/// (θ without anchor), then the row's three SPD sums in the lanes and order of
/// `graft_spd_reduce_rows` (s0 += g_spd·c, s1 += c·c, s2 += (c + u)·(c + u)) stored at out + 3·row.
/// Stops at the first row whose sums are not all finite and returns its index (`rows` when none):
/// that row's step is committed and its update stored at update + row·columns for the caller's
/// precise redo; rows after it are not touched.
int64_t graft_adam_spd_reduce_rows(const float *g, const float *theta, float *m, float *v, const float *step_anchor,
                                   const graft_adam_chain_constants *k, const float *anchor, const float *spd_gradient,
                                   float *update, int64_t columns, int64_t rows, double *out);

/// SPD's elementwise pass (`SelectiveProjectionDecay`'s apply lanes) over elements 0 ..< n, after
/// the step rule's update `u`: u' = u − factor·((θ + u) − θ0) (θ0 = 0 without anchor; u' = u when
/// factor is 0), out ← θ + u'. The Swift lanes' operations in their order, without FMA: bitwise
/// the Swift loop. Returns 1 when every new value is finite, else 0.
int graft_spd_apply(const float *u, const float *theta, const float *anchor, float *out, int64_t n, float factor);

#endif
