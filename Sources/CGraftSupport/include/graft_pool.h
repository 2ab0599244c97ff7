#ifndef GRAFT_POOL_H
#define GRAFT_POOL_H

#include <stdint.h>

/// A task of a pool job: called once for every index in 0 ..< iterations.
typedef void (*graft_pool_task)(void *context, int64_t index);

/// Runs `task(context, i)` for every i in 0 ..< iterations on the calling thread and up to
/// `threads − 1` of the pool's worker threads, and returns when all of them have returned.
///
/// The pool keeps its workers between jobs: an idle worker spins (with `pause` and
/// `sched_yield`, so it gives its core to any other runnable thread) for the spin time, then
/// sleeps on a futex. A job that follows the previous one within the spin time starts on the
/// workers in well under a microsecond; Dispatch's `concurrentPerform` takes about 13 µs on the
/// 2-core reference VM, which is a tenth of an optimizer step of 10^6 parameters.
///
/// Returns 1 when the job ran, 0 when it did not run at all: the pool serves one job at a time,
/// so a call made while another thread's job (or the caller's own, from inside a task) is
/// running returns 0 at once, as does a job of more than 65535 iterations or a failure to start
/// a worker thread. The caller then runs the job some other way.
int graft_pool_run(int64_t iterations, int threads, graft_pool_task task, void *context);

/// How long an idle worker spins before it sleeps, in microseconds (default 50; 0 sleeps at once).
void graft_pool_set_spin_microseconds(int microseconds);

/// The spin time in microseconds.
int graft_pool_spin_microseconds(void);

/// The number of worker threads started so far (the pool grows to `threads − 1` on demand).
int graft_pool_worker_count(void);

#endif
