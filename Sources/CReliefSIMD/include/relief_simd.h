// Hand-written AVX2+FMA variants of Relief's CSR kernels, chosen at run time.
//
// Swift's SIMD types compile for the baseline x86-64 target (SSE2, no FMA); these functions carry
// their own target attribute, so the package still runs on any x86-64 CPU: callers check
// relief_simd_avx2_fma() first and keep the Swift path otherwise.
#ifndef RELIEF_SIMD_H
#define RELIEF_SIMD_H

#include <stdint.h>

/// 1 when the CPU has AVX2 and FMA (and this build has the variants), else 0.
int relief_simd_avx2_fma(void);

/// One 32-column strip: y[r][j..j+32) = bias[r] + sum_k vals[k] * x[cols[k] * x_stride + x_offset ..+32)
/// for rows [row_begin, row_end); y rows are y_stride apart. x may be a packed strip (x_stride 32).
void relief_csr_strip32_u16(const uint32_t *row_start, const uint16_t *cols, const float *vals,
                            const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                            float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);

#endif
