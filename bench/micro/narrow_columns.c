// csr's narrow path (relief_csr_narrow_u16, the runtime's own code) on 4 columns, as VGG-11's conv7
// and conv8 run it at batch 1 (512 filters x 4,608 im2col rows at 5%, 2x2 output pixels), against
// the 256-bit masked loop it used before for every n <= 8 (relief_narrow_rows256, which still takes
// 5 to 8 columns), and on AVX-512 CPUs against relief_csr_narrow_u16_avx512 (four nonzeros per
// 512-bit vector); one run, best of 200 calls each, alternating, over `copies` different matrices
// (1: hot in L2; 8: from L3, as inside a model).
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
    float *x = malloc((size_t)columns * n * sizeof(float)), *y[3];
    for (int v = 0; v < 3; v++) y[v] = malloc(rows * n * sizeof(float));
    for (int i = 0; i < columns * n; i++) x[i] = (float)(i % 7) * 0.1f;
    const int variants = relief_simd_avx512() ? 3 : 2;
    double best[3] = {1e9, 1e9, 1e9};
    for (int rep = 0; rep < 200 * variants; rep++) {
        const int c = rep / variants % copies, v = rep % variants;
        const double t = now();
        if (v == 0) relief_narrow_rows256(starts[c], cols[c], vals[c], x, n, 0, y[0], 0, rows);
        else if (v == 1) relief_csr_narrow_u16(starts[c], cols[c], vals[c], x, n, 0, y[1], 0, rows);
        else relief_csr_narrow_u16_avx512(starts[c], cols[c], vals[c], x, n, 0, y[2], 0, rows);
        const double dt = now() - t;
        if (dt < best[v]) best[v] = dt;
    }
    double diff = 0;
    for (int v = 1; v < variants; v++)
        for (int i = 0; i < rows * n; i++) diff = fmax(diff, fabs(y[0][i] - y[v][i]));
    const double nz = starts[0][rows];
    printf("%d x %d at %.0f%%, %d columns, %d matrix copies: 256-bit masked %.1f us (%.2f ns per nonzero), "
           "relief_csr_narrow_u16 %.1f us (%.2f ns per nonzero)",
           rows, columns, density * 100, n, copies, best[0] * 1e6, best[0] * 1e9 / nz, best[1] * 1e6, best[1] * 1e9 / nz);
    if (variants == 3) printf(", relief_csr_narrow_u16_avx512 %.1f us (%.2f ns per nonzero)", best[2] * 1e6, best[2] * 1e9 / nz);
    printf("; max difference %g\n", diff);
    return 0;
}
