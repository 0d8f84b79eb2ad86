#include "relief_simd.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define RELIEF_AVX2 __attribute__((target("avx2,fma")))

int relief_simd_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

RELIEF_AVX2 void relief_csr_strip32_u16(const uint32_t *row_start, const uint16_t *cols, const float *vals,
                                        const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                                        float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end) {
    for (int64_t r = row_begin; r < row_end; r++) {
        __m256 a0 = _mm256_set1_ps(bias ? bias[r] : 0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t k = row_start[r]; k < (int64_t)row_start[r + 1]; k++) {
            __m256 w = _mm256_set1_ps(vals[k]);
            const float *p = x + (int64_t)cols[k] * x_stride + x_offset;
            a0 = _mm256_fmadd_ps(w, _mm256_loadu_ps(p), a0);
            a1 = _mm256_fmadd_ps(w, _mm256_loadu_ps(p + 8), a1);
            a2 = _mm256_fmadd_ps(w, _mm256_loadu_ps(p + 16), a2);
            a3 = _mm256_fmadd_ps(w, _mm256_loadu_ps(p + 24), a3);
        }
        float *out = y + r * y_stride + j;
        _mm256_storeu_ps(out, a0);
        _mm256_storeu_ps(out + 8, a1);
        _mm256_storeu_ps(out + 16, a2);
        _mm256_storeu_ps(out + 24, a3);
    }
}

#else
int relief_simd_avx2_fma(void) { return 0; }
void relief_csr_strip32_u16(const uint32_t *row_start, const uint16_t *cols, const float *vals,
                            const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                            float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end) {
    (void)row_start; (void)cols; (void)vals; (void)x; (void)x_stride; (void)x_offset; (void)bias;
    (void)y; (void)y_stride; (void)j; (void)row_begin; (void)row_end;
}
#endif
