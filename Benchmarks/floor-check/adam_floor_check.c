// Is graft-bench's C Adam floor as fast as a plain `-O3 -march=native` C loop on this machine?
//
// Times, in one process and interleaved round by round (so both see the same machine load):
//   plain  the Adam step as one plain loop (sqrtf), compiled with this file's flags
//          (`-O3 -march=native`, with or without `-fno-math-errno`);
//   floor  graft_floor_adam from Benchmarks/CGraftFloors/floors.c, compiled as SwiftPM builds
//          it (`-O2`, no -march: its AVX2+FMA variant is picked at run time).
// Both on one contiguous tensor of N parameters split in two halves over 2 threads: a
// persistent pthread pool with a barrier per step (like an OpenMP `parallel for`). Prints
// the median ns/param of each over all steps. Build and run: see README.md next to this file.
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graft_floors.h"

enum { THREADS = 2 };

static float *th, *g, *m, *v;
static long n;
static GraftAdamConstants K;
static int mode;  // 0 plain, 1 floor, -1 stop
static pthread_barrier_t start_barrier, end_barrier;

static void plain_adam(long lo, long hi, const GraftAdamConstants k) {
    for (long i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = k.b1 * m[i] + k.c1 * gi;
        float vi = k.b2 * v[i] + k.c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        th[i] -= k.stepSize * mi / (sqrtf(vi) * k.invSqrtBC2 + k.eps);
    }
}

static void work(int t) {
    long lo = n * t / THREADS, hi = n * (t + 1) / THREADS;
    if (mode == 0) plain_adam(lo, hi, K);
    else graft_floor_adam(th, g, m, v, lo, hi, &K);
}

static void *worker(void *arg) {
    int t = (int)(intptr_t)arg;
    for (;;) {
        pthread_barrier_wait(&start_barrier);
        if (mode < 0) return NULL;
        work(t);
        pthread_barrier_wait(&end_barrier);
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    n = argc > 1 ? (long)atof(argv[1]) : 10000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 20, steps = argc > 3 ? atoi(argv[3]) : 20;
    size_t bytes = ((size_t)n * 4 + 63) / 64 * 64;
    th = aligned_alloc(64, bytes); g = aligned_alloc(64, bytes); m = aligned_alloc(64, bytes); v = aligned_alloc(64, bytes);
    uint64_t s = 42;
    for (long i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        th[i] = (float)((s >> 40) & 0xFFFFFF) / 16777216.0f * 2 - 1;
        g[i] = (float)((s >> 16) & 0xFFFFFF) / 16777216.0f * 2 - 1;
    }
    memset(m, 0, bytes); memset(v, 0, bytes);
    K = (GraftAdamConstants){.b1 = 0.9f, .b2 = 0.999f, .c1 = 0.1f, .c2 = 0.001f, .stepSize = 1e-3f / 0.1f, .invSqrtBC2 = 1 / sqrtf(0.001f), .eps = 1e-8f};
    pthread_barrier_init(&start_barrier, NULL, THREADS + 1);
    pthread_barrier_init(&end_barrier, NULL, THREADS + 1);
    pthread_t ids[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&ids[t], NULL, worker, (void *)(intptr_t)t);
    double *samples[2];
    samples[0] = malloc(sizeof(double) * rounds * steps);
    samples[1] = malloc(sizeof(double) * rounds * steps);
    int count = 0;
    for (int r = -1; r < rounds; r++) {  // round -1 is the warm-up
        for (int which = 0; which < 2; which++) {
            mode = which;
            for (int k = 0; k < steps; k++) {
                double t0 = now();
                pthread_barrier_wait(&start_barrier);
                pthread_barrier_wait(&end_barrier);
                double dt = now() - t0;
                if (r >= 0) samples[which][count + k] = dt;
            }
        }
        if (r >= 0) count += steps;
    }
    mode = -1;
    pthread_barrier_wait(&start_barrier);
    for (int t = 0; t < THREADS; t++) pthread_join(ids[t], NULL);
    qsort(samples[0], count, sizeof(double), cmp);
    qsort(samples[1], count, sizeof(double), cmp);
    printf("n %ld, %d threads, %d steps each (floor variant: %s)\n", n, THREADS, count, graft_floors_avx2() ? "avx2+fma" : "baseline");
    printf("plain loop   p50 %.3f ns/param   p0 %.3f\n", samples[0][count / 2] / n, samples[0][0] / n);
    printf("C floor      p50 %.3f ns/param   p0 %.3f\n", samples[1][count / 2] / n, samples[1][0] / n);
    printf("floor/plain  %.3f (p50)\n", samples[1][count / 2] / samples[0][count / 2]);
    return 0;
}
