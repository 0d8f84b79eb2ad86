#include "relief_simd.h"
#include <string.h>

// Small maps at stride 1 (VGG's 8x8, 4x4 and 2x2 at batch 1): each image plane is copied once into a
// zero-padded plane on the stack, and every output row is then a copy of ow floats from it, a
// fixed-size move for 2, 4 and 8 (the per-row bounds cost as much as the copy at these sizes).
static void relief_im2col_small(const float *x, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t kh, int64_t kw,
                                int64_t ph, int64_t pw, int64_t oh, int64_t ow, float *cols) {
    enum { capacity = 4096 };
    float pad[capacity];
    const int64_t hp = h + 2 * ph, wp = w + 2 * pw, n = batch * oh * ow;
    for (int64_t i = 0; i < hp * wp; i++) pad[i] = 0;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t b = 0; b < batch; b++) {
            const float *plane = x + (c * batch + b) * h * w;
            // Only the interior changes from plane to plane; the border stays zero.
            for (int64_t r = 0; r < h; r++)
                for (int64_t i = 0; i < w; i++) pad[(r + ph) * wp + pw + i] = plane[r * w + i];
            for (int64_t ky = 0; ky < kh; ky++)
                for (int64_t kx = 0; kx < kw; kx++) {
                    float *row = cols + ((c * kh + ky) * kw + kx) * n + b * oh * ow;
                    for (int64_t oy = 0; oy < oh; oy++) {
                        const float *from = pad + (oy + ky) * wp + kx;
                        float *to = row + oy * ow;
                        switch (ow) {
                        case 2: memcpy(to, from, 2 * sizeof(float)); break;
                        case 4: memcpy(to, from, 4 * sizeof(float)); break;
                        case 8: memcpy(to, from, 8 * sizeof(float)); break;
                        default: for (int64_t i = 0; i < ow; i++) to[i] = from[i];
                        }
                    }
                }
        }
}

// The output columns ox whose tap lands inside the image are one range [lo, hi) per tap column, so
// each output row is zeros, a copy (contiguous at stride 1), zeros: no test per element (Swift's
// version with a call per run spent more on the calls than on the copies for 4x4 and 2x2 maps).
void relief_im2col(const float *x, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t kh, int64_t kw,
                   int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t oh, int64_t ow, float *cols) {
    if (sh == 1 && sw == 1 && ow <= 8 && (h + 2 * ph) * (w + 2 * pw) <= 4096 && oh + kh - 1 <= h + 2 * ph && ow + kw - 1 <= w + 2 * pw) {
        relief_im2col_small(x, channels, batch, h, w, kh, kw, ph, pw, oh, ow, cols);
        return;
    }
    const int64_t n = batch * oh * ow;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t ky = 0; ky < kh; ky++)
            for (int64_t kx = 0; kx < kw; kx++) {
                float *row = cols + ((c * kh + ky) * kw + kx) * n;
                int64_t lo = pw - kx > 0 ? (pw - kx + sw - 1) / sw : 0, t = w - 1 + pw - kx, hi = t < 0 ? 0 : t / sw + 1;
                if (lo > ow) lo = ow;
                if (hi > ow) hi = ow;
                if (hi < lo) hi = lo;
                for (int64_t b = 0; b < batch; b++) {
                    const float *plane = x + (c * batch + b) * h * w;
                    for (int64_t oy = 0; oy < oh; oy++) {
                        const int64_t iy = oy * sh - ph + ky;
                        float *out = row + (b * oh + oy) * ow;
                        if (iy < 0 || iy >= h) {
                            for (int64_t i = 0; i < ow; i++) out[i] = 0;
                            continue;
                        }
                        const float *line = plane + iy * w + kx - pw;
                        for (int64_t i = 0; i < lo; i++) out[i] = 0;
                        if (sw == 1)
                            for (int64_t i = lo; i < hi; i++) out[i] = line[i];
                        else
                            for (int64_t i = lo; i < hi; i++) out[i] = line[i * sw];
                        for (int64_t i = hi; i < ow; i++) out[i] = 0;
                    }
                }
            }
}


#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define RELIEF_AVX2 __attribute__((target("avx2,fma")))

int relief_simd_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// One CSR strip: for each row, `regs` vectors of `lanes` floats hold columns j ..< j + regs * lanes
// of Y while the row's nonzeros add w * x[col][x_offset ...]; instantiated for 32 and 64 columns in
// 256-bit (here) and 512-bit vectors (after RELIEF_AVX512). Constant loop bounds: the accumulators
// stay in registers.
#define RELIEF_CSR_STRIP(name, target, vec, set1, load, fma, store, lanes, regs)                                        \
    target void name(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x, int64_t x_stride, \
                     int64_t x_offset, const float *bias, float *y, int64_t y_stride, int64_t j, int64_t row_begin,      \
                     int64_t row_end) {                                                                                   \
        for (int64_t r = row_begin; r < row_end; r++) {                                                                   \
            vec a[regs];                                                                                                  \
            for (int i = 0; i < regs; i++) a[i] = set1(bias ? bias[r] : 0.0f);                                           \
            for (int64_t k = row_start[r]; k < (int64_t)row_start[r + 1]; k++) {                                          \
                const vec w = set1(vals[k]);                                                                              \
                const float *p = x + (int64_t)cols[k] * x_stride + x_offset;                                              \
                for (int i = 0; i < regs; i++) a[i] = fma(w, load(p + lanes * i), a[i]);                                  \
            }                                                                                                             \
            for (int i = 0; i < regs; i++) store(y + r * y_stride + j + lanes * i, a[i]);                                 \
        }                                                                                                                 \
    }

#define RELIEF_CSR_BLOCKED(name, target, vec, set1, load, fma, store, lanes, regs)                                       \
    target void name(const uint32_t *block_start, int64_t blocks, const uint16_t *cols, const float *vals,               \
                     const float *x, int64_t x_stride, int64_t x_offset, const float *bias, float *y, int64_t y_stride,  \
                     int64_t j, int64_t row_begin, int64_t row_end) {                                                     \
        for (int64_t b = 0; b < blocks; b++) {                                                                            \
            for (int64_t r = row_begin; r < row_end; r++) {                                                               \
                float *o = y + r * y_stride + j;                                                                          \
                const uint32_t *s = block_start + r * (blocks + 1) + b;                                                   \
                vec a[regs];                                                                                              \
                if (b == 0) {                                                                                             \
                    for (int i = 0; i < regs; i++) a[i] = set1(bias ? bias[r] : 0.0f);                                   \
                } else {                                                                                                  \
                    if (s[0] == s[1]) continue;                                                                           \
                    for (int i = 0; i < regs; i++) a[i] = load(o + lanes * i);                                            \
                }                                                                                                         \
                for (int64_t k = s[0]; k < (int64_t)s[1]; k++) {                                                          \
                    const vec w = set1(vals[k]);                                                                          \
                    const float *p = x + (int64_t)cols[k] * x_stride + x_offset;                                          \
                    for (int i = 0; i < regs; i++) a[i] = fma(w, load(p + lanes * i), a[i]);                              \
                }                                                                                                         \
                for (int i = 0; i < regs; i++) store(o + lanes * i, a[i]);                                                \
            }                                                                                                             \
        }                                                                                                                 \
    }

RELIEF_CSR_STRIP(relief_csr_strip32_u16, RELIEF_AVX2, __m256, _mm256_set1_ps, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_storeu_ps, 8, 4)
RELIEF_CSR_BLOCKED(relief_csr_blocked32_u16, RELIEF_AVX2, __m256, _mm256_set1_ps, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_storeu_ps, 8, 4)
RELIEF_CSR_BLOCKED(relief_csr_blocked64_u16, RELIEF_AVX2, __m256, _mm256_set1_ps, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_storeu_ps, 8, 8)
// 64 columns: eight independent FMA chains hide the FMA latency (four chains, as in the 32-column
// strip, left half of the two FMA ports idle).
RELIEF_CSR_STRIP(relief_csr_strip64_u16, RELIEF_AVX2, __m256, _mm256_set1_ps, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_storeu_ps, 8, 8)

// A tile of 64 consecutive outputs in eight registers for the direct convolution's vector tiles,
// which add w * p[0..<64] per nonzero. Always inlined, so the tile never leaves the registers.
typedef struct { __m256 v[8]; } relief_tile64;

RELIEF_AVX2 static inline __attribute__((always_inline)) void relief_tile64_init(relief_tile64 *t, float start) {
    for (int i = 0; i < 8; i++) t->v[i] = _mm256_set1_ps(start);
}

RELIEF_AVX2 static inline __attribute__((always_inline)) void relief_tile64_load(relief_tile64 *t, const float *p) {
    for (int i = 0; i < 8; i++) t->v[i] = _mm256_loadu_ps(p + 8 * i);
}

RELIEF_AVX2 static inline __attribute__((always_inline)) void relief_tile64_fma(relief_tile64 *t, __m256 w, const float *p) {
    for (int i = 0; i < 8; i++) t->v[i] = _mm256_fmadd_ps(w, _mm256_loadu_ps(p + 8 * i), t->v[i]);
}

RELIEF_AVX2 static inline __attribute__((always_inline)) void relief_tile64_store(const relief_tile64 *t, float *out) {
    for (int i = 0; i < 8; i++) _mm256_storeu_ps(out + 8 * i, t->v[i]);
}

// Lanes 0 ..< m of a mask (m in 0...8): 8 - m entries into the table.
static const int32_t relief_mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
RELIEF_AVX2 static inline __m256i relief_lanes(int64_t m) {
    return _mm256_loadu_si256((const __m256i *)(relief_mask_table + 8 - m));
}

// x's row of n <= 4 floats: all of a 128-bit register (whole, n == 4), else under mask m.
RELIEF_AVX2 static inline __attribute__((always_inline)) __m128 relief_narrow_load128(const float *p, __m128i m, const int whole) {
    return whole ? _mm_loadu_ps(p) : _mm_maskload_ps(p, m);
}

// Rows [row_begin, row_end) of W x for n <= 4 columns: half registers, since a masked 256-bit load
// costs more than a 128-bit one (VGG-11's conv7 at batch 1, 4 pixels: 0.52 against 0.62 ns per
// nonzero, bench/micro/narrow_columns.c). Four accumulators; whole is a constant (n == 4).
RELIEF_AVX2 static inline __attribute__((always_inline)) void relief_narrow_rows128(const uint32_t *row_start, const uint16_t *cols,
                                                                                    const float *vals, const float *x, int64_t n,
                                                                                    const float *bias, float *y, int64_t row_begin,
                                                                                    int64_t row_end, const int whole) {
    const __m128i m = _mm256_castsi256_si128(relief_lanes(n));
    for (int64_t r = row_begin; r < row_end; r++) {
        __m128 a0 = _mm_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int64_t k = row_start[r];
        const int64_t end = row_start[r + 1];
        for (; k + 4 <= end; k += 4) {
            a0 = _mm_fmadd_ps(_mm_broadcast_ss(vals + k), relief_narrow_load128(x + (int64_t)cols[k] * n, m, whole), a0);
            a1 = _mm_fmadd_ps(_mm_broadcast_ss(vals + k + 1), relief_narrow_load128(x + (int64_t)cols[k + 1] * n, m, whole), a1);
            a2 = _mm_fmadd_ps(_mm_broadcast_ss(vals + k + 2), relief_narrow_load128(x + (int64_t)cols[k + 2] * n, m, whole), a2);
            a3 = _mm_fmadd_ps(_mm_broadcast_ss(vals + k + 3), relief_narrow_load128(x + (int64_t)cols[k + 3] * n, m, whole), a3);
        }
        for (; k < end; k++) a0 = _mm_fmadd_ps(_mm_broadcast_ss(vals + k), relief_narrow_load128(x + (int64_t)cols[k] * n, m, whole), a0);
        __m128 sum = _mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a3));
        if (bias) sum = _mm_add_ps(sum, _mm_set1_ps(bias[r]));
        if (whole) _mm_storeu_ps(y + r * n, sum);
        else _mm_maskstore_ps(y + r * n, m, sum);
    }
}

// Rows [row_begin, row_end) of W x for n <= 8 columns: one masked 256-bit register per row of x,
// four accumulators.
RELIEF_AVX2 static void relief_narrow_rows256(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x,
                                              int64_t n, const float *bias, float *y, int64_t row_begin, int64_t row_end) {
    const __m256i m = relief_lanes(n);
    for (int64_t r = row_begin; r < row_end; r++) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int64_t k = row_start[r];
        const int64_t end = row_start[r + 1];
        for (; k + 4 <= end; k += 4) {
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k), _mm256_maskload_ps(x + (int64_t)cols[k] * n, m), a0);
            a1 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k + 1), _mm256_maskload_ps(x + (int64_t)cols[k + 1] * n, m), a1);
            a2 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k + 2), _mm256_maskload_ps(x + (int64_t)cols[k + 2] * n, m), a2);
            a3 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k + 3), _mm256_maskload_ps(x + (int64_t)cols[k + 3] * n, m), a3);
        }
        for (; k < end; k++)
            a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(vals + k), _mm256_maskload_ps(x + (int64_t)cols[k] * n, m), a0);
        __m256 sum = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
        if (bias) sum = _mm256_add_ps(sum, _mm256_set1_ps(bias[r]));
        _mm256_maskstore_ps(y + r * n, m, sum);
    }
}

// Small batches (and a convolution's few pixels at batch 1 after im2col): the one-column-at-a-time
// loops ran one FMA chain per column, waiting on its latency every nonzero.
RELIEF_AVX2 void relief_csr_narrow_u16(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x, int64_t n,
                                       const float *bias, float *y, int64_t row_begin, int64_t row_end) {
    if (n == 4) {
        relief_narrow_rows128(row_start, cols, vals, x, 4, bias, y, row_begin, row_end, 1);
        return;
    }
    if (n < 4) {
        relief_narrow_rows128(row_start, cols, vals, x, n, bias, y, row_begin, row_end, 0);
        return;
    }
    if (n <= 8) {
        relief_narrow_rows256(row_start, cols, vals, x, n, bias, y, row_begin, row_end);
        return;
    }
    const __m256i m = relief_lanes(n - 8);
    for (int64_t r = row_begin; r < row_end; r++) {
        __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0;
        int64_t k = row_start[r];
        const int64_t end = row_start[r + 1];
        for (; k + 2 <= end; k += 2) {
            const float *p = x + (int64_t)cols[k] * n, *q = x + (int64_t)cols[k + 1] * n;
            const __m256 w = _mm256_broadcast_ss(vals + k), v = _mm256_broadcast_ss(vals + k + 1);
            a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(p), a0);
            b0 = _mm256_fmadd_ps(w, _mm256_maskload_ps(p + 8, m), b0);
            a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(q), a1);
            b1 = _mm256_fmadd_ps(v, _mm256_maskload_ps(q + 8, m), b1);
        }
        if (k < end) {
            const float *p = x + (int64_t)cols[k] * n;
            const __m256 w = _mm256_broadcast_ss(vals + k);
            a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(p), a0);
            b0 = _mm256_fmadd_ps(w, _mm256_maskload_ps(p + 8, m), b0);
        }
        __m256 lo = _mm256_add_ps(a0, a1), hi = _mm256_add_ps(b0, b1);
        if (bias) {
            const __m256 b = _mm256_set1_ps(bias[r]);
            lo = _mm256_add_ps(lo, b);
            hi = _mm256_add_ps(hi, b);
        }
        _mm256_storeu_ps(y + r * n, lo);
        _mm256_maskstore_ps(y + r * n + 8, m, hi);
    }
}

// 8x8 blocks transposed in registers (unpack, shuffle, then swap 128-bit halves): every load and
// store is a full row of 8, where the scalar loop wrote one float per cache line touched.
// Row i of the transpose of the 8x8 block a (rows lda floats apart) into r[i].
RELIEF_AVX2 static inline __attribute__((always_inline)) void relief_transpose8x8(const float *a, int64_t lda, __m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(a + lda)),
           t1 = _mm256_unpackhi_ps(_mm256_loadu_ps(a), _mm256_loadu_ps(a + lda)),
           t2 = _mm256_unpacklo_ps(_mm256_loadu_ps(a + 2 * lda), _mm256_loadu_ps(a + 3 * lda)),
           t3 = _mm256_unpackhi_ps(_mm256_loadu_ps(a + 2 * lda), _mm256_loadu_ps(a + 3 * lda)),
           t4 = _mm256_unpacklo_ps(_mm256_loadu_ps(a + 4 * lda), _mm256_loadu_ps(a + 5 * lda)),
           t5 = _mm256_unpackhi_ps(_mm256_loadu_ps(a + 4 * lda), _mm256_loadu_ps(a + 5 * lda)),
           t6 = _mm256_unpacklo_ps(_mm256_loadu_ps(a + 6 * lda), _mm256_loadu_ps(a + 7 * lda)),
           t7 = _mm256_unpackhi_ps(_mm256_loadu_ps(a + 6 * lda), _mm256_loadu_ps(a + 7 * lda));
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
           s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
           s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
           s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

RELIEF_AVX2 void relief_transpose(const float *a, int64_t rows, int64_t columns, int64_t lda, float *out, int64_t ldo) {
    int64_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        int64_t j = 0;
        for (; j + 8 <= columns; j += 8) {
            __m256 r[8];
            relief_transpose8x8(a + i * lda + j, lda, r);
            for (int64_t k = 0; k < 8; k++) _mm256_storeu_ps(out + (j + k) * ldo + i, r[k]);
        }
        for (; j < columns; j++)
            for (int64_t ii = i; ii < i + 8; ii++) out[j * ldo + ii] = a[ii * lda + j];
    }
    for (; i < rows; i++)
        for (int64_t j = 0; j < columns; j++) out[j * ldo + i] = a[i * lda + j];
}

RELIEF_AVX2 void relief_transpose_columns(const float *a, int64_t rows, int64_t lda, const int32_t *cols, int64_t count, float *out,
                                          int64_t ldo) {
    int64_t i = 0;
    for (; i + 8 <= rows; i += 8) {
        const float *block = a + i * lda;
        int64_t j = 0;
        while (j < count) {
            // Increasing columns: 8 of them span 7 exactly when they are consecutive.
            if (j + 8 <= count && cols[j + 7] - cols[j] == 7) {
                __m256 r[8];
                relief_transpose8x8(block + cols[j], lda, r);
                for (int64_t k = 0; k < 8; k++) _mm256_storeu_ps(out + (j + k) * ldo + i, r[k]);
                j += 8;
                continue;
            }
            const float *p = block + cols[j];
            _mm256_storeu_ps(out + j * ldo + i, _mm256_setr_ps(p[0], p[lda], p[2 * lda], p[3 * lda], p[4 * lda], p[5 * lda], p[6 * lda], p[7 * lda]));
            j++;
        }
    }
    for (; i < rows; i++)
        for (int64_t j = 0; j < count; j++) out[j * ldo + i] = a[i * lda + cols[j]];
}

RELIEF_AVX2 static inline __m256 relief_sell8_slot(const uint32_t *block_column, const uint8_t *lanes, const float *values,
                                                    const float *x, int64_t t, __m256 acc) {
    __m256i lane = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(lanes + 8 * t)));
    __m256 xs = _mm256_permutevar8x32_ps(_mm256_loadu_ps(x + block_column[t]), lane);
    return _mm256_fmadd_ps(_mm256_loadu_ps(values + 8 * t), xs, acc);
}

RELIEF_AVX2 void relief_sell8_gemv(const uint32_t *slice_start, const uint32_t *block_column, const uint8_t *lanes, const float *values,
                                   const float *x, const float *bias, float *y, int64_t rows, int64_t slice_begin, int64_t slice_end) {
    for (int64_t s = slice_begin; s < slice_end; s++) {
        // Four accumulators: one FMA chain would wait on its own latency every slot.
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int64_t t = slice_start[s], end = slice_start[s + 1];
        for (; t + 4 <= end; t += 4) {
            a0 = relief_sell8_slot(block_column, lanes, values, x, t, a0);
            a1 = relief_sell8_slot(block_column, lanes, values, x, t + 1, a1);
            a2 = relief_sell8_slot(block_column, lanes, values, x, t + 2, a2);
            a3 = relief_sell8_slot(block_column, lanes, values, x, t + 3, a3);
        }
        for (; t < end; t++) a0 = relief_sell8_slot(block_column, lanes, values, x, t, a0);
        __m256 sum = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
        int64_t first = 8 * s, count = rows - first < 8 ? rows - first : 8;
        if (count == 8) {
            if (bias) sum = _mm256_add_ps(sum, _mm256_loadu_ps(bias + first));
            _mm256_storeu_ps(y + first, sum);
        } else {
            float out[8];
            _mm256_storeu_ps(out, sum);
            for (int64_t i = 0; i < count; i++) y[first + i] = out[i] + (bias ? bias[first + i] : 0.0f);
        }
    }
}

// x's values for one slot, lane by lane: eight scalar loads beat vgatherdps here (bench/micro/spmv_batch1.c).
RELIEF_AVX2 static inline __m256 relief_sellsigma_slot(const uint32_t *c, const float *x) {
    return _mm256_setr_ps(x[c[0]], x[c[1]], x[c[2]], x[c[3]], x[c[4]], x[c[5]], x[c[6]], x[c[7]]);
}

// The same for 16-bit columns: a slot's 8 indices come in two 64-bit loads and are taken apart by
// shifts, 10 loads per slot instead of 17, and each half is built in a 128-bit register
// (bench/micro/spmv_batch1.c, sell-packed against sell-lanes: 1.0-1.9x faster over runs on
// LeNet-300-100's fc1 at 5% and 2%; this machine's noise is most of that spread).
RELIEF_AVX2 static inline __m256 relief_sellsigma_slot16(const uint16_t *c, const float *x) {
    uint64_t lo, hi;
    memcpy(&lo, c, 8);
    memcpy(&hi, c + 4, 8);
    const __m128 a = _mm_setr_ps(x[lo & 0xffff], x[(lo >> 16) & 0xffff], x[(lo >> 32) & 0xffff], x[lo >> 48]);
    const __m128 b = _mm_setr_ps(x[hi & 0xffff], x[(hi >> 16) & 0xffff], x[(hi >> 32) & 0xffff], x[hi >> 48]);
    return _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1);
}

RELIEF_AVX2 static inline void relief_sellsigma_store(__m256 sum, const uint32_t *row_of_lane, const float *bias, float *y,
                                                      int64_t rows, int64_t s) {
    float out[8];
    _mm256_storeu_ps(out, sum);
    const int64_t first = 8 * s;
    const uint32_t *lane = row_of_lane + first;
    if (rows - first >= 8) {
        // A whole slice: eight independent stores, the bias test out of the loop.
        if (bias) {
            for (int i = 0; i < 8; i++) y[lane[i]] = out[i] + bias[lane[i]];
        } else {
            for (int i = 0; i < 8; i++) y[lane[i]] = out[i];
        }
        return;
    }
    for (int64_t i = 0; i < rows - first; i++) y[lane[i]] = out[i] + (bias ? bias[lane[i]] : 0.0f);
}

// Both index widths (and the 16-lane AVX-512 kernel) share one loop, written once as a macro so each
// copy is compiled with its own slot loader (one inlined body with a width flag measured 1.1-2x
// slower at batch 1). Two accumulators: consecutive slots' multiply-adds do not wait on each other.
#define RELIEF_SELLSIGMA_GEMV(NAME, TARGET, INDEX, VEC, ZERO, LOAD, FMA, ADD, LANES, SLOT, STORE)                       \
    TARGET void NAME(const uint32_t *slice_start, const INDEX *columns, const float *values, const uint32_t *row_of_lane, \
                     const float *x, const float *bias, float *y, int64_t rows, int64_t slice_begin, int64_t slice_end) { \
        for (int64_t s = slice_begin; s < slice_end; s++) {                                                             \
            VEC a0 = ZERO(), a1 = a0;                                                                                   \
            int64_t t = slice_start[s];                                                                                 \
            const int64_t end = slice_start[s + 1];                                                                     \
            for (; t + 2 <= end; t += 2) {                                                                              \
                a0 = FMA(LOAD(values + LANES * t), SLOT(columns + LANES * t, x), a0);                                   \
                a1 = FMA(LOAD(values + LANES * t + LANES), SLOT(columns + LANES * t + LANES, x), a1);                   \
            }                                                                                                           \
            if (t < end) a0 = FMA(LOAD(values + LANES * t), SLOT(columns + LANES * t, x), a0);                          \
            STORE(ADD(a0, a1), row_of_lane, bias, y, rows, s);                                                          \
        }                                                                                                               \
    }

RELIEF_SELLSIGMA_GEMV(relief_sellsigma_gemv_u16, RELIEF_AVX2, uint16_t, __m256, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_fmadd_ps,
                      _mm256_add_ps, 8, relief_sellsigma_slot16, relief_sellsigma_store)
RELIEF_SELLSIGMA_GEMV(relief_sellsigma_gemv, RELIEF_AVX2, uint32_t, __m256, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_fmadd_ps,
                      _mm256_add_ps, 8, relief_sellsigma_slot, relief_sellsigma_store)

// Eight vectors anywhere in the input, one pointer each (q[i] = source + s[step * i]), plus offset[k]
// per nonzero k in [k0, k1), times vals[k], added to init (or b), stored to out: the accumulators
// and pointers fill 8 + 8 registers, the weight and its offset are loaded once for all eight.
// Offsets come as int64 (offset) or, when offset32 is not null, int32; the callers pass a constant
// null, so each inlined copy reads one kind. Instantiated for 256-bit vectors (relief_tile8x8) and,
// after RELIEF_AVX512, 512-bit ones (relief_tile16_avx512).
#define RELIEF_POINTER_TILE(name, target, vec, set1, load, fma, store, lanes, step)                                      \
    target static inline __attribute__((always_inline)) void name(const float *source, const int32_t *s,                \
                                                                  const int64_t *offset, const int32_t *offset32,         \
                                                                  const float *vals, int64_t k0, int64_t k1, float b,     \
                                                                  const float *init, float *out) {                        \
        const float *q[8];                                                                                                \
        vec v[8];                                                                                                         \
        for (int i = 0; i < 8; i++) {                                                                                     \
            q[i] = source + s[step * i];                                                                                  \
            v[i] = init ? load(init + lanes * i) : set1(b);                                                               \
        }                                                                                                                 \
        for (int64_t k = k0; k < k1; k++) {                                                                               \
            const int64_t o = offset32 ? offset32[k] : offset[k];                                                         \
            const vec w = set1(vals[k]);                                                                                  \
            for (int i = 0; i < 8; i++) v[i] = fma(w, load(q[i] + o), v[i]);                                              \
        }                                                                                                                 \
        for (int i = 0; i < 8; i++) store(out + lanes * i, v[i]);                                                         \
    }

// Eight vectors of 8 outputs anywhere in the extended positions: the output rows of a valid
// convolution are `ow` apart in a `w`-wide input, so only the vectors that hold real outputs are
// computed (LeNet-5's 8x8 outputs in 12x12 inputs: 64 positions per image, not 144).
RELIEF_POINTER_TILE(relief_tile8x8, RELIEF_AVX2, __m256, _mm256_set1_ps, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_storeu_ps, 8, 1)

// The batch-interleaved layout: vector = one pixel of 8 images, so every load is aligned (no
// cache-line splits) and no position is computed that is not a real output (small planes such as
// VGG's 4x4 and 2x2 waste a third to a half of the extended positions).
#define RELIEF_AVX512 __attribute__((target("avx2,fma,avx512f")))

// One 512-bit vector from two 256-bit halves (AVX-512F alone: the 64-bit insert).
RELIEF_AVX512 static inline __attribute__((always_inline)) __m512 relief_join256(__m256 low, __m256 high) {
    return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(low)), _mm256_castps_pd(high), 1));
}

int relief_simd_avx512(void) {
    __builtin_cpu_init();
    return relief_simd_avx2_fma() && __builtin_cpu_supports("avx512f");
}

int relief_simd_avx512_skylake(void) {
    __builtin_cpu_init();
    return relief_simd_avx512() && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

// relief_tile8x8 for 16 entries whose pointers come in adjacent pairs (s[2i + 1] == s[2i] + 8):
// eight 512-bit accumulators, each two entries' 8 images, one load and one multiply-add per pair
// and nonzero. Twice the entries per weight and offset loaded, half the instructions per entry.
RELIEF_POINTER_TILE(relief_tile16_avx512, RELIEF_AVX512, __m512, _mm512_set1_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_storeu_ps, 16, 2)

#define RELIEF_CONV_NAME relief_conv_interleaved
#define RELIEF_CONV_TARGET RELIEF_AVX2
#define RELIEF_CONV_WIDE 0
#include "relief_conv_interleaved.h"
#define RELIEF_CONV_NAME relief_conv_interleaved_avx512
#define RELIEF_CONV_TARGET RELIEF_AVX512
#define RELIEF_CONV_WIDE 1
#include "relief_conv_interleaved.h"

// 128 consecutive floats (two contiguous 8-vector tiles) plus offset[k], per nonzero: eight 512-bit
// accumulators, as relief_tile64 does 64 in eight 256-bit ones.
RELIEF_AVX512 static inline __attribute__((always_inline)) void relief_tile128_avx512(const float *base, const int64_t *offset,
                                                                                     const float *vals, int64_t k0, int64_t k1,
                                                                                     float b, const float *init, float *out) {
    __m512 v[8];
    for (int i = 0; i < 8; i++) v[i] = init ? _mm512_loadu_ps(init + 16 * i) : _mm512_set1_ps(b);
    for (int64_t k = k0; k < k1; k++) {
        const __m512 w = _mm512_set1_ps(vals[k]);
        const float *p = base + offset[k];
        for (int i = 0; i < 8; i++) v[i] = _mm512_fmadd_ps(w, _mm512_loadu_ps(p + 16 * i), v[i]);
    }
    for (int i = 0; i < 8; i++) _mm512_storeu_ps(out + 16 * i, v[i]);
}

RELIEF_CSR_STRIP(relief_csr_strip32_u16_avx512, RELIEF_AVX512, __m512, _mm512_set1_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_storeu_ps, 16, 2)
RELIEF_CSR_STRIP(relief_csr_strip64_u16_avx512, RELIEF_AVX512, __m512, _mm512_set1_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_storeu_ps, 16, 4)
RELIEF_CSR_BLOCKED(relief_csr_blocked32_u16_avx512, RELIEF_AVX512, __m512, _mm512_set1_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_storeu_ps, 16, 2)
RELIEF_CSR_BLOCKED(relief_csr_blocked64_u16_avx512, RELIEF_AVX512, __m512, _mm512_set1_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_storeu_ps, 16, 4)

// relief_transpose_columns 16 rows at a time: each kept column's 16 values go out as one 512-bit
// store, half the stores of the 8-row blocks (the flatten of a batch is bound by those stores).
// Runs of kept columns share two 8x8 transposes; rows past the last 16 take the 8-row blocks.
RELIEF_AVX512 void relief_transpose_columns_avx512(const float *a, int64_t rows, int64_t lda, const int32_t *cols, int64_t count,
                                                   float *out, int64_t ldo) {
    int64_t i = 0;
    for (; i + 16 <= rows; i += 16) {
        const float *block = a + i * lda;
        int64_t j = 0;
        while (j < count) {
            const int64_t c = cols[j];
            if (c + 8 <= lda && j + 1 < count && cols[j + 1] < c + 8) {
                __m256 top[8], bottom[8];
                relief_transpose8x8(block + c, lda, top);
                relief_transpose8x8(block + 8 * lda + c, lda, bottom);
                for (; j < count && cols[j] < c + 8; j++) _mm512_storeu_ps(out + j * ldo + i, relief_join256(top[cols[j] - c], bottom[cols[j] - c]));
                continue;
            }
            const float *q = block + c;
            _mm512_storeu_ps(out + j * ldo + i, _mm512_setr_ps(q[0], q[lda], q[2 * lda], q[3 * lda], q[4 * lda], q[5 * lda], q[6 * lda], q[7 * lda],
                                                               q[8 * lda], q[9 * lda], q[10 * lda], q[11 * lda], q[12 * lda], q[13 * lda],
                                                               q[14 * lda], q[15 * lda]));
            j++;
        }
    }
    if (i < rows) relief_transpose_columns(a + i * lda, rows - i, lda, cols, count, out + i, ldo);
}

// Four nonzeros of a row x 4 columns (n == 4: VGG-11's 2x2 maps at batch 1) in one 512-bit vector:
// their four x rows in its 128-bit lanes, their weights each spread over its lane; the lanes are
// summed at the row's end. Half the loads per nonzero of the 128-bit loop (one 128-bit load of
// weights per four), which is load-bound (bench/micro/narrow_columns.c: 0.77-0.81x its time).
RELIEF_AVX512 static inline __attribute__((always_inline)) __m512 relief_x_quad(const float *x, const uint16_t *c) {
    __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(x + 4 * (int64_t)c[0]));
    v = _mm512_insertf32x4(v, _mm_loadu_ps(x + 4 * (int64_t)c[1]), 1);
    v = _mm512_insertf32x4(v, _mm_loadu_ps(x + 4 * (int64_t)c[2]), 2);
    return _mm512_insertf32x4(v, _mm_loadu_ps(x + 4 * (int64_t)c[3]), 3);
}

RELIEF_AVX512 void relief_csr_narrow_u16_avx512(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x,
                                                int64_t n, const float *bias, float *y, int64_t row_begin, int64_t row_end) {
    if (n != 4) {
        relief_csr_narrow_u16(row_start, cols, vals, x, n, bias, y, row_begin, row_end);
        return;
    }
    const __m512i spread = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    for (int64_t r = row_begin; r < row_end; r++) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;
        int64_t k = row_start[r];
        const int64_t end = row_start[r + 1];
        for (; k + 8 <= end; k += 8) {
            a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_loadu_ps(vals + k))), relief_x_quad(x, cols + k), a0);
            a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_loadu_ps(vals + k + 4))),
                                 relief_x_quad(x, cols + k + 4), a1);
        }
        a0 = _mm512_add_ps(a0, a1);
        __m128 sum = _mm_add_ps(_mm_add_ps(_mm512_castps512_ps128(a0), _mm512_extractf32x4_ps(a0, 1)),
                                _mm_add_ps(_mm512_extractf32x4_ps(a0, 2), _mm512_extractf32x4_ps(a0, 3)));
        for (; k < end; k++) sum = _mm_fmadd_ps(_mm_set1_ps(vals[k]), _mm_loadu_ps(x + 4 * (int64_t)cols[k]), sum);
        if (bias) sum = _mm_add_ps(sum, _mm_set1_ps(bias[r]));
        _mm_storeu_ps(y + r * 4, sum);
    }
}

#define RELIEF_CONV_NAME relief_conv_vectors
#define RELIEF_CONV_TARGET RELIEF_AVX2
#define RELIEF_CONV_WIDE 0
#include "relief_conv_vectors.h"
#define RELIEF_CONV_NAME relief_conv_vectors_avx512
#define RELIEF_CONV_TARGET RELIEF_AVX512
#define RELIEF_CONV_WIDE 1
#include "relief_conv_vectors.h"

// One (channel, tap column) group of a filter over a tile of 8 output rows x 8 columns: input row r
// of the window serves output rows r - ky for every tap row ky, so each load feeds up to KH
// multiply-adds (the vector tiles load once per multiply-add, and half their unaligned loads
// straddle two cache lines). KH is a constant in every expansion, so the loops unroll and the
// tile, the KH weights and the loaded row all stay in registers. `load_row(p, plane)` reads a
// window row (and, in the two-image variant, the same row `plane` floats on); `filter` starts the
// tile at the bias and adds every group of filter o.
#define RELIEF_ROWS8(group, filter, target, vec, set1, fma, load_row)                                                    \
    target static inline __attribute__((always_inline)) void group(const float *p, int64_t plane, int64_t wq,          \
                                                                   const float *w, vec acc[8], const int KH) {          \
        vec wv[8];                                                                                                      \
        _Pragma("clang loop unroll(full)")                                                                              \
        for (int ky = 0; ky < KH; ky++) wv[ky] = set1(w[ky]);                                                           \
        _Pragma("clang loop unroll(full)")                                                                              \
        for (int r = 0; r < 8 + KH - 1; r++) {                                                                          \
            const vec x = load_row(p + r * wq, plane);                                                                  \
            _Pragma("clang loop unroll(full)")                                                                          \
            for (int ky = 0; ky < KH; ky++) {                                                                           \
                const int i = r - ky;                                                                                   \
                if (i >= 0 && i < 8) acc[i] = fma(wv[ky], x, acc[i]);                                                   \
            }                                                                                                           \
        }                                                                                                               \
    }                                                                                                                   \
    target static inline __attribute__((always_inline)) void filter(const uint32_t *group_start, const int64_t *group_offset, \
                                                                    const float *group_weights, int64_t o, const float *base, \
                                                                    int64_t plane, int64_t wq, float b, vec acc[8], const int KH) { \
        _Pragma("clang loop unroll(full)")                                                                              \
        for (int i = 0; i < 8; i++) acc[i] = set1(b);                                                                   \
        for (int64_t g = group_start[o]; g < (int64_t)group_start[o + 1]; g++)                                          \
            group(base + group_offset[g], plane, wq, group_weights + g * KH, acc, KH);                                  \
    }

// Calls `filter` with the kernel's row count as a constant (1 to 7), so its loops unroll.
#define RELIEF_ROWS8_FILTER(filter, kh)                                                                                 \
    switch (kh) {                                                                                                       \
    case 1: filter(group_start, group_offset, group_weights, o, base, plane, wq, b, acc, 1); break;                     \
    case 2: filter(group_start, group_offset, group_weights, o, base, plane, wq, b, acc, 2); break;                     \
    case 3: filter(group_start, group_offset, group_weights, o, base, plane, wq, b, acc, 3); break;                     \
    case 4: filter(group_start, group_offset, group_weights, o, base, plane, wq, b, acc, 4); break;                     \
    case 5: filter(group_start, group_offset, group_weights, o, base, plane, wq, b, acc, 5); break;                     \
    case 6: filter(group_start, group_offset, group_weights, o, base, plane, wq, b, acc, 6); break;                     \
    default: filter(group_start, group_offset, group_weights, o, base, plane, wq, b, acc, 7); break;                    \
    }

RELIEF_AVX2 static inline __attribute__((always_inline)) __m256 relief_row256(const float *p, int64_t plane) {
    (void)plane;
    return _mm256_loadu_ps(p);
}
RELIEF_ROWS8(relief_rows8_group, relief_rows8_filter, RELIEF_AVX2, __m256, _mm256_set1_ps, _mm256_fmadd_ps, relief_row256)

// A row tile's 8 output rows of 8, written plain (plus the residual at the same place, through the
// ReLU) or as its 2x2 maxima (y0 and x0 are even: rows paired, then columns; the shuffles take each
// 128-bit lane's even and odd columns, the permute joins the lanes; the ReLU commutes with the
// maximum). `image_floats` serves the two-image variant only.
RELIEF_AVX2 static inline __attribute__((always_inline)) void relief_rows8_write(const __m256 acc[8], float *out, const float *add,
                                                                                 int64_t ow, int64_t image_floats, int relu) {
    (void)image_floats;
    for (int i = 0; i < 8; i++) {
        __m256 v = acc[i];
        if (add) v = _mm256_add_ps(v, _mm256_loadu_ps(add + i * ow));
        if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
        _mm256_storeu_ps(out + i * ow, v);
    }
}

RELIEF_AVX2 static inline __attribute__((always_inline)) void relief_rows8_write_pooled(const __m256 acc[8], float *out, int64_t pw,
                                                                                        int64_t image_floats, int relu) {
    (void)image_floats;
    for (int i = 0; i < 4; i++) {
        __m256 v = _mm256_max_ps(acc[2 * i], acc[2 * i + 1]);
        v = _mm256_max_ps(_mm256_shuffle_ps(v, v, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(v, v, _MM_SHUFFLE(3, 1, 3, 1)));
        v = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
        if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
        _mm_storeu_ps(out + i * pw, _mm256_castps256_ps128(v));
    }
}

#define RELIEF_CONV_NAME relief_conv_rows8
#define RELIEF_CONV_TARGET RELIEF_AVX2
#define RELIEF_ROWS8_IMAGES 1
#define RELIEF_ROWS8_VECTOR __m256
#define RELIEF_ROWS8_FILTER_FN relief_rows8_filter
#define RELIEF_ROWS8_WRITE relief_rows8_write
#define RELIEF_ROWS8_WRITE_POOLED relief_rows8_write_pooled
#include "relief_conv_rows8.h"

// The sell16 kernel's slots of slice q (accumulator acc) in the current 32-column block.
#define RELIEF_SELL16_SLICE(q, acc)                                                                                    \
    for (int64_t t = 0; t < c[q]; t++, v += 16, o += 16) {                                                              \
        const __m512i lane = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)o));                                 \
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(v), _mm512_permutex2var_ps(xl, lane, xh), acc);                          \
    }

// Four slices share each block of x: its two registers are loaded once for 64 rows, and the four
// accumulators are independent chains, so the multiply-adds of consecutive slots overlap (one
// chain per slice measured faster than padding the four slices to a common slot count, which
// would make the loop branch-free: bench/micro/spmv_batch1.c, permute32 against perm-equal).
RELIEF_AVX512 static inline __attribute__((always_inline)) void relief_sell16_store(__m512 acc, const float *bias, float *y,
                                                                                    int64_t first, int64_t rows) {
    if (first >= rows) return;
    const __mmask16 m = rows - first >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (rows - first)) - 1);
    if (bias) acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, bias + first));
    _mm512_mask_storeu_ps(y + first, m, acc);
}

RELIEF_AVX512 void relief_sell16_gemv_avx512(const int64_t *group_start, const uint8_t *count, const uint8_t *offset,
                                             const float *values, const float *x, const float *bias, float *y, int64_t rows,
                                             int64_t columns, int64_t group_begin, int64_t group_end) {
    const int64_t blocks = (columns + 31) / 32;
    for (int64_t g = group_begin; g < group_end; g++) {
        const float *v = values + 16 * group_start[g];
        const uint8_t *o = offset + 16 * group_start[g];
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t b = 0; b < blocks; b++) {
            const uint8_t *c = count + 4 * (g * blocks + b);
            if ((c[0] | c[1] | c[2] | c[3]) == 0) continue;
            // The last block may end inside a register: masked loads read nothing past x's end.
            const int64_t left = columns - 32 * b;
            const __mmask16 ml = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
            const __mmask16 mh = left >= 32 ? (__mmask16)0xffff : left <= 16 ? (__mmask16)0 : (__mmask16)((1u << (left - 16)) - 1);
            const __m512 xl = _mm512_maskz_loadu_ps(ml, x + 32 * b), xh = _mm512_maskz_loadu_ps(mh, x + 32 * b + 16);
            RELIEF_SELL16_SLICE(0, a0)
            RELIEF_SELL16_SLICE(1, a1)
            RELIEF_SELL16_SLICE(2, a2)
            RELIEF_SELL16_SLICE(3, a3)
        }
        relief_sell16_store(a0, bias, y, 64 * g, rows);
        relief_sell16_store(a1, bias, y, 64 * g + 16, rows);
        relief_sell16_store(a2, bias, y, 64 * g + 32, rows);
        relief_sell16_store(a3, bias, y, 64 * g + 48, rows);
    }
}
#undef RELIEF_SELL16_SLICE

// The tap-shifted copy of one image for the strip convolution: plane (kx, c) holds padded rows
// yp = 0 ..< hp of ow floats, row yp being input row yp - ph of channel c read from column kx - pw
// on (zeros outside the image), so tap (ky, kx) of channel c reads its whole output window as the
// ow·oh contiguous floats from row ky of that plane. Nothing outside the input is read (masked
// loads). Where the output is as wide as the input (a "same" convolution), a run of a plane's image
// rows is contiguous in both, copied 16 floats at a time with a column mask that repeats every
// w / gcd(w, 16) vectors (a row at a time took 1.5-3x as long on 8- to 32-wide rows).
typedef struct {
    int64_t period;         // vectors per mask period; 0: rows one at a time
    __mmask16 mask[512];    // [kx][period]
} relief_shift_masks;

RELIEF_AVX512 static void relief_shift_prepare(int64_t w, int64_t pw, int64_t kw, int64_t ow, relief_shift_masks *m) {
    int64_t a = w, g = 16;
    while (g != 0) {  // gcd(w, 16)
        const int64_t t = a % g;
        a = g;
        g = t;
    }
    const int64_t period = w / a;
    m->period = ow == w && kw * period <= 512 ? period : 0;
    for (int64_t kx = 0; kx < kw && m->period; kx++)
        for (int64_t p = 0; p < period; p++) {
            unsigned bits = 0;
            for (int64_t i = 0; i < 16; i++) {
                const int64_t column = (16 * p + i) % w + kx - pw;
                if (column >= 0 && column < w) bits |= 1u << i;
            }
            m->mask[kx * period + p] = (__mmask16)bits;
        }
}

// The first n lanes of 16 (all for n >= 16, none for n <= 0).
static inline __mmask16 relief_first_lanes(int64_t n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// The lanes j of a 16-float load at column s that read a column inside a w-wide row (0 <= s + j < w).
static inline __mmask16 relief_row_lanes(int64_t w, int64_t s) {
    return relief_first_lanes(w - s) & (__mmask16)~relief_first_lanes(-s);
}

RELIEF_AVX512 static inline void relief_zero_run(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) _mm512_mask_storeu_ps(p + i, relief_first_lanes(n - i), _mm512_setzero_ps());
}

RELIEF_AVX512 void relief_shift_taps_avx512(const float *x, int64_t channels, int64_t batch, int64_t b, int64_t h, int64_t w,
                                            int64_t ph, int64_t pw, int64_t kw, int64_t hp, int64_t ow, float *out) {
    relief_shift_masks m;
    relief_shift_prepare(w, pw, kw, ow, &m);
    for (int64_t kx = 0; kx < kw; kx++)
        for (int64_t c = 0; c < channels; c++) {
            const float *plane = x + (c * batch + b) * h * w;
            float *dst = out + (kx * channels + c) * hp * ow;
            if (m.period && h > 0) {
                // Zero rows, the image's rows as one run, zero rows.
                relief_zero_run(dst, ph * ow);
                const __mmask16 *mask = m.mask + kx * m.period;
                const float *src = plane + kx - pw;
                float *mid = dst + ph * ow;
                const int64_t n = h * w;
                for (int64_t i = 0, p = 0; i < n; i += 16, p = p + 1 == m.period ? 0 : p + 1) {
                    const __mmask16 tail = relief_first_lanes(n - i);
                    // Masked lanes are not read, so the address may point just outside the plane.
                    _mm512_mask_storeu_ps(mid + i, tail, _mm512_maskz_loadu_ps(mask[p] & tail, src + i));
                }
                relief_zero_run(mid + n, (hp - ph - h) * ow);
                continue;
            }
            for (int64_t yp = 0; yp < hp; yp++) {
                float *row = dst + yp * ow;
                const int64_t iy = yp - ph;
                for (int64_t x0 = 0; x0 < ow; x0 += 16) {
                    const __mmask16 store = relief_first_lanes(ow - x0);
                    if (iy < 0 || iy >= h) {
                        _mm512_mask_storeu_ps(row + x0, store, _mm512_setzero_ps());
                        continue;
                    }
                    // Lane i reads input column x0 + i + kx - pw when that lies in [0, w).
                    const int64_t from = x0 + kx - pw;
                    // Masked lanes are not read, so the address may point before the row.
                    _mm512_mask_storeu_ps(row + x0, store, _mm512_maskz_loadu_ps(store & relief_row_lanes(w, from), plane + iy * w + from));
                }
            }
        }
}

// The strided strip copy (sy, sx in {1, 2}): plane (kx, c, py) holds rows i < hq of ow floats,
// row i being padded row sy·i + py read from column kx - pw on every sx-th column, so tap (ky, kx)
// reads its output window contiguously from row ky / sy of plane (kx, c, ky % sy). A row of 16
// outputs at column stride 2 is two masked loads of the 32 columns it spans and one two-source
// permutation keeping the even lanes (nothing outside the image is read).
RELIEF_AVX512 void relief_shift_taps_strided_avx512(const float *x, int64_t channels, int64_t batch, int64_t b, int64_t h, int64_t w,
                                                    int64_t ph, int64_t pw, int64_t kw, int64_t sy, int64_t sx, int64_t hq, int64_t ow,
                                                    float *out) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    // The masks depend on the tap column and the vector only, not the row: computed once (a row of
    // ResNet's downsampling is one vector; masks per vector made the copy 1.4x as long).
    enum { max_vectors = 16, max_taps = 8 };
    const int64_t vectors = (ow + 15) / 16;
    __mmask16 lo[max_taps][max_vectors], hi[max_taps][max_vectors], store[max_vectors];
    for (int64_t v = 0; v < vectors && v < max_vectors; v++) {
        store[v] = relief_first_lanes(ow - 16 * v);
        for (int64_t kx = 0; kx < kw && kx < max_taps; kx++) {
            // Lane j of a load at column s reads s + j when that lies in [0, w).
            const int64_t s0 = sx * 16 * v + kx - pw;
            lo[kx][v] = relief_row_lanes(w, s0);
            hi[kx][v] = relief_row_lanes(w, s0 + 16);
        }
    }
    for (int64_t kx = 0; kx < kw; kx++)
        for (int64_t c = 0; c < channels; c++) {
            const float *plane = x + (c * batch + b) * h * w;
            for (int64_t py = 0; py < sy; py++) {
                float *dst = out + ((kx * channels + c) * sy + py) * hq * ow;
                for (int64_t i = 0; i < hq; i++) {
                    float *row = dst + i * ow;
                    const int64_t iy = sy * i + py - ph;
                    if (iy < 0 || iy >= h) {
                        relief_zero_run(row, ow);
                        continue;
                    }
                    const float *in = plane + iy * w + kx - pw;
                    for (int64_t v = 0; v < vectors; v++) {
                        const int64_t x0 = 16 * v, s0 = sx * x0;
                        __mmask16 l, u, st;
                        if (v < max_vectors && kx < max_taps) {
                            l = lo[kx][v], u = hi[kx][v], st = store[v];
                        } else {
                            // Rows past 256 outputs or kernels past 8 columns: the masks as above, here.
                            const int64_t c0 = s0 + kx - pw;
                            l = relief_row_lanes(w, c0);
                            u = relief_row_lanes(w, c0 + 16);
                            st = relief_first_lanes(ow - x0);
                        }
                        // Masked lanes are not read, so the address may point just outside the row.
                        const __m512 a = _mm512_maskz_loadu_ps(l, in + s0);
                        const __m512 r = sx == 1 ? a : _mm512_permutex2var_ps(a, even, _mm512_maskz_loadu_ps(u, in + s0 + 16));
                        _mm512_mask_storeu_ps(row + x0, st, r);
                    }
                }
            }
        }
}

// The four loads of a strip at q: whole, or masked past `pixels` (m, the strip's lane masks).
// A strip's four accumulators: y's own values with `accumulate`, else the filter's bias.
RELIEF_AVX512 static inline __attribute__((always_inline)) void relief_strip_start(const float *out, const __mmask16 m[4], int accumulate,
                                                                                  float bias, __m512 *a0, __m512 *a1, __m512 *a2,
                                                                                  __m512 *a3) {
    if (accumulate) {
        *a0 = _mm512_maskz_loadu_ps(m[0], out);
        *a1 = _mm512_maskz_loadu_ps(m[1], out + 16);
        *a2 = _mm512_maskz_loadu_ps(m[2], out + 32);
        *a3 = _mm512_maskz_loadu_ps(m[3], out + 48);
    } else {
        *a0 = *a1 = *a2 = *a3 = _mm512_set1_ps(bias);
    }
}

// A strip written: plus the residual's strip (`add`, may be null), ReLU, the lanes of m stored.
RELIEF_AVX512 static inline __attribute__((always_inline)) void relief_strip_finish(float *out, const __mmask16 m[4], __m512 a0,
                                                                                   __m512 a1, __m512 a2, __m512 a3, const float *add,
                                                                                   int relu) {
    __m512 acc[4] = {a0, a1, a2, a3};
    for (int i = 0; i < 4; i++) {
        if (add) acc[i] = _mm512_add_ps(acc[i], _mm512_maskz_loadu_ps(m[i], add + 16 * i));
        if (relu) acc[i] = _mm512_max_ps(acc[i], _mm512_setzero_ps());
        _mm512_mask_storeu_ps(out + 16 * i, m[i], acc[i]);
    }
}

#define RELIEF_STRIP_LOAD_FULL(q, i) _mm512_loadu_ps((q) + 16 * (i))
#define RELIEF_STRIP_LOAD_MASKED(q, i) _mm512_maskz_loadu_ps(m[i], (q) + 16 * (i))
// Nonzeros [k, end) into a0..a3: two at a time into two sets of chains (a and c), so consecutive
// nonzeros' multiply-adds do not wait on each other.
#define RELIEF_STRIP_LOOP(LOAD)                                                                                       \
    do {                                                                                                              \
        __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;                                                   \
        for (; k + 2 <= end; k += 2) {                                                                                \
            const __m512 v = _mm512_set1_ps(vals[k]), u = _mm512_set1_ps(vals[k + 1]);                                \
            const float *q = src + offset[k], *t = src + offset[k + 1];                                               \
            a0 = _mm512_fmadd_ps(v, LOAD(q, 0), a0);                                                                  \
            a1 = _mm512_fmadd_ps(v, LOAD(q, 1), a1);                                                                  \
            a2 = _mm512_fmadd_ps(v, LOAD(q, 2), a2);                                                                  \
            a3 = _mm512_fmadd_ps(v, LOAD(q, 3), a3);                                                                  \
            c0 = _mm512_fmadd_ps(u, LOAD(t, 0), c0);                                                                  \
            c1 = _mm512_fmadd_ps(u, LOAD(t, 1), c1);                                                                  \
            c2 = _mm512_fmadd_ps(u, LOAD(t, 2), c2);                                                                  \
            c3 = _mm512_fmadd_ps(u, LOAD(t, 3), c3);                                                                  \
        }                                                                                                             \
        if (k < end) {                                                                                                \
            const __m512 v = _mm512_set1_ps(vals[k]);                                                                 \
            const float *q = src + offset[k];                                                                         \
            a0 = _mm512_fmadd_ps(v, LOAD(q, 0), a0);                                                                  \
            a1 = _mm512_fmadd_ps(v, LOAD(q, 1), a1);                                                                  \
            a2 = _mm512_fmadd_ps(v, LOAD(q, 2), a2);                                                                  \
            a3 = _mm512_fmadd_ps(v, LOAD(q, 3), a3);                                                                  \
        }                                                                                                             \
        a0 = _mm512_add_ps(a0, c0);                                                                                   \
        a1 = _mm512_add_ps(a1, c1);                                                                                   \
        a2 = _mm512_add_ps(a2, c2);                                                                                   \
        a3 = _mm512_add_ps(a3, c3);                                                                                   \
    } while (0)

// The strip of output pixels [p0, p0 + 64) of filters [row_begin, row_end): each filter's nonzeros
// [begin[r], end[r]) add w times the 64 floats at source + offset[k] + p0 (four registers; past
// `pixels` masked) to the bias, or with `accumulate` to what y holds; then residual and ReLU as
// the strip is written.
RELIEF_AVX512 static inline void relief_conv_strip(const uint32_t *begin, const uint32_t *finish, const int64_t *offset,
                                                   const float *vals, const float *source, int64_t pixels, int64_t p0,
                                                   const float *bias, const float *residual, int relu, int accumulate, float *y,
                                                   int64_t y_stride, int64_t row_begin, int64_t row_end) {
    const int64_t left = pixels - p0;
    __mmask16 m[4];
    for (int i = 0; i < 4; i++) m[i] = relief_first_lanes(left - 16 * i);
    const float *src = source + p0;
    for (int64_t r = row_begin; r < row_end; r++) {
        float *out = y + r * y_stride + p0;
        __m512 a0, a1, a2, a3;
        relief_strip_start(out, m, accumulate, bias ? bias[r] : 0.0f, &a0, &a1, &a2, &a3);
        int64_t k = begin[r];
        const int64_t end = finish[r];
        if (left >= 64) RELIEF_STRIP_LOOP(RELIEF_STRIP_LOAD_FULL);
        else RELIEF_STRIP_LOOP(RELIEF_STRIP_LOAD_MASKED);
        relief_strip_finish(out, m, a0, a1, a2, a3, residual ? residual + r * y_stride + p0 : 0, relu);
    }
}
#undef RELIEF_STRIP_LOOP
#undef RELIEF_STRIP_LOAD_FULL
#undef RELIEF_STRIP_LOAD_MASKED

// Strips outside, filters inside: the source a strip reads stays in L1 for all filters.
RELIEF_AVX512 void relief_conv_strips_avx512(const uint32_t *begin, const uint32_t *end, const int64_t *offset, const float *vals,
                                             const float *source, int64_t pixels, const float *bias, const float *residual, int relu,
                                             int accumulate, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
    for (int64_t p0 = 0; p0 < pixels; p0 += 64)
        relief_conv_strip(begin, end, offset, vals, source, pixels, p0, bias, residual, relu, accumulate, y, y_stride, row_begin,
                          row_end);
}

// The aligned-tap strip: a 3x3 stride-1 "same" convolution read from a row-padded copy (each
// channel's image with one zero row above and below, (h + 2)·w floats a channel, w dividing 64 so a
// strip is whole rows). Every load is the 64 pixels of a strip at a tap row; a tap column kx != 1
// moves them one lane in registers (valignd with the neighbouring vector), zeroing the lanes whose
// column falls outside the row. The copy is a third of the tap-shifted one and no loads split a
// line where w >= 16 (bench/micro/aligned_taps.c).
#define RELIEF_TAP_RIGHT(keep, a, prev) \
    _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(keep, _mm512_castps_si512(a), _mm512_castps_si512(prev), 15))
#define RELIEF_TAP_LEFT(keep, next, a) \
    _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(keep, _mm512_castps_si512(next), _mm512_castps_si512(a), 1))
// Nonzeros [from, to) of one tap column: the strip's four vectors at each one's tap row (x0..x3),
// moved as that column needs (S0..S3), times its weight into a0..a3.
#define RELIEF_TAP_RUN(from, to, S0, S1, S2, S3)                                                                   \
    for (int64_t k = from; k < to; k++) {                                                                         \
        const __m512 v = _mm512_set1_ps(vals[k]);                                                                 \
        const float *q = src + offset[k];                                                                         \
        const __m512 x0 = _mm512_loadu_ps(q), x1 = _mm512_loadu_ps(q + 16), x2 = _mm512_loadu_ps(q + 32),         \
                     x3 = _mm512_loadu_ps(q + 48);                                                                \
        a0 = _mm512_fmadd_ps(v, S0, a0);                                                                          \
        a1 = _mm512_fmadd_ps(v, S1, a1);                                                                          \
        a2 = _mm512_fmadd_ps(v, S2, a2);                                                                          \
        a3 = _mm512_fmadd_ps(v, S3, a3);                                                                          \
    }

RELIEF_AVX512 void relief_conv_taps_avx512(const uint32_t *bounds, const int64_t *offset, const float *vals, const float *source,
                                           int64_t pixels, int64_t w, const float *bias, const float *residual, int relu,
                                           int accumulate, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
    // Lanes whose column has a left (kx = 0) or right (kx = 2) neighbour in the row; the same for
    // every strip, since w divides 64.
    __mmask16 left[4], right[4];
    for (int i = 0; i < 4; i++) {
        unsigned l = 0, r = 0;
        for (int j = 0; j < 16; j++) {
            const int64_t col = (16 * i + j) % w;
            if (col != 0) l |= 1u << j;
            if (col != w - 1) r |= 1u << j;
        }
        left[i] = (__mmask16)l;
        right[i] = (__mmask16)r;
    }
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t p0 = 0; p0 < pixels; p0 += 64) {
        __mmask16 m[4];
        for (int i = 0; i < 4; i++) m[i] = relief_first_lanes(pixels - p0 - 16 * i);
        const float *src = source + p0;
        for (int64_t r = row_begin; r < row_end; r++) {
            float *out = y + r * y_stride + p0;
            __m512 a0, a1, a2, a3;
            relief_strip_start(out, m, accumulate, bias ? bias[r] : 0.0f, &a0, &a1, &a2, &a3);
            const int64_t g0 = bounds[3 * r], g1 = bounds[3 * r + 1], g2 = bounds[3 * r + 2], g3 = bounds[3 * r + 3];
            RELIEF_TAP_RUN(g0, g1, RELIEF_TAP_RIGHT(left[0], x0, zero), RELIEF_TAP_RIGHT(left[1], x1, x0),
                           RELIEF_TAP_RIGHT(left[2], x2, x1), RELIEF_TAP_RIGHT(left[3], x3, x2));
            RELIEF_TAP_RUN(g1, g2, x0, x1, x2, x3);
            RELIEF_TAP_RUN(g2, g3, RELIEF_TAP_LEFT(right[0], x1, x0), RELIEF_TAP_LEFT(right[1], x2, x1),
                           RELIEF_TAP_LEFT(right[2], x3, x2), RELIEF_TAP_LEFT(right[3], zero, x3));
            relief_strip_finish(out, m, a0, a1, a2, a3, residual ? residual + r * y_stride + p0 : 0, relu);
        }
    }
}
#undef RELIEF_TAP_RIGHT
#undef RELIEF_TAP_LEFT
#undef RELIEF_TAP_RUN

// SELL-16-sigma: one vgatherdps fetches a slot's 16 values of x (bench/micro/spmv_batch1.c,
// sell16-gather: about 1.4x the packed lane loads' speed at 1-2% density on the Xeon of 2026-12-07,
// while on Zen 4 gathers are slow; the choice at load times both). The loop is relief_sellsigma_gemv's.
RELIEF_AVX512 static inline __m512 relief_sellsigma16_slot16(const uint16_t *c, const float *x) {
    return _mm512_i32gather_ps(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)c)), x, 4);
}
RELIEF_AVX512 static inline __m512 relief_sellsigma16_slot(const uint32_t *c, const float *x) {
    return _mm512_i32gather_ps(_mm512_loadu_si512((const void *)c), x, 4);
}
RELIEF_AVX512 static inline void relief_sellsigma16_store(__m512 sum, const uint32_t *row_of_lane, const float *bias, float *y,
                                                          int64_t rows, int64_t s) {
    float out[16];
    _mm512_storeu_ps(out, sum);
    const int64_t first = 16 * s, count = rows - first < 16 ? rows - first : 16;
    const uint32_t *lane = row_of_lane + first;
    if (bias) {
        for (int64_t i = 0; i < count; i++) y[lane[i]] = out[i] + bias[lane[i]];
    } else {
        for (int64_t i = 0; i < count; i++) y[lane[i]] = out[i];
    }
}
RELIEF_SELLSIGMA_GEMV(relief_sellsigma16_gemv_u16_avx512, RELIEF_AVX512, uint16_t, __m512, _mm512_setzero_ps, _mm512_loadu_ps,
                      _mm512_fmadd_ps, _mm512_add_ps, 16, relief_sellsigma16_slot16, relief_sellsigma16_store)
RELIEF_SELLSIGMA_GEMV(relief_sellsigma16_gemv_avx512, RELIEF_AVX512, uint32_t, __m512, _mm512_setzero_ps, _mm512_loadu_ps,
                      _mm512_fmadd_ps, _mm512_add_ps, 16, relief_sellsigma16_slot, relief_sellsigma16_store)
#undef RELIEF_SELLSIGMA_GEMV

// The row tiles for two images at once: each 512-bit vector holds the same 8 columns of images i
// (low half) and i + 1 (high half, `plane` floats on), so one multiply-add instruction does the
// work of two (the two half loads per row are shared by the KH tap rows).
RELIEF_AVX512 static inline __attribute__((always_inline)) __m512 relief_row_pair(const float *p, int64_t plane) {
    return relief_join256(_mm256_loadu_ps(p), _mm256_loadu_ps(p + plane));
}
RELIEF_ROWS8(relief_rows8_group_pair, relief_rows8_filter_pair, RELIEF_AVX512, __m512, _mm512_set1_ps, _mm512_fmadd_ps, relief_row_pair)

// A two-image tile written as two one-image tiles: image i's halves, then image i + 1's
// `image_floats` on.
RELIEF_AVX512 static inline __attribute__((always_inline)) void relief_split_pair(const __m512 acc[8], __m256 low[8], __m256 high[8]) {
    for (int i = 0; i < 8; i++) {
        low[i] = _mm512_castps512_ps256(acc[i]);
        high[i] = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[i]), 1));
    }
}

RELIEF_AVX512 static inline __attribute__((always_inline)) void relief_rows8_write_pair(const __m512 acc[8], float *out, const float *add,
                                                                                       int64_t ow, int64_t image_floats, int relu) {
    __m256 low[8], high[8];
    relief_split_pair(acc, low, high);
    relief_rows8_write(low, out, add, ow, 0, relu);
    relief_rows8_write(high, out + image_floats, add ? add + image_floats : 0, ow, 0, relu);
}

// Pooled, as relief_rows8_write_pooled in both halves at once (splitting first measured 1.08x the
// time of NNrelief LeNet-5's pooled conv1 at batch 64).
RELIEF_AVX512 static inline __attribute__((always_inline)) void relief_rows8_write_pooled_pair(const __m512 acc[8], float *out, int64_t pw,
                                                                                              int64_t image_floats, int relu) {
    // Within each 256-bit half, 64-bit pairs 0 and 2 (the pooled columns' two 128-bit lanes) first.
    const __m512i gather = _mm512_set_epi64(7, 5, 6, 4, 3, 1, 2, 0);
    for (int i = 0; i < 4; i++) {
        __m512 v = _mm512_max_ps(acc[2 * i], acc[2 * i + 1]);
        v = _mm512_max_ps(_mm512_shuffle_ps(v, v, _MM_SHUFFLE(2, 0, 2, 0)), _mm512_shuffle_ps(v, v, _MM_SHUFFLE(3, 1, 3, 1)));
        v = _mm512_castpd_ps(_mm512_permutexvar_pd(gather, _mm512_castps_pd(v)));
        if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
        _mm_storeu_ps(out + i * pw, _mm512_castps512_ps128(v));
        _mm_storeu_ps(out + image_floats + i * pw, _mm512_extractf32x4_ps(v, 2));
    }
}

#define RELIEF_CONV_NAME relief_conv_rows8_avx512
#define RELIEF_CONV_TARGET RELIEF_AVX512
#define RELIEF_ROWS8_IMAGES 2
#define RELIEF_ROWS8_VECTOR __m512
#define RELIEF_ROWS8_FILTER_FN relief_rows8_filter_pair
#define RELIEF_ROWS8_WRITE relief_rows8_write_pair
#define RELIEF_ROWS8_WRITE_POOLED relief_rows8_write_pooled_pair
#include "relief_conv_rows8.h"

RELIEF_AVX2 void relief_pool2x2(const float *x, float *y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, int is_max) {
    const __m256 quarter = _mm256_set1_ps(0.25f);
    for (int64_t p = 0; p < planes; p++) {
        const float *from = x + p * h * w;
        float *to = y + p * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++) {
            const float *r0 = from + 2 * oy * w, *r1 = r0 + w;
            float *out = to + oy * ow;
            int64_t ox = 0;
            for (; ox + 8 <= ow; ox += 8) {
                // Rows combined first; then neighbours paired: shuffle takes the even and odd
                // columns of each 128-bit lane, the permute restores the order across lanes.
                __m256 a0 = _mm256_loadu_ps(r0 + 2 * ox), a1 = _mm256_loadu_ps(r0 + 2 * ox + 8);
                __m256 b0 = _mm256_loadu_ps(r1 + 2 * ox), b1 = _mm256_loadu_ps(r1 + 2 * ox + 8);
                __m256 v0 = is_max ? _mm256_max_ps(a0, b0) : _mm256_add_ps(a0, b0);
                __m256 v1 = is_max ? _mm256_max_ps(a1, b1) : _mm256_add_ps(a1, b1);
                __m256 even = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
                __m256 odd = _mm256_shuffle_ps(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));
                __m256 r = is_max ? _mm256_max_ps(even, odd) : _mm256_mul_ps(_mm256_add_ps(even, odd), quarter);
                r = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(r), _MM_SHUFFLE(3, 1, 2, 0)));
                _mm256_storeu_ps(out + ox, r);
            }
            for (; ox < ow; ox++) {
                float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
                if (is_max) {
                    float m = a > b ? a : b, n = c > d ? c : d;
                    out[ox] = m > n ? m : n;
                } else {
                    out[ox] = ((a + b) + (c + d)) * 0.25f;
                }
            }
        }
    }
}


// Zero vectors, one per border pixel: a memset call per border run (as the compiler makes of a
// plain loop unless told not to) cost about 1 ms per VGG-11 batch of 64 in call overhead alone.
RELIEF_AVX2 __attribute__((no_builtin("memset"))) static inline void relief_zero_pixels(float *p, int64_t pixels) {
    const __m256 zero = _mm256_setzero_ps();
    for (int64_t i = 0; i < pixels; i++) _mm256_storeu_ps(p + 8 * i, zero);
}

RELIEF_AVX2 __attribute__((no_builtin("memset"))) void relief_zero_borders(float *y, const relief_interleaved_layout *layout, int64_t channels, int64_t groups, int64_t h, int64_t w) {
    const int64_t py = layout->pad_y, px = layout->pad_x, row = layout->row, right = row - px - w;
    if (py == 0 && px == 0 && right == 0) return;
    for (int64_t c = 0; c < channels; c++) {
        for (int64_t g = 0; g < groups; g++) {
            float *plane = y + c * layout->channel_stride + g * layout->group_floats;
            // The top rows and the first row's left border are contiguous, as are each row's right
            // border and the next one's left border, and the last row's right border and the bottom rows.
            relief_zero_pixels(plane, py * row + px);
            for (int64_t r = 0; r + 1 < h; r++) relief_zero_pixels(plane + ((py + r) * row + px + w) * 8, right + px);
            if (h > 0) relief_zero_pixels(plane + ((py + h - 1) * row + px + w) * 8, right + py * row);
        }
    }
}

// Pooling over batch-interleaved planes: one vector per window tap, 8 images at once. Input
// pixel (iy, ix) of channel c, group g is 8 floats at c * channel_stride + g * group_floats +
// ((iy + pad_y) * row + ix + pad_x) * 8 of x (the window never reaches the padding); output
// likewise in out_layout (zero borders written too), or with out_layout null planar
// [C][B][oh * ow] with only images below batch written.
RELIEF_AVX2 void relief_pool_interleaved(const float *x, const relief_interleaved_layout *in_layout, int64_t channels, int64_t groups,
                                         int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t oh, int64_t ow, int is_max,
                                         float *y, const relief_interleaved_layout *out_layout, int64_t batch) {
    const __m256 scale = _mm256_set1_ps(1.0f / (float)(kh * kw));
    if (out_layout) relief_zero_borders(y, out_layout, channels, groups, oh, ow);
    for (int64_t c = 0; c < channels; c++) {
        for (int64_t g = 0; g < groups; g++) {
            const float *in = x + c * in_layout->channel_stride + g * in_layout->group_floats
                + (in_layout->pad_y * in_layout->row + in_layout->pad_x) * 8;
            float *out = out_layout ? y + c * out_layout->channel_stride + g * out_layout->group_floats
                + (out_layout->pad_y * out_layout->row + out_layout->pad_x) * 8 : 0;
            const int64_t lanes = batch - 8 * g < 8 ? batch - 8 * g : 8;
            if (out && kh == 2 && kw == 2 && sh == 2 && sw == 2) {
                // VGG's 2x2 max pooling: four aligned loads, one store per pixel of 8 images.
                const int64_t r = in_layout->row * 8;
                for (int64_t oy = 0; oy < oh; oy++) {
                    const float *top = in + 2 * oy * r;
                    float *dst = out + oy * out_layout->row * 8;
                    for (int64_t ox = 0; ox < ow; ox++) {
                        const float *q = top + 16 * ox;
                        const __m256 a = _mm256_loadu_ps(q), b = _mm256_loadu_ps(q + 8), c2 = _mm256_loadu_ps(q + r),
                                     d = _mm256_loadu_ps(q + r + 8);
                        const __m256 v = is_max ? _mm256_max_ps(_mm256_max_ps(a, b), _mm256_max_ps(c2, d))
                                                : _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c2, d)), scale);
                        _mm256_storeu_ps(dst + 8 * ox, v);
                    }
                }
                continue;
            }
            for (int64_t oy = 0; oy < oh; oy++) {
                for (int64_t ox = 0; ox < ow; ox++) {
                    const float *corner = in + (oy * sh * in_layout->row + ox * sw) * 8;
                    __m256 v = _mm256_loadu_ps(corner);
                    for (int64_t ky = 0; ky < kh; ky++)
                        for (int64_t kx = ky == 0 ? 1 : 0; kx < kw; kx++) {
                            const __m256 t = _mm256_loadu_ps(corner + (ky * in_layout->row + kx) * 8);
                            v = is_max ? _mm256_max_ps(v, t) : _mm256_add_ps(v, t);
                        }
                    if (!is_max) v = _mm256_mul_ps(v, scale);
                    if (out) {
                        _mm256_storeu_ps(out + (oy * out_layout->row + ox) * 8, v);
                    } else {
                        float lane[8];
                        _mm256_storeu_ps(lane, v);
                        for (int64_t i = 0; i < lanes; i++) y[((c * batch + 8 * g + i) * oh + oy) * ow + ox] = lane[i];
                    }
                }
            }
        }
    }
}

// The padded copies of DirectSparseConvolution's whole-plane path (its `layout`), as inline vector
// loops: written in Swift, every row was a memmove and a memset call, a sixth of a ResNet-20 layer's
// time at batch 1. no_builtin keeps the compiler from turning the loops back into those calls.
RELIEF_AVX2 __attribute__((no_builtin("memset", "memcpy"))) static inline void relief_zero_floats(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = 0.0f;
}

// Shared padding: per channel, ph zero rows, then each image's h rows (pw zeros, then the w values;
// the zeros after a row are the next row's) and ph zero rows after it, then one more zero row; and
// `slack` zeros after the last channel. Rows are w + pw floats. With x null only the zeros are
// written (the borders of an output a convolution writes in this layout).
RELIEF_AVX2 __attribute__((no_builtin("memset", "memcpy"))) void relief_pad_shared(const float *x, int64_t channels, int64_t batch,
                                                                                  int64_t h, int64_t w, int64_t ph, int64_t pw,
                                                                                  int64_t channel_stride, int64_t slack, float *out) {
    const int64_t wq = w + pw, rows = h + ph;
    for (int64_t c = 0; c < channels; c++) {
        float *base = out + c * channel_stride;
        relief_zero_floats(base, ph * wq);
        for (int64_t b = 0; b < batch; b++) {
            float *first = base + (ph + b * rows) * wq;
            const float *src = x ? x + (c * batch + b) * h * w : 0;
            for (int64_t r = 0; r < h; r++) {
                float *row = first + r * wq;
                const float *in = src ? src + r * w : 0;
                for (int64_t q = 0; q < pw; q++) row[q] = 0.0f;
                if (x)
                    for (int64_t q = 0; q < w; q++) row[pw + q] = in[q];
            }
            relief_zero_floats(first + h * wq, ph * wq);
        }
        relief_zero_floats(base + (ph + batch * rows) * wq, wq);
    }
    relief_zero_floats(out + channels * channel_stride, slack);
}

// im2col at stride 2 from the shared-padding copy: image b's row iy starts at (ph + b·(h + ph) + iy)·wq
// + pw of its channel, and every read a tap makes, padding included, lands on a zero of that layout
// (rows before and after each image, the pw zeros that start every row), so no read is checked.
RELIEF_AVX2 void relief_im2col_padded_s2(const float *padded, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t kh,
                                         int64_t kw, int64_t ph, int64_t pw, int64_t oh, int64_t ow, int64_t channel_stride,
                                         float *cols) {
    const int64_t wq = w + pw, rows = h + ph, n = batch * oh * ow, full = ow / 8 * 8;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t ky = 0; ky < kh; ky++)
            for (int64_t b = 0; b < batch; b++) {
                // Row iy = 2·oy − ph + ky, column ix = 2·ox − pw + kx of image b: one padded row
                // serves every tap column kx.
                const float *restrict tap = padded + c * channel_stride + (ph + b * rows + ky - ph) * wq;
                float *restrict first = cols + (c * kh + ky) * kw * n + b * oh * ow;
                for (int64_t oy = 0; oy < oh; oy++) {
                    const float *restrict line = tap + 2 * oy * wq;
                    for (int64_t kx = 0; kx < kw; kx++) {
                        const float *restrict from = line + kx;
                        float *restrict out = first + kx * n + oy * ow;
                        for (int64_t i = 0; i < full; i += 8) {
                            const __m256 a = _mm256_loadu_ps(from + 2 * i), bb = _mm256_loadu_ps(from + 2 * i + 8);
                            // [a0 a2 b0 b2 | a4 a6 b4 b6] -> [a0 a2 a4 a6 b0 b2 b4 b6]
                            const __m256d e = _mm256_castps_pd(_mm256_shuffle_ps(a, bb, 0x88));
                            _mm256_storeu_ps(out + i, _mm256_castpd_ps(_mm256_permute4x64_pd(e, 0xD8)));
                        }
                        for (int64_t i = full; i < ow; i++) out[i] = from[2 * i];
                    }
                }
            }
}

// Every second row and column of `planes` planes of h x w into oh x ow (the option-A shortcut's
// subsampling), 8 outputs from 16 inputs a step while the 16 stay inside the row.
RELIEF_AVX2 void relief_subsample2(const float *x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, float *y) {
    for (int64_t p = 0; p < planes; p++)
        for (int64_t oy = 0; oy < oh; oy++) {
            const float *row = x + (p * h + 2 * oy) * w;
            float *out = y + (p * oh + oy) * ow;
            int64_t i = 0;
            for (; i + 8 <= ow && 2 * i + 16 <= w; i += 8) {
                const __m256 a = _mm256_loadu_ps(row + 2 * i), b = _mm256_loadu_ps(row + 2 * i + 8);
                const __m256d e = _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88));
                _mm256_storeu_ps(out + i, _mm256_castpd_ps(_mm256_permute4x64_pd(e, 0xD8)));
            }
            for (; i < ow; i++) out[i] = row[2 * i];
        }
}

// Stride phases: the zero-padded input split into sy * sx phase planes of hq x wq per image,
// padded row r * sy + py and column q * sx + px of channel c at row r, column q of plane
// (c * sy + py) * sx + px (image b of a plane at b * hq * wq). `total` floats are zeroed first.
RELIEF_AVX2 __attribute__((no_builtin("memset", "memcpy"))) void relief_pad_phases(const float *x, int64_t channels, int64_t batch,
                                                                                  int64_t h, int64_t w, int64_t ph, int64_t pw,
                                                                                  int64_t sy, int64_t sx, int64_t hq, int64_t wq,
                                                                                  int64_t total, float *out) {
    relief_zero_floats(out, total);
    const int64_t plane = hq * wq;
    // Column phases: input column q = m + j * sx (m < sx) goes to phase (m + pw) mod sx, column
    // (m + pw) / sx + j. For stride 2 the two residues are copied in one pass over the row.
    const int64_t even_px = pw % 2, even_col = pw / 2, odd_px = (1 + pw) % 2, odd_col = (1 + pw) / 2;
    for (int64_t c = 0; c < channels; c++)
        for (int64_t b = 0; b < batch; b++) {
            // Padded row rp = r + ph is row rq of row phase py: stepped along, no division per row.
            int64_t py = ph % sy, rq = ph / sy;
            for (int64_t r = 0; r < h; r++) {
                const float *src = x + ((c * batch + b) * h + r) * w;
                float *row = out + ((c * sy + py) * sx * batch + b) * plane + rq * wq;
                if (sx == 2) {
                    float *even = row + even_px * batch * plane + even_col, *odd = row + odd_px * batch * plane + odd_col;
                    const int64_t pairs = w / 2;
                    for (int64_t j = 0; j < pairs; j++) {
                        even[j] = src[2 * j];
                        odd[j] = src[2 * j + 1];
                    }
                    if (w & 1) even[pairs] = src[w - 1];
                } else {
                    for (int64_t m = 0; m < sx && m < w; m++) {
                        const int64_t n = (w - m + sx - 1) / sx;
                        float *dst = row + (m + pw) % sx * batch * plane + (m + pw) / sx;
                        for (int64_t j = 0; j < n; j++) dst[j] = src[m + sx * j];
                    }
                }
                if (++py == sy) { py = 0; rq++; }
            }
        }
}

#else
int relief_simd_avx2_fma(void) { return 0; }
int relief_simd_avx512(void) { return 0; }
int relief_simd_avx512_skylake(void) { return 0; }
void relief_pad_shared(const float *x, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t ph, int64_t pw,
                       int64_t channel_stride, int64_t slack, float *out) {
    (void)x; (void)channels; (void)batch; (void)h; (void)w; (void)ph; (void)pw; (void)channel_stride; (void)slack; (void)out;
}
void relief_pad_phases(const float *x, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t ph, int64_t pw,
                       int64_t sy, int64_t sx, int64_t hq, int64_t wq, int64_t total, float *out) {
    (void)x; (void)channels; (void)batch; (void)h; (void)w; (void)ph; (void)pw; (void)sy; (void)sx; (void)hq; (void)wq; (void)total; (void)out;
}
void relief_subsample2(const float *x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, float *y) {
    (void)x; (void)planes; (void)h; (void)w; (void)oh; (void)ow; (void)y;
}
void relief_im2col_padded_s2(const float *padded, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t kh, int64_t kw,
                             int64_t ph, int64_t pw, int64_t oh, int64_t ow, int64_t channel_stride, float *cols) {
    (void)padded; (void)channels; (void)batch; (void)h; (void)w; (void)kh; (void)kw; (void)ph; (void)pw; (void)oh; (void)ow;
    (void)channel_stride; (void)cols;
}
void relief_zero_borders(float *y, const relief_interleaved_layout *layout, int64_t channels, int64_t groups, int64_t h, int64_t w) {
    (void)y; (void)layout; (void)channels; (void)groups; (void)h; (void)w;
}
void relief_pool_interleaved(const float *x, const relief_interleaved_layout *in_layout, int64_t channels, int64_t groups,
                             int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t oh, int64_t ow, int is_max,
                             float *y, const relief_interleaved_layout *out_layout, int64_t batch) {
    (void)x; (void)in_layout; (void)channels; (void)groups; (void)kh; (void)kw; (void)sh; (void)sw; (void)oh; (void)ow;
    (void)is_max; (void)y; (void)out_layout; (void)batch;
}
void relief_pool2x2(const float *x, float *y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, int is_max) {
    (void)x; (void)y; (void)planes; (void)h; (void)w; (void)oh; (void)ow; (void)is_max;
}
void relief_sell8_gemv(const uint32_t *slice_start, const uint32_t *block_column, const uint8_t *lanes, const float *values,
                       const float *x, const float *bias, float *y, int64_t rows, int64_t slice_begin, int64_t slice_end) {
    (void)slice_start; (void)block_column; (void)lanes; (void)values; (void)x; (void)bias; (void)y; (void)rows;
    (void)slice_begin; (void)slice_end;
}
void relief_sellsigma_gemv_u16(const uint32_t *slice_start, const uint16_t *columns, const float *values, const uint32_t *row_of_lane,
                               const float *x, const float *bias, float *y, int64_t rows, int64_t slice_begin, int64_t slice_end) {
    (void)slice_start; (void)columns; (void)values; (void)row_of_lane; (void)x; (void)bias; (void)y; (void)rows;
    (void)slice_begin; (void)slice_end;
}
void relief_sellsigma_gemv(const uint32_t *slice_start, const uint32_t *columns, const float *values, const uint32_t *row_of_lane,
                           const float *x, const float *bias, float *y, int64_t rows, int64_t slice_begin, int64_t slice_end) {
    (void)slice_start; (void)columns; (void)values; (void)row_of_lane; (void)x; (void)bias; (void)y; (void)rows;
    (void)slice_begin; (void)slice_end;
}
void relief_shift_taps_avx512(const float *x, int64_t channels, int64_t batch, int64_t b, int64_t h, int64_t w,
                              int64_t ph, int64_t pw, int64_t kw, int64_t hp, int64_t ow, float *out) {
    (void)x; (void)channels; (void)batch; (void)b; (void)h; (void)w; (void)ph; (void)pw; (void)kw; (void)hp; (void)ow; (void)out;
}
void relief_shift_taps_strided_avx512(const float *x, int64_t channels, int64_t batch, int64_t b, int64_t h, int64_t w,
                                      int64_t ph, int64_t pw, int64_t kw, int64_t sy, int64_t sx, int64_t hq, int64_t ow, float *out) {
    (void)x; (void)channels; (void)batch; (void)b; (void)h; (void)w; (void)ph; (void)pw; (void)kw; (void)sy; (void)sx; (void)hq;
    (void)ow; (void)out;
}
void relief_conv_strips_avx512(const uint32_t *begin, const uint32_t *end, const int64_t *offset, const float *vals,
                               const float *source, int64_t pixels, const float *bias, const float *residual, int relu,
                               int accumulate, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end) {
    (void)begin; (void)end; (void)offset; (void)vals; (void)source; (void)pixels; (void)bias; (void)residual; (void)relu;
    (void)accumulate; (void)y; (void)y_stride; (void)row_begin; (void)row_end;
}
void relief_conv_taps_avx512(const uint32_t *bounds, const int64_t *offset, const float *vals, const float *source, int64_t pixels,
                             int64_t w, const float *bias, const float *residual, int relu, int accumulate, float *y, int64_t y_stride,
                             int64_t row_begin, int64_t row_end) {
    (void)bounds; (void)offset; (void)vals; (void)source; (void)pixels; (void)w; (void)bias; (void)residual; (void)relu;
    (void)accumulate; (void)y; (void)y_stride; (void)row_begin; (void)row_end;
}
void relief_sellsigma16_gemv_u16_avx512(const uint32_t *slice_start, const uint16_t *columns, const float *values,
                                        const uint32_t *row_of_lane, const float *x, const float *bias, float *y, int64_t rows,
                                        int64_t slice_begin, int64_t slice_end) {
    (void)slice_start; (void)columns; (void)values; (void)row_of_lane; (void)x; (void)bias; (void)y; (void)rows;
    (void)slice_begin; (void)slice_end;
}
void relief_sellsigma16_gemv_avx512(const uint32_t *slice_start, const uint32_t *columns, const float *values,
                                    const uint32_t *row_of_lane, const float *x, const float *bias, float *y, int64_t rows,
                                    int64_t slice_begin, int64_t slice_end) {
    (void)slice_start; (void)columns; (void)values; (void)row_of_lane; (void)x; (void)bias; (void)y; (void)rows;
    (void)slice_begin; (void)slice_end;
}
void relief_sell16_gemv_avx512(const int64_t *group_start, const uint8_t *count, const uint8_t *offset,
                               const float *values, const float *x, const float *bias, float *y, int64_t rows,
                               int64_t columns, int64_t group_begin, int64_t group_end) {
    (void)group_start; (void)count; (void)offset; (void)values; (void)x; (void)bias; (void)y; (void)rows;
    (void)columns; (void)group_begin; (void)group_end;
}
#define RELIEF_CSR_STRIP_STUB(name)                                                                                      \
    void name(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x, int64_t x_stride,       \
              int64_t x_offset, const float *bias, float *y, int64_t y_stride, int64_t j, int64_t row_begin,             \
              int64_t row_end) {                                                                                          \
        (void)row_start; (void)cols; (void)vals; (void)x; (void)x_stride; (void)x_offset; (void)bias;                   \
        (void)y; (void)y_stride; (void)j; (void)row_begin; (void)row_end;                                                \
    }
#define RELIEF_CSR_BLOCKED_STUB(name)                                                                                    \
    void name(const uint32_t *block_start, int64_t blocks, const uint16_t *cols, const float *vals, const float *x,       \
              int64_t x_stride, int64_t x_offset, const float *bias, float *y, int64_t y_stride, int64_t j,              \
              int64_t row_begin, int64_t row_end) {                                                                       \
        (void)block_start; (void)blocks; (void)cols; (void)vals; (void)x; (void)x_stride; (void)x_offset; (void)bias;    \
        (void)y; (void)y_stride; (void)j; (void)row_begin; (void)row_end;                                                \
    }
RELIEF_CSR_BLOCKED_STUB(relief_csr_blocked32_u16)
RELIEF_CSR_BLOCKED_STUB(relief_csr_blocked64_u16)
RELIEF_CSR_BLOCKED_STUB(relief_csr_blocked32_u16_avx512)
RELIEF_CSR_BLOCKED_STUB(relief_csr_blocked64_u16_avx512)
RELIEF_CSR_STRIP_STUB(relief_csr_strip32_u16)
RELIEF_CSR_STRIP_STUB(relief_csr_strip64_u16)
RELIEF_CSR_STRIP_STUB(relief_csr_strip32_u16_avx512)
RELIEF_CSR_STRIP_STUB(relief_csr_strip64_u16_avx512)
void relief_csr_narrow_u16(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x, int64_t n,
                           const float *bias, float *y, int64_t row_begin, int64_t row_end) {
    (void)row_start; (void)cols; (void)vals; (void)x; (void)n; (void)bias; (void)y; (void)row_begin; (void)row_end;
}
void relief_csr_narrow_u16_avx512(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x, int64_t n,
                                  const float *bias, float *y, int64_t row_begin, int64_t row_end) {
    relief_csr_narrow_u16(row_start, cols, vals, x, n, bias, y, row_begin, row_end);
}
void relief_transpose_columns(const float *a, int64_t rows, int64_t lda, const int32_t *cols, int64_t count, float *out,
                              int64_t ldo) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < count; j++) out[j * ldo + i] = a[i * lda + cols[j]];
}
void relief_transpose_columns_avx512(const float *a, int64_t rows, int64_t lda, const int32_t *cols, int64_t count, float *out,
                                     int64_t ldo) {
    relief_transpose_columns(a, rows, lda, cols, count, out, ldo);
}
void relief_transpose(const float *a, int64_t rows, int64_t columns, int64_t lda, float *out, int64_t ldo) {
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < columns; j++) out[j * ldo + i] = a[i * lda + j];
}
#define RELIEF_CONV_INTERLEAVED_STUB(name)                                                                                                                  \
    void name(const uint32_t *start, int64_t blocks, int64_t filters, const int32_t *offset,                                                                \
                                 const float *vals, const float *source, const float *bias, int64_t entry_begin,                                            \
                                 int64_t entry_end, int64_t pixels, int64_t ow, int64_t wp, int64_t sy, int64_t sx, int64_t group_pixels,                   \
                                 float *acc, float *y, const float *residual, int64_t filter_stride, int64_t batch, int relu,                               \
                                 const relief_interleaved_layout *out_layout, int pooled) {                                                                 \
        (void)out_layout; (void)pooled; (void)start; (void)blocks; (void)filters; (void)offset; (void)vals; (void)source; (void)bias; (void)entry_begin;    \
        (void)entry_end; (void)pixels; (void)ow; (void)wp; (void)sy; (void)sx; (void)group_pixels; (void)acc; (void)y; (void)residual;                      \
        (void)filter_stride; (void)batch; (void)relu;                                                                                                       \
    }
RELIEF_CONV_INTERLEAVED_STUB(relief_conv_interleaved)
RELIEF_CONV_INTERLEAVED_STUB(relief_conv_interleaved_avx512)
#define RELIEF_CONV_ROWS8_STUB(name)                                                                                           \
    void name(const uint32_t *group_start, const int64_t *group_offset, const float *group_weights, int64_t kh,                \
                           int64_t filters, const float *source, const float *bias, int64_t image_begin, int64_t image_end,    \
                           int64_t plane, int64_t wq, int64_t oh, int64_t ow, float *y, const float *residual,                 \
                           int64_t filter_stride, int relu, int pooled) {                                                      \
        (void)group_start; (void)group_offset; (void)group_weights; (void)kh; (void)filters; (void)source; (void)bias;         \
        (void)image_begin; (void)image_end; (void)plane; (void)wq; (void)oh; (void)ow; (void)y; (void)residual;                \
        (void)filter_stride; (void)relu; (void)pooled;                                                                         \
    }
RELIEF_CONV_ROWS8_STUB(relief_conv_rows8)
RELIEF_CONV_ROWS8_STUB(relief_conv_rows8_avx512)
#define RELIEF_CONV_VECTORS_STUB(name)                                                                                                                 \
    void name(const uint32_t *block_start, int64_t blocks, const int64_t *offset, const float *vals,                                                   \
                             int64_t filters, const float *source, const float *bias, const int32_t *starts, int64_t vectors,                          \
                             float *acc,                                                                                                               \
                             float *y, const float *residual, int64_t filter_stride,                                                                   \
                             const int32_t *run_from, const int32_t *run_to, const int32_t *run_length, int64_t runs,                                  \
                             int relu, int64_t prefetch_from, int64_t prefetch_count, int64_t planes, int64_t plane_stride) {                          \
        (void)block_start; (void)blocks; (void)offset; (void)vals; (void)filters; (void)source; (void)bias; (void)starts; (void)vectors; (void)acc;    \
        (void)y; (void)residual; (void)filter_stride; (void)run_from; (void)run_to; (void)run_length; (void)runs; (void)relu;                          \
        (void)prefetch_from; (void)prefetch_count; (void)planes; (void)plane_stride;                                                                   \
    }
RELIEF_CONV_VECTORS_STUB(relief_conv_vectors)
RELIEF_CONV_VECTORS_STUB(relief_conv_vectors_avx512)
#endif
