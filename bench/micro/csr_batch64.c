// Sparse matrix x 64 columns (batch 64) with AVX-512: is the CSR strip bound by L2, and does
// splitting the matrix's columns into blocks whose rows of X fit in L1 help? On one random matrix
// (LeNet-300-100's fc1 shape by default), in one run:
//   strip64      the runtime's kernel: per row, 64 outputs in four registers, one nonzero at a time
//                reading its 256-byte row of X (X, 200 KB at fc1, stays in L2)
//   strip64x2    the same with two sets of accumulators (even and odd nonzeros): eight chains
//   block64      columns in blocks of B rows of X (B * 256 bytes in L1); per block and row the
//                outputs are loaded, updated by the row's nonzeros in the block, stored
//   block64x2    the same with two accumulator sets
//   block32x2    32-column strips (two registers per set), blocks of 2B rows
// and prints each time and strip64's time divided by it. Results are checked against a plain loop.
//   cc -O3 -march=native bench/micro/csr_batch64.c -o /tmp/csr64 && /tmp/csr64 [density] [rows] [columns] [block]
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

enum { N = 64 };
static int rows, columns, block, blocks;
static uint32_t *row_start, *block_start;  // block_start[r * (blocks + 1) + b]
static uint16_t *cols;
static float *vals, *x, *y, *ref;

// a[0..3] += w * p[0..64)
static inline __attribute__((always_inline)) void fma64(__m512 a[4], __m512 w, const float *p) {
    for (int i = 0; i < 4; i++) a[i] = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16 * i), a[i]);
}

static inline __attribute__((always_inline)) void store64(float *o, const __m512 a[4]) {
    for (int i = 0; i < 4; i++) _mm512_storeu_ps(o + 16 * i, a[i]);
}

static void strip64(void) {
    for (int r = 0; r < rows; r++) {
        __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (uint32_t k = row_start[r]; k < row_start[r + 1]; k++) fma64(a, _mm512_set1_ps(vals[k]), x + (int64_t)cols[k] * N);
        store64(y + (int64_t)r * N, a);
    }
}

// 64 outputs += nonzeros k0..<k1, two accumulator sets.
static inline __attribute__((always_inline)) void run64x2(uint32_t k0, uint32_t k1, float *o) {
    __m512 a[4], b[4];
    for (int i = 0; i < 4; i++) a[i] = _mm512_loadu_ps(o + 16 * i), b[i] = _mm512_setzero_ps();
    uint32_t k = k0;
    for (; k + 2 <= k1; k += 2) {
        fma64(a, _mm512_set1_ps(vals[k]), x + (int64_t)cols[k] * N);
        fma64(b, _mm512_set1_ps(vals[k + 1]), x + (int64_t)cols[k + 1] * N);
    }
    if (k < k1) fma64(a, _mm512_set1_ps(vals[k]), x + (int64_t)cols[k] * N);
    for (int i = 0; i < 4; i++) a[i] = _mm512_add_ps(a[i], b[i]);
    store64(o, a);
}

static void strip64x2(void) {
    memset(y, 0, sizeof(float) * rows * N);
    for (int r = 0; r < rows; r++) run64x2(row_start[r], row_start[r + 1], y + (int64_t)r * N);
}

static void block64(void) {
    memset(y, 0, sizeof(float) * rows * N);
    for (int b = 0; b < blocks; b++)
        for (int r = 0; r < rows; r++) {
            const uint32_t *s = block_start + r * (blocks + 1);
            float *o = y + (int64_t)r * N;
            __m512 a[4];
            for (int i = 0; i < 4; i++) a[i] = _mm512_loadu_ps(o + 16 * i);
            for (uint32_t k = s[b]; k < s[b + 1]; k++) fma64(a, _mm512_set1_ps(vals[k]), x + (int64_t)cols[k] * N);
            store64(o, a);
        }
}

static void block64x2(void) {
    memset(y, 0, sizeof(float) * rows * N);
    for (int b = 0; b < blocks; b++)
        for (int r = 0; r < rows; r++) {
            const uint32_t *s = block_start + r * (blocks + 1);
            run64x2(s[b], s[b + 1], y + (int64_t)r * N);
        }
}

// 32 columns (half of X's row) at a time, two sets of two registers; blocks twice as tall would
// hold the same bytes, but the blocks here are the same (the half rows are 128 bytes apart).
static void block32x2(void) {
    memset(y, 0, sizeof(float) * rows * N);
    for (int h = 0; h < N; h += 32)
        for (int b = 0; b < blocks; b++)
            for (int r = 0; r < rows; r++) {
                const uint32_t *s = block_start + r * (blocks + 1);
                float *o = y + (int64_t)r * N + h;
                __m512 a0 = _mm512_loadu_ps(o), a1 = _mm512_loadu_ps(o + 16), b0 = _mm512_setzero_ps(), b1 = b0;
                uint32_t k = s[b];
                for (; k + 2 <= s[b + 1]; k += 2) {
                    const __m512 w = _mm512_set1_ps(vals[k]), v = _mm512_set1_ps(vals[k + 1]);
                    const float *p = x + (int64_t)cols[k] * N + h, *q = x + (int64_t)cols[k + 1] * N + h;
                    a0 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p), a0);
                    a1 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16), a1);
                    b0 = _mm512_fmadd_ps(v, _mm512_loadu_ps(q), b0);
                    b1 = _mm512_fmadd_ps(v, _mm512_loadu_ps(q + 16), b1);
                }
                if (k < s[b + 1]) {
                    const __m512 w = _mm512_set1_ps(vals[k]);
                    const float *p = x + (int64_t)cols[k] * N + h;
                    a0 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p), a0);
                    a1 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16), a1);
                }
                _mm512_storeu_ps(o, _mm512_add_ps(a0, b0)), _mm512_storeu_ps(o + 16, _mm512_add_ps(a1, b1));
            }
}

static double best(void (*f)(void)) {
    double t = INFINITY, spent = 0;
    for (int i = 0; i < 5 || spent < 0.3; i++) {
        double s = now();
        f();
        double e = now() - s;
        spent += e;
        if (e < t) t = e;
    }
    double err = 0;
    for (int64_t i = 0; i < (int64_t)rows * N; i++) err = fmax(err, fabs(y[i] - ref[i]) / fmax(1, fabs(ref[i])));
    if (err > 1e-4) { fprintf(stderr, "wrong result: %g\n", err); exit(1); }
    return t;
}

int main(int argc, char **argv) {
    double density = argc > 1 ? atof(argv[1]) : 0.5;
    rows = argc > 2 ? atoi(argv[2]) : 300;
    columns = argc > 3 ? atoi(argv[3]) : 784;
    block = argc > 4 ? atoi(argv[4]) : 128;
    blocks = (columns + block - 1) / block;
    srand(7);
    row_start = malloc(sizeof(uint32_t) * (rows + 1));
    cols = malloc(sizeof(uint16_t) * rows * columns);
    vals = malloc(sizeof(float) * rows * columns);
    block_start = malloc(sizeof(uint32_t) * rows * (blocks + 1));
    uint32_t nnz = 0;
    for (int r = 0; r < rows; r++) {
        row_start[r] = nnz;
        for (int c = 0; c < columns; c++) {
            if (c % block == 0) block_start[r * (blocks + 1) + c / block] = nnz;
            if (rand() < density * RAND_MAX) { cols[nnz] = c; vals[nnz] = rand() / (float)RAND_MAX - 0.5f; nnz++; }
        }
        block_start[r * (blocks + 1) + blocks] = nnz;
    }
    row_start[rows] = nnz;
    x = aligned_alloc(64, sizeof(float) * columns * N);
    y = aligned_alloc(64, sizeof(float) * rows * N);
    ref = malloc(sizeof(float) * rows * N);
    for (int64_t i = 0; i < (int64_t)columns * N; i++) x[i] = rand() / (float)RAND_MAX;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (uint32_t k = row_start[r]; k < row_start[r + 1]; k++) s += vals[k] * x[(int64_t)cols[k] * N + j];
            ref[r * N + j] = s;
        }
    printf("%d x %d, %.1f%% (%u nonzeros), 64 columns, blocks of %d rows of X (%d KiB)\n", rows, columns, 100 * density, nnz, block,
           block * N * 4 / 1024);
    const char *names[] = {"strip64", "strip64x2", "block64", "block64x2", "block32x2"};
    void (*fs[])(void) = {strip64, strip64x2, block64, block64x2, block32x2};
    double base = 0;
    for (int i = 0; i < 5; i++) {
        double t = best(fs[i]);
        if (i == 0) base = t;
        printf("%-10s %8.1f us  %.2fx  %.1f GFLOP/s\n", names[i], 1e6 * t, base / t, 2.0 * nnz * N / t / 1e9);
    }
    return 0;
}
