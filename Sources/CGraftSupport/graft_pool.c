// A small persistent thread pool for GraftTensor's `Parallel` (see graft_pool.h).
//
// One job at a time. The job's progress is one 64-bit atomic word:
//   bits 63..32 generation · bits 31..16 next index to claim · bits 15..0 iteration count.
// A participant claims index `next` with a compare-and-swap that also checks the generation, so a
// worker that wakes late can never claim an index of a later job; a claimed index keeps its job
// alive (the owner waits for every index to finish), so the task and context it reads are that
// job's. Workers count finished indices in `done` (release); the owner waits for `done == count`
// (acquire), which orders every task's effects before the owner returns.
#define _GNU_SOURCE
#include "graft_pool.h"
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define GRAFT_POOL_MAX_WORKERS 255

static atomic_int pool_busy;                 // 1 while a caller owns the pool
static _Atomic uint64_t pool_work;           // generation | next | count
static _Atomic uint32_t pool_futex;          // the generation, as a futex word
static atomic_int pool_sleepers;             // workers in (or entering) a futex wait
static _Atomic int64_t pool_done;            // finished indices of the current job
static atomic_int pool_participants;         // workers with an index below this take part
static atomic_int pool_spin_us = 50;
static atomic_int pool_workers;              // started so far
static graft_pool_task pool_task;            // written by the owner before the job is published
static void *pool_context;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static inline int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#else
    while (atomic_load(word) == expected) sched_yield();
#endif
}

static void futex_wake_all(_Atomic uint32_t *word) {
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

/// Claims and runs indices of the job of generation `generation` until none is left.
static void work_on(uint32_t generation) {
    uint64_t w = atomic_load_explicit(&pool_work, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(w >> 32) != generation) return;
        const uint64_t next = (w >> 16) & 0xffffu, count = w & 0xffffu;
        if (next >= count) return;
        if (atomic_compare_exchange_weak_explicit(&pool_work, &w, w + (1u << 16), memory_order_acq_rel,
                                                  memory_order_acquire)) {
            pool_task(pool_context, (int64_t)next);
            atomic_fetch_add_explicit(&pool_done, 1, memory_order_release);
            w = atomic_load_explicit(&pool_work, memory_order_acquire);
        }
    }
}

static void *worker_main(void *arg) {
    const int index = (int)(intptr_t)arg;
    uint32_t seen = (uint32_t)(atomic_load_explicit(&pool_work, memory_order_acquire) >> 32);
    for (;;) {
        // Wait for a new generation: spin for the spin time, then sleep.
        uint32_t generation = (uint32_t)(atomic_load_explicit(&pool_work, memory_order_acquire) >> 32);
        if (generation == seen) {
            const int64_t spin = (int64_t)atomic_load_explicit(&pool_spin_us, memory_order_relaxed) * 1000;
            const int64_t start = now_ns();
            int64_t lastYield = start;
            for (unsigned round = 1;; round++) {
                cpu_relax();
                generation = (uint32_t)(atomic_load_explicit(&pool_work, memory_order_acquire) >> 32);
                if (generation != seen) break;
                if ((round & 63) == 0) {
                    const int64_t t = now_ns();
                    if (t - start >= spin) break;
                    if (t - lastYield >= 4000) { sched_yield(); lastYield = t; }
                }
            }
            if (generation == seen) {
                atomic_fetch_add(&pool_sleepers, 1);
                if (atomic_load(&pool_futex) == seen) futex_wait(&pool_futex, seen);
                atomic_fetch_sub(&pool_sleepers, 1);
                continue;
            }
        }
        seen = generation;
        if (index < atomic_load_explicit(&pool_participants, memory_order_relaxed)) work_on(generation);
    }
    return NULL;
}

/// Starts workers until there are `wanted` (called by the owner only).
static int grow(int wanted) {
    if (wanted > GRAFT_POOL_MAX_WORKERS) wanted = GRAFT_POOL_MAX_WORKERS;
    int have = atomic_load(&pool_workers);
    while (have < wanted) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        const int failed = pthread_create(&thread, &attributes, worker_main, (void *)(intptr_t)have);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        have++;
        atomic_store(&pool_workers, have);
    }
    return have;
}

int graft_pool_run(int64_t iterations, int threads, graft_pool_task task, void *context) {
    if (iterations <= 0) return 1;
    if (iterations > 0xffff || threads < 2) return 0;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&pool_busy, &expected, 1)) return 0;
    const int workers = grow(threads - 1);
    if (workers < 1) {
        atomic_store(&pool_busy, 0);
        return 0;
    }
    pool_task = task;
    pool_context = context;
    atomic_store_explicit(&pool_done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool_participants, threads - 1, memory_order_relaxed);
    const uint64_t old = atomic_load_explicit(&pool_work, memory_order_relaxed);
    const uint32_t generation = (uint32_t)(old >> 32) + 1;
    atomic_store_explicit(&pool_work, ((uint64_t)generation << 32) | (uint64_t)iterations, memory_order_release);
    atomic_store(&pool_futex, generation);
    if (atomic_load(&pool_sleepers) > 0) futex_wake_all(&pool_futex);
    work_on(generation);
    // Wait for the indices the workers claimed.
    for (unsigned round = 1; atomic_load_explicit(&pool_done, memory_order_acquire) < iterations; round++) {
        cpu_relax();
        if ((round & 1023) == 0) sched_yield();
    }
    atomic_store_explicit(&pool_busy, 0, memory_order_release);
    return 1;
}

void graft_pool_set_spin_microseconds(int microseconds) {
    atomic_store(&pool_spin_us, microseconds < 0 ? 0 : microseconds);
}

int graft_pool_spin_microseconds(void) { return atomic_load(&pool_spin_us); }

int graft_pool_worker_count(void) { return atomic_load(&pool_workers); }
