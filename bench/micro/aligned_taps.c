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
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *floats(size_t n) {
    float *p = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
    memset(p, 0, (n * 4 + 63) / 64 * 64);
    return p;
}

// Lane j of `a` shifted right by one (lane 0 from `prev`'s lane 15), lanes outside `keep` zero.
#define SHIFT_RIGHT(keep, a, prev) \
    _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(keep, _mm512_castps_si512(a), _mm512_castps_si512(prev), 15))
// Lane j of `a` shifted left by one (lane 15 from `next`'s lane 0).
#define SHIFT_LEFT(keep, next, a) \
    _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(keep, _mm512_castps_si512(next), _mm512_castps_si512(a), 1))

// Filters' nonzeros grouped by tap column: group g of filter r is [group[3r + g], group[3r + g + 1]).
// off[k] = channel · H·W + (ky - 1) · W; ky[k] its tap row. W divides 64, so a 64-pixel strip is
// whole rows; strips touching the first or last row mask their loads per tap row.
__attribute__((target("avx512f"))) static void conv_aligned(const uint32_t *group, const int64_t *off, const uint8_t *kys,
                                                            const float *vals, const float *x, int H, int W, float *y,
                                                            int filters) {
    const int n = H * W;
    __mmask16 left[4], right[4];
    for (int i = 0; i < 4; i++) {
        unsigned l = 0, r = 0;
        for (int j = 0; j < 16; j++) {
            const int col = (16 * i + j) % W;
            if (col != 0) l |= 1u << j;
            if (col != W - 1) r |= 1u << j;
        }
        left[i] = (__mmask16)l;
        right[i] = (__mmask16)r;
    }
    const __m512 zero = _mm512_setzero_ps();
    for (int p0 = 0; p0 < n; p0 += 64) {
        // Row masks per tap row and vector: lanes whose source row lies in the image.
        __mmask16 rm[3][4];
        int interior = 1;
        for (int ky = 0; ky < 3; ky++)
            for (int i = 0; i < 4; i++) {
                unsigned m = 0;
                for (int j = 0; j < 16; j++) {
                    const int row = (p0 + 16 * i + j) / W + ky - 1;
                    if (row >= 0 && row < H) m |= 1u << j;
                }
                rm[ky][i] = (__mmask16)m;
                if (m != 0xffff) interior = 0;
            }
        const float *src = x + p0;
        for (int r = 0; r < filters; r++) {
            __m512 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
            const uint32_t g0 = group[3 * r], g1 = group[3 * r + 1], g2 = group[3 * r + 2], g3 = group[3 * r + 3];
            if (interior) {
                for (uint32_t k = g0; k < g1; k++) {
                    const __m512 w = _mm512_set1_ps(vals[k]);
                    const float *p = src + off[k];
                    const __m512 v0 = _mm512_loadu_ps(p), v1 = _mm512_loadu_ps(p + 16), v2 = _mm512_loadu_ps(p + 32),
                                 v3 = _mm512_loadu_ps(p + 48);
                    a0 = _mm512_fmadd_ps(w, SHIFT_RIGHT(left[0], v0, zero), a0);
                    a1 = _mm512_fmadd_ps(w, SHIFT_RIGHT(left[1], v1, v0), a1);
                    a2 = _mm512_fmadd_ps(w, SHIFT_RIGHT(left[2], v2, v1), a2);
                    a3 = _mm512_fmadd_ps(w, SHIFT_RIGHT(left[3], v3, v2), a3);
                }
                for (uint32_t k = g1; k < g2; k++) {
                    const __m512 w = _mm512_set1_ps(vals[k]);
                    const float *p = src + off[k];
                    a0 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p), a0);
                    a1 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16), a1);
                    a2 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 32), a2);
                    a3 = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 48), a3);
                }
                for (uint32_t k = g2; k < g3; k++) {
                    const __m512 w = _mm512_set1_ps(vals[k]);
                    const float *p = src + off[k];
                    const __m512 v0 = _mm512_loadu_ps(p), v1 = _mm512_loadu_ps(p + 16), v2 = _mm512_loadu_ps(p + 32),
                                 v3 = _mm512_loadu_ps(p + 48);
                    a0 = _mm512_fmadd_ps(w, SHIFT_LEFT(right[0], v1, v0), a0);
                    a1 = _mm512_fmadd_ps(w, SHIFT_LEFT(right[1], v2, v1), a1);
                    a2 = _mm512_fmadd_ps(w, SHIFT_LEFT(right[2], v3, v2), a2);
                    a3 = _mm512_fmadd_ps(w, SHIFT_LEFT(right[3], zero, v3), a3);
                }
            } else {
                for (uint32_t k = g0; k < g3; k++) {
                    const __m512 w = _mm512_set1_ps(vals[k]);
                    const float *p = src + off[k];
                    const __mmask16 *m = rm[kys[k]];
                    const __m512 v0 = _mm512_maskz_loadu_ps(m[0], p), v1 = _mm512_maskz_loadu_ps(m[1], p + 16),
                                 v2 = _mm512_maskz_loadu_ps(m[2], p + 32), v3 = _mm512_maskz_loadu_ps(m[3], p + 48);
                    if (k < g1) {
                        a0 = _mm512_fmadd_ps(w, SHIFT_RIGHT(left[0], v0, zero), a0);
                        a1 = _mm512_fmadd_ps(w, SHIFT_RIGHT(left[1], v1, v0), a1);
                        a2 = _mm512_fmadd_ps(w, SHIFT_RIGHT(left[2], v2, v1), a2);
                        a3 = _mm512_fmadd_ps(w, SHIFT_RIGHT(left[3], v3, v2), a3);
                    } else if (k < g2) {
                        a0 = _mm512_fmadd_ps(w, v0, a0);
                        a1 = _mm512_fmadd_ps(w, v1, a1);
                        a2 = _mm512_fmadd_ps(w, v2, a2);
                        a3 = _mm512_fmadd_ps(w, v3, a3);
                    } else {
                        a0 = _mm512_fmadd_ps(w, SHIFT_LEFT(right[0], v1, v0), a0);
                        a1 = _mm512_fmadd_ps(w, SHIFT_LEFT(right[1], v2, v1), a1);
                        a2 = _mm512_fmadd_ps(w, SHIFT_LEFT(right[2], v3, v2), a2);
                        a3 = _mm512_fmadd_ps(w, SHIFT_LEFT(right[3], zero, v3), a3);
                    }
                }
            }
            float *out = y + (size_t)r * n + p0;
            _mm512_storeu_ps(out, a0);
            _mm512_storeu_ps(out + 16, a1);
            _mm512_storeu_ps(out + 32, a2);
            _mm512_storeu_ps(out + 48, a3);
        }
    }
}

int main(int argc, char **argv) {
    const double density = argc > 1 ? atof(argv[1]) : 0.1;
    if (!relief_simd_avx512()) {
        printf("needs AVX-512\n");
        return 1;
    }
    const int shapes[3][2] = {{16, 32}, {32, 16}, {64, 8}};
    srand(7);
    for (int sh = 0; sh < 3; sh++) {
        const int C = shapes[sh][0], H = shapes[sh][1], W = H, n = H * W, hp = H + 2;
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
