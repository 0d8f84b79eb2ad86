// csr's narrow path (relief_csr_narrow_u16, the runtime's own code) on 4 columns, as VGG-11's conv7
// and conv8 run it at batch 1 (512 filters x 4,608 im2col rows at 5%, 2x2 output pixels), against
// the 256-bit masked loop it used before for every n <= 8; one run, best of 200 calls each,
// alternating, over `copies` different matrices (1: hot in L2; 8: from L3, as inside a model).
//   cc -O2 -ISources/CReliefSIMD/include bench/micro/narrow_columns.c -o /tmp/nc -lm && /tmp/nc 1 && /tmp/nc 8
#include "../../Sources/CReliefSIMD/relief_simd.c"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// The earlier loop: one masked 256-bit load of x's row per nonzero, four accumulators.
RELIEF_AVX2 static void masked256(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x, int64_t n,
                                  float *y, int64_t rows) {
    const __m256i m = relief_lanes(n);
    for (int64_t r = 0; r < rows; r++) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int64_t k = row_start[r];
        const int64_t end = row_start[r + 1];
        for (; k + 4 <= end; k += 4) {
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k), _mm256_maskload_ps(x + (int64_t)cols[k] * n, m), a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k + 1), _mm256_maskload_ps(x + (int64_t)cols[k + 1] * n, m), a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k + 2), _mm256_maskload_ps(x + (int64_t)cols[k + 2] * n, m), a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k + 3), _mm256_maskload_ps(x + (int64_t)cols[k + 3] * n, m), a3);
        }
        for (; k < end; k++) a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k), _mm256_maskload_ps(x + (int64_t)cols[k] * n, m), a0);
        _mm256_maskstore_ps(y + r * n, m, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
}

int main(int argc, char **argv) {
    const int rows = 512, columns = 4608, n = 4, copies = argc > 1 && atoi(argv[1]) > 0 && atoi(argv[1]) <= 16 ? atoi(argv[1]) : 1;
    const double density = 0.05;
    if (!relief_simd_avx2_fma()) { printf("needs AVX2 + FMA\n"); return 1; }
    uint32_t *starts[16];
    uint16_t *cols[16];
    float *vals[16];
    srand(3);
    for (int c = 0; c < copies; c++) {
        starts[c] = malloc((rows + 1) * sizeof(uint32_t));
        cols[c] = malloc((size_t)rows * columns * sizeof(uint16_t));
        vals[c] = malloc((size_t)rows * columns * sizeof(float));
        uint32_t nz = 0;
        for (int r = 0; r < rows; r++) {
            starts[c][r] = nz;
            for (int k = 0; k < columns; k++)
                if (rand() < density * RAND_MAX) { cols[c][nz] = (uint16_t)k; vals[c][nz] = 0.01f * (float)(rand() % 100); nz++; }
        }
        starts[c][rows] = nz;
    }
    float *x = malloc((size_t)columns * n * sizeof(float)), *y0 = malloc(rows * n * sizeof(float)), *y1 = malloc(rows * n * sizeof(float));
    for (int i = 0; i < columns * n; i++) x[i] = (float)(i % 7) * 0.1f;
    double best[2] = {1e9, 1e9};
    for (int rep = 0; rep < 400; rep++) {
        const int c = rep / 2 % copies;
        const double t = now();
        if (rep % 2) relief_csr_narrow_u16(starts[c], cols[c], vals[c], x, n, 0, y1, 0, rows);
        else masked256(starts[c], cols[c], vals[c], x, n, y0, rows);
        const double dt = now() - t;
        if (dt < best[rep % 2]) best[rep % 2] = dt;
    }
    double diff = 0;
    for (int i = 0; i < rows * n; i++) diff = fmax(diff, fabs(y0[i] - y1[i]));
    const double nz = starts[0][rows];
    printf("%d x %d at %.0f%%, %d columns, %d matrix copies: 256-bit masked %.1f us (%.2f ns per nonzero), "
           "relief_csr_narrow_u16 %.1f us (%.2f ns per nonzero); max difference %g\n",
           rows, columns, density * 100, n, copies, best[0] * 1e6, best[0] * 1e9 / nz, best[1] * 1e6, best[1] * 1e9 / nz, diff);
    return 0;
}
