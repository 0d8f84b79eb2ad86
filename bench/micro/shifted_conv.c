// A sparse 3x3 convolution (stride 1, padding 1) at batch 1 as CSR strips over two sources:
//   im2col     X[c·9 + ky·3 + kx][pixel]: the classic lowering, 9 copies of the input
//   shifted    S[kx][c][padded row][x] = input[c][row - 1][x + kx - 1]: three copies, one per
//              horizontal tap; the vertical tap is a whole-row offset, so nonzero (c, ky, kx) reads
//              the 64 pixels of a strip contiguously from virtual row (kx·C + c)·(H + 2) + ky with
//              rows W floats apart (the CSR strip's x_stride), aligned, nothing read twice per tap.
// Both run the runtime's CSR strip (relief_csr_strip64_u16_avx512, from relief_simd.c) after a plain
// copy loop; "shifted, 2 rows" a strip that takes two filters at once (eight accumulator chains
// instead of four); and "runtime's strip path" the direct convolution's strip path as it runs
// (relief_shift_taps_avx512, then relief_conv_strips_avx512). Shapes: ResNet-20's three stages
// (16 x 32 x 32, 32 x 16 x 16, 64 x 8 x 8), filters as input channels, 10% density. Prints each
// variant's time per convolution, the build of its source included and alone.
//   cc -O3 -march=native -ISources/CReliefSIMD/include bench/micro/shifted_conv.c Sources/CReliefSIMD/relief_simd.c \
//      -o /tmp/shifted && /tmp/shifted [density]
#include "relief_simd.h"
#include <immintrin.h>
#include <stdio.h>
#include "conv_micro.h"

static void im2col(const float *in, int C, int H, int W, float *x) {
    const int n = H * W;
    for (int c = 0; c < C; c++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                float *row = x + (size_t)(c * 9 + ky * 3 + kx) * n;
                for (int y = 0; y < H; y++) {
                    const int iy = y + ky - 1;
                    for (int xx = 0; xx < W; xx++) {
                        const int ix = xx + kx - 1;
                        row[y * W + xx] = iy < 0 || iy >= H || ix < 0 || ix >= W ? 0 : in[(c * H + iy) * W + ix];
                    }
                }
            }
}

// Rows 0 and H + 1 of each (kx, c) plane stay zero (written once at allocation).
static void shifted(const float *in, int C, int H, int W, float *s) {
    const int hp = H + 2;
    for (int kx = 0; kx < 3; kx++)
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++) {
                float *row = s + ((size_t)(kx * C + c) * hp + y + 1) * W;
                const float *src = in + (c * H + y) * W;
                if (kx == 0) {
                    row[0] = 0;
                    memcpy(row + 1, src, (W - 1) * 4);
                } else if (kx == 1) {
                    memcpy(row, src, W * 4);
                } else {
                    memcpy(row, src + 1, (W - 1) * 4);
                    row[W - 1] = 0;
                }
            }
}

// Two filters per pass: eight independent multiply-add chains.
__attribute__((target("avx512f"))) static void strip64_pairs(const uint32_t *row_start, const uint16_t *cols, const float *vals,
                                                             const float *x, int64_t x_stride, int64_t x_offset, float *y,
                                                             int64_t y_stride, int64_t j, int64_t rows) {
    int64_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        __m512 a[4], b[4];
        for (int i = 0; i < 4; i++) a[i] = b[i] = _mm512_setzero_ps();
        int64_t k = row_start[r], l = row_start[r + 1];
        const int64_t ke = row_start[r + 1], le = row_start[r + 2];
        for (; k < ke && l < le; k++, l++) {
            const __m512 w = _mm512_set1_ps(vals[k]), v = _mm512_set1_ps(vals[l]);
            const float *p = x + (int64_t)cols[k] * x_stride + x_offset, *q = x + (int64_t)cols[l] * x_stride + x_offset;
            for (int i = 0; i < 4; i++) a[i] = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16 * i), a[i]);
            for (int i = 0; i < 4; i++) b[i] = _mm512_fmadd_ps(v, _mm512_loadu_ps(q + 16 * i), b[i]);
        }
        for (; k < ke; k++) {
            const __m512 w = _mm512_set1_ps(vals[k]);
            const float *p = x + (int64_t)cols[k] * x_stride + x_offset;
            for (int i = 0; i < 4; i++) a[i] = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16 * i), a[i]);
        }
        for (; l < le; l++) {
            const __m512 v = _mm512_set1_ps(vals[l]);
            const float *q = x + (int64_t)cols[l] * x_stride + x_offset;
            for (int i = 0; i < 4; i++) b[i] = _mm512_fmadd_ps(v, _mm512_loadu_ps(q + 16 * i), b[i]);
        }
        for (int i = 0; i < 4; i++) {
            _mm512_storeu_ps(y + r * y_stride + j + 16 * i, a[i]);
            _mm512_storeu_ps(y + (r + 1) * y_stride + j + 16 * i, b[i]);
        }
    }
    if (r < rows) relief_csr_strip64_u16_avx512(row_start, cols, vals, x, x_stride, x_offset, 0, y, y_stride, j, r, rows);
}

int main(int argc, char **argv) {
    const double density = micro_density(argc, argv);
    if (density < 0) return 1;
    srand(7);
    for (int sh = 0; sh < 3; sh++) {
        const int C = resnet_stages[sh][0], H = resnet_stages[sh][1], W = H, n = H * W, hp = H + 2;
        // Weights: filters x (c, ky, kx), CSR with both column numberings.
        uint32_t *start = calloc(C + 1, 4);
        uint16_t *colA = malloc(C * C * 9 * 2), *colB = malloc(C * C * 9 * 2);
        float *val = malloc(C * C * 9 * 4);
        int nnz = 0;
        for (int o = 0; o < C; o++) {
            start[o] = nnz;
            for (int c = 0; c < C; c++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        if (rand() < density * RAND_MAX) {
                            colA[nnz] = (uint16_t)(c * 9 + ky * 3 + kx);
                            colB[nnz] = (uint16_t)((kx * C + c) * hp + ky);
                            val[nnz++] = (float)(rand() % 200 - 100) * 0.01f;
                        }
        }
        start[C] = nnz;
        // colB must increase within a row for nothing; the strip takes any order.
        float *in = floats((size_t)C * n), *xa = floats((size_t)C * 9 * n), *xb = floats((size_t)3 * C * hp * W + 64);
        for (int i = 0; i < C * n; i++) in[i] = (float)(rand() % 100) * 0.01f;
        float *ya = floats((size_t)C * n), *yb = floats((size_t)C * n), *yc = floats((size_t)C * n), *yd = floats((size_t)C * n);
        int64_t *off = malloc(8 * (size_t)nnz + 8);
        for (int k = 0; k < nnz; k++) off[k] = (int64_t)colB[k] * W;
        const int reps = 3000000 / (nnz * n / 16 + 1000) + 20;
        double best[7] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
        for (int run = 0; run < 11; run++) {
            for (int v = 0; v < 7; v++) {
                const double t0 = now();
                for (int i = 0; i < reps; i++) {
                    switch (v) {
                    case 0: im2col(in, C, H, W, xa); break;
                    case 1:
                        im2col(in, C, H, W, xa);
                        for (int j = 0; j < n; j += 64)
                            relief_csr_strip64_u16_avx512(start, colA, val, xa, n, j, 0, ya, n, j, 0, C);
                        break;
                    case 2: shifted(in, C, H, W, xb); break;
                    case 3:
                        shifted(in, C, H, W, xb);
                        for (int j = 0; j < n; j += 64) relief_csr_strip64_u16_avx512(start, colB, val, xb, W, j, 0, yb, n, j, 0, C);
                        break;
                    case 4:
                        shifted(in, C, H, W, xb);
                        for (int j = 0; j < n; j += 64) strip64_pairs(start, colB, val, xb, W, j, yc, n, j, C);
                        break;
                    case 5: relief_shift_taps_avx512(in, C, 1, 0, H, W, 1, 1, 3, hp, W, xb); break;
                    default:
                        relief_shift_taps_avx512(in, C, 1, 0, H, W, 1, 1, 3, hp, W, xb);
                        relief_conv_strips_avx512(start, start + 1, off, val, xb, n, 0, 0, 0, 0, yd, n, 0, C);
                    }
                    __asm__ volatile("" ::"r"(ya), "r"(yb), "r"(yc) : "memory");
                }
                const double t = (now() - t0) / reps;
                if (t < best[v]) best[v] = t;
            }
        }
        double err = 0;
        for (int i = 0; i < C * n; i++) {
            const double e1 = ya[i] > yb[i] ? ya[i] - yb[i] : yb[i] - ya[i], e2 = ya[i] > yc[i] ? ya[i] - yc[i] : yc[i] - ya[i];
            const double e3 = ya[i] > yd[i] ? ya[i] - yd[i] : yd[i] - ya[i];
            if (e1 > err) err = e1;
            if (e2 > err) err = e2;
            if (e3 > err) err = e3;
        }
        printf("%d x %d x %d, %d nonzeros (%.1f%%), max difference %.2g:\n", C, H, W, nnz, 100.0 * nnz / (C * C * 9), err);
        printf("  im2col + strip64            %7.2f us (im2col alone %6.2f us, source %4zu KiB)\n", best[1] * 1e6, best[0] * 1e6,
               (size_t)C * 9 * n * 4 / 1024);
        printf("  shifted + strip64           %7.2f us (shift alone  %6.2f us, source %4zu KiB)\n", best[3] * 1e6, best[2] * 1e6,
               (size_t)3 * C * hp * W * 4 / 1024);
        printf("  shifted + strip64, 2 rows   %7.2f us\n", best[4] * 1e6);
        printf("  runtime's strip path        %7.2f us (its shift    %6.2f us)\n", best[6] * 1e6, best[5] * 1e6);
    }
    return 0;
}
