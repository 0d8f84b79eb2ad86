// A sparse 3x3 "same" convolution (stride 1, padding 1) at batch 1 without the strip path's
// tap-shifted copy: every load is an aligned 512-bit load of the input itself, and a tap column
// kx != 1 shifts the loaded vectors by one lane in registers (valignd of a vector and its neighbour,
// zero-masking the lanes whose column falls outside the row). Rows outside the image are either
// masked loads ("planar": the runtime's planar layout, channels H·W floats apart) or zero rows the
// layout already holds ("row-padded": one zero row above and below each channel's image, so
// channels are (H + 2)·W floats apart and, on ResNet-20's 32 x 32 stage, no longer 4 KiB apart,
// which puts a strip's sixteen channel windows into the same L1 sets).
// "row-padded" runs the runtime's kernel (relief_conv_taps_avx512), alone and after its copy
// (relief_shift_taps_avx512 with one unshifted column); against the runtime's strip path with the
// tap-shifted copy (relief_shift_taps_avx512 + relief_conv_strips_avx512).
// ResNet-20's three stages (16 x 32 x 32, 32 x 16 x 16, 64 x 8 x 8), filters as input channels.
//   cc -O3 -march=native -ISources/CReliefSIMD/include bench/micro/aligned_taps.c Sources/CReliefSIMD/relief_simd.c \
//      -o /tmp/taps && /tmp/taps [density]
#include "relief_simd.h"
#include <immintrin.h>
#include <stdio.h>
#include "conv_micro.h"

// Filters' nonzeros grouped by tap column: group g of filter r is [group[3r + g], group[3r + g + 1]).
// off[k] = channel · H·W + (ky - 1) · W; ky[k] its tap row. W divides 64, so a 64-pixel strip is
// whole rows; every load is masked to the lanes whose source row lies in the image (all of them
// away from the first and last rows), and tap column g shifts the loaded vectors as the runtime's
// relief_conv_taps_avx512 does.
__attribute__((target("avx512f"))) static void conv_aligned(const uint32_t *group, const int64_t *off, const uint8_t *kys,
                                                            const float *vals, const float *x, int H, int W, float *y,
                                                            int filters) {
    const int n = H * W;
    __mmask16 keep[3][4];  // per tap column: lanes whose source column lies in the row
    for (int i = 0; i < 4; i++)
        for (int g = 0; g < 3; g++) {
            unsigned m = 0;
            for (int j = 0; j < 16; j++) {
                const int col = (16 * i + j) % W + g - 1;
                if (col >= 0 && col < W) m |= 1u << j;
            }
            keep[g][i] = (__mmask16)m;
        }
    const __m512i zero = _mm512_setzero_si512();
    for (int p0 = 0; p0 < n; p0 += 64) {
        __mmask16 rows[3][4];  // per tap row: lanes whose source row lies in the image
        for (int ky = 0; ky < 3; ky++)
            for (int i = 0; i < 4; i++) {
                unsigned m = 0;
                for (int j = 0; j < 16; j++) {
                    const int row = (p0 + 16 * i + j) / W + ky - 1;
                    if (row >= 0 && row < H) m |= 1u << j;
                }
                rows[ky][i] = (__mmask16)m;
            }
        for (int r = 0; r < filters; r++) {
            __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            for (int g = 0; g < 3; g++)
                for (uint32_t k = group[3 * r + g]; k < group[3 * r + g + 1]; k++) {
                    const __m512 w = _mm512_set1_ps(vals[k]);
                    __m512i v[6] = {zero, zero, zero, zero, zero, zero};  // v[i + 1]: vector i, zeros around
                    for (int i = 0; i < 4; i++) v[i + 1] = _mm512_maskz_loadu_epi32(rows[kys[k]][i], x + p0 + off[k] + 16 * i);
                    for (int i = 0; i < 4; i++) {
                        const __m512i t = g == 0 ? _mm512_maskz_alignr_epi32(keep[0][i], v[i + 1], v[i], 15)
                                          : g == 2 ? _mm512_maskz_alignr_epi32(keep[2][i], v[i + 2], v[i + 1], 1) : v[i + 1];
                        a[i] = _mm512_fmadd_ps(w, _mm512_castsi512_ps(t), a[i]);
                    }
                }
            for (int i = 0; i < 4; i++) _mm512_storeu_ps(y + (size_t)r * n + p0 + 16 * i, a[i]);
        }
    }
}

int main(int argc, char **argv) {
    const double density = micro_density(argc, argv);
    if (density < 0) return 1;
    srand(7);
    for (int sh = 0; sh < 3; sh++) {
        const int C = resnet_stages[sh][0], H = resnet_stages[sh][1], W = H, n = H * W, hp = H + 2;
        uint32_t *start = calloc(C + 1, 4), *group = calloc(3 * C + 1, 4);
        int *cs = malloc(C * C * 9 * 4), *kyv = malloc(C * C * 9 * 4), *kxv = malloc(C * C * 9 * 4);
        float *val = malloc(C * C * 9 * 4), *gval = malloc(C * C * 9 * 4);
        int nnz = 0;
        for (int o = 0; o < C; o++) {
            start[o] = nnz;
            for (int c = 0; c < C; c++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        if (rand() < density * RAND_MAX) {
                            cs[nnz] = c, kyv[nnz] = ky, kxv[nnz] = kx;
                            val[nnz++] = (float)(rand() % 200 - 100) * 0.01f;
                        }
        }
        start[C] = nnz;
        // The runtime's strip path: offsets into the tap-shifted copy.
        int64_t *off = malloc(8 * (size_t)nnz + 8);
        for (int k = 0; k < nnz; k++) off[k] = ((int64_t)(kxv[k] * C + cs[k]) * hp + kyv[k]) * W;
        // Grouped by tap column, for both in-place layouts.
        const int64_t planes[2] = {n, (int64_t)hp * W};
        int64_t *goff[2] = {malloc(8 * (size_t)nnz + 8), malloc(8 * (size_t)nnz + 8)};
        uint8_t *gky = malloc((size_t)nnz + 1);
        int at = 0;
        for (int o = 0; o < C; o++)
            for (int g = 0; g < 3; g++) {
                group[3 * o + g] = at;
                for (int k = start[o]; k < (int)start[o + 1]; k++)
                    if (kxv[k] == g) {
                        // Planar: relative to the output pixel; row-padded: to the copy's first (zero) row.
                        goff[0][at] = cs[k] * planes[0] + (int64_t)(kyv[k] - 1) * W;
                        goff[1][at] = cs[k] * planes[1] + (int64_t)kyv[k] * W;
                        gky[at] = (uint8_t)kyv[k];
                        gval[at++] = val[k];
                    }
            }
        group[3 * C] = at;
        float *in = floats((size_t)C * n), *rowpad = floats((size_t)C * hp * W + 128), *xb = floats((size_t)3 * C * hp * W + 64);
        for (int i = 0; i < C * n; i++) in[i] = (float)(rand() % 100) * 0.01f;
        for (int c = 0; c < C; c++) memcpy(rowpad + ((size_t)c * hp + 1) * W, in + (size_t)c * n, (size_t)n * 4);
        float *ya = floats((size_t)C * n), *yb = floats((size_t)C * n), *yc = floats((size_t)C * n);
        const int reps = 3000000 / (nnz * n / 16 + 1000) + 20;
        double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
        for (int run = 0; run < 15; run++) {
            for (int v = 0; v < 5; v++) {
                const double t0 = now();
                for (int i = 0; i < reps; i++) {
                    switch (v) {
                    case 0: relief_shift_taps_avx512(in, C, 1, 0, H, W, 1, 1, 3, hp, W, xb); break;
                    case 1:
                        relief_shift_taps_avx512(in, C, 1, 0, H, W, 1, 1, 3, hp, W, xb);
                        relief_conv_strips_avx512(start, start + 1, off, val, xb, n, 0, 0, 0, 0, ya, n, 0, C);
                        break;
                    case 2: conv_aligned(group, goff[0], gky, gval, in, H, W, yb, C); break;
                    case 3: relief_conv_taps_avx512(group, goff[1], gval, rowpad, n, W, 0, 0, 0, 0, yc, n, 0, C); break;
                    default:
                        relief_shift_taps_avx512(in, C, 1, 0, H, W, 1, 0, 1, hp, W, rowpad);
                        relief_conv_taps_avx512(group, goff[1], gval, rowpad, n, W, 0, 0, 0, 0, yc, n, 0, C);
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
            if (e1 > err) err = e1;
            if (e2 > err) err = e2;
        }
        printf("%d x %d x %d, %d nonzeros (%.1f%%), max difference %.2g:\n", C, H, W, nnz, 100.0 * nnz / (C * C * 9), err);
        printf("  runtime's strip path        %7.2f us (its shift %6.2f us)\n", best[1] * 1e6, best[0] * 1e6);
        printf("  aligned taps, planar        %7.2f us\n", best[2] * 1e6);
        printf("  aligned taps, row-padded    %7.2f us (after its copy %6.2f us)\n", best[3] * 1e6, best[4] * 1e6);
    }
    return 0;
}
