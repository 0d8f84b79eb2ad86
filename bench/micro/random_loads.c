// How fast the direct convolution's inner loop can run when its input windows sit in L1, in L2 or
// beyond: per weight, a broadcast and 8 multiply-adds of 8 floats from a random offset into a
// buffer of the given size (the loop of relief_tile8x8). Prints GFLOP/s per buffer size; the ratio
// between sizes, measured in one run, is what matters on a shared machine.
//   cc -O2 bench/micro/random_loads.c -o /tmp/random_loads && /tmp/random_loads
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx2,fma"), noinline)) static void tiles(const float *q, const int32_t *offset, const float *vals,
                                                                long n, float *out) {
    // Eight named accumulators: an array is not always kept in registers at -O2.
    __m256 v0 = _mm256_setzero_ps(), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0;
    for (long k = 0; k < n; k++) {
        const float *p = q + offset[k];
        const __m256 w = _mm256_broadcast_ss(vals + k);
        v0 = _mm256_fmadd_ps(w, _mm256_load_ps(p), v0);
        v1 = _mm256_fmadd_ps(w, _mm256_load_ps(p + 8), v1);
        v2 = _mm256_fmadd_ps(w, _mm256_load_ps(p + 16), v2);
        v3 = _mm256_fmadd_ps(w, _mm256_load_ps(p + 24), v3);
        v4 = _mm256_fmadd_ps(w, _mm256_load_ps(p + 32), v4);
        v5 = _mm256_fmadd_ps(w, _mm256_load_ps(p + 40), v5);
        v6 = _mm256_fmadd_ps(w, _mm256_load_ps(p + 48), v6);
        v7 = _mm256_fmadd_ps(w, _mm256_load_ps(p + 56), v7);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3)),
                             _mm256_add_ps(_mm256_add_ps(v4, v5), _mm256_add_ps(v6, v7)));
    _mm256_storeu_ps(out, s);
}

int main(void) {
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) { fprintf(stderr, "needs AVX2 and FMA\n"); return 1; }
    const long weights = 4096, spans[] = {8 << 10, 256 << 10, 4 << 20};
    int32_t *offset = malloc(weights * sizeof *offset);
    float *vals = malloc(weights * sizeof *vals), out[8];
    srand(1);  // seeded: the same offsets every run
    for (long k = 0; k < weights; k++) vals[k] = 0.5f;
    for (int s = 0; s < 3; s++) {
        const long floats = spans[s] / 4;
        float *q = aligned_alloc(64, (floats + 64) * sizeof(float));
        for (long i = 0; i < floats + 64; i++) q[i] = 0.001f * (i % 997);
        for (long k = 0; k < weights; k++) offset[k] = (int32_t)(rand() % (floats / 64)) * 64;
        double best = 1e30;
        for (int r = 0; r < 20; r++) {
            double t = now();
            for (int i = 0; i < 200; i++) tiles(q, offset, vals, weights, out);
            t = now() - t;
            if (t < best) best = t;
        }
        printf("input %6ld KiB: %6.1f GFLOP/s (%.2f ns per weight and 64 outputs)  [%g]\n", spans[s] >> 10,
               2.0 * 64 * weights * 200 / best / 1e9, best / (200.0 * weights) * 1e9, out[0]);
        free(q);
    }
    return 0;
}
