// The body of the planar direct convolution's vector tiles (declared in include/relief_simd.h as
// relief_conv_vectors), included once per instruction set by relief_simd.c: RELIEF_CONV_NAME and
// RELIEF_CONV_TARGET name the function and its target attribute; with RELIEF_CONV_WIDE, two
// contiguous 8-vector tiles back to back run as one 128-float tile of 512-bit vectors
// (relief_tile128_avx512).
RELIEF_CONV_TARGET void RELIEF_CONV_NAME(const uint32_t *block_start, int64_t blocks, const int64_t *offset, const float *vals,
                                     int64_t filters, const float *source, const float *bias, const int32_t *starts, int64_t vectors,
                                     float *acc, float *y, const float *residual, int64_t filter_stride,
                                     const int32_t *run_from, const int32_t *run_to, const int32_t *run_length, int64_t runs,
                                     int relu, int64_t prefetch_from, int64_t prefetch_count, int64_t planes, int64_t plane_stride) {
    const __m256 zero = _mm256_setzero_ps();
    // Tiles of eight vectors; a last partial tile repeats its last vector (the copies land in acc
    // slots no run reads) rather than falling back to one FMA chain per vector.
    enum { max_tiles = 256 };
    int32_t tile_start[max_tiles * 8];
    int contiguous[max_tiles];
    const int64_t tiles = (vectors + 7) / 8;
    for (int64_t t = 0; t < tiles; t++) {
        for (int64_t i = 0; i < 8; i++) {
            const int64_t v = 8 * t + i < vectors ? 8 * t + i : vectors - 1;
            tile_start[8 * t + i] = starts[v];
        }
        contiguous[t] = tile_start[8 * t + 7] - tile_start[8 * t] == 56;
    }
#if RELIEF_CONV_WIDE
    // Tiles 2m and 2m + 1 as one of 16 vectors in eight 512-bit accumulators: 128 consecutive floats
    // (wide[m] = 1), or vectors that pair up as neighbours (2: rows of a few vectors whose ends break
    // the tiles' contiguity).
    int wide[max_tiles / 2];
    for (int64_t m = 0; 2 * m + 1 < tiles; m++) {
        int pairs = 1;
        for (int64_t i = 16 * m; i < 16 * m + 16; i += 2) pairs &= tile_start[i + 1] == tile_start[i] + 8;
        wide[m] = contiguous[2 * m] && contiguous[2 * m + 1] && tile_start[16 * m + 8] - tile_start[16 * m] == 64 ? 1 : pairs ? 2 : 0;
    }
#endif
    // The next chunk's windows (planes x prefetch_count floats) are prefetched into L2 a share per
    // filter: the first filter would otherwise wait on L3 or memory for every line of them.
    const int64_t lines_per_plane = (prefetch_count + 15) / 16, lines = planes * lines_per_plane;
    // With several channel blocks every filter keeps its own accumulators from block to block, so
    // one block's windows stay in L1 while all the filters read them; with one, they share a chunk.
    const int64_t filter_acc = blocks > 1 ? 64 * tiles : 0;
    for (int64_t j = 0; j < blocks; j++) {
        for (int64_t o = 0; o < filters; o++) {
            if (j == 0)
                for (int64_t l = lines * o / filters; l < lines * (o + 1) / filters; l++) {
                    int64_t pl = l / lines_per_plane, at = l - pl * lines_per_plane;
                    _mm_prefetch((const char *)(source + pl * plane_stride + prefetch_from + 16 * at), _MM_HINT_T1);
                }
            const int64_t k0 = block_start[o * blocks + j], k1 = block_start[o * blocks + j + 1];
            const float b = bias ? bias[o] : 0.0f;
            float *a = acc + o * filter_acc;
            if (j == 0 || k0 < k1)
                for (int64_t t = 0; t < tiles; t++) {
#if RELIEF_CONV_WIDE
                    if (!(t & 1) && t + 1 < tiles && wide[t >> 1]) {
                        if (wide[t >> 1] == 1)
                            relief_tile128_avx512(source + tile_start[8 * t], offset, vals, k0, k1, b, j == 0 ? 0 : a + 64 * t, a + 64 * t);
                        else
                            relief_tile16_avx512(source, tile_start + 8 * t, offset, 0, vals, k0, k1, b, j == 0 ? 0 : a + 64 * t, a + 64 * t);
                        t++;
                        continue;
                    }
#endif
                    if (contiguous[t]) {
                        // Consecutive vectors (wide rows, padded layouts): one pointer is enough.
                        const float *base = source + tile_start[8 * t];
                        relief_tile64 tile;
                        if (j == 0) relief_tile64_init(&tile, b); else relief_tile64_load(&tile, a + 64 * t);
                        for (int64_t k = k0; k < k1; k++) relief_tile64_fma(&tile, _mm256_broadcast_ss(vals + k), base + offset[k]);
                        relief_tile64_store(&tile, a + 64 * t);
                    } else {
                        relief_tile8x8(source, tile_start + 8 * t, offset, 0, vals, k0, k1, b, j == 0 ? 0 : a + 64 * t, a + 64 * t);
                    }
                }
            if (j + 1 < blocks) continue;
            float *out = y + o * filter_stride;
            const float *add = residual ? residual + o * filter_stride : 0;
            for (int64_t r = 0; r < runs; r++) {
                const float *src = a + run_from[r];
                float *dst = out + run_to[r];
                int64_t n = run_length[r], i = 0;
                if (add) {
                    const float *res = add + run_to[r];
                    if (relu) {
                        for (; i + 8 <= n; i += 8)
                            _mm256_storeu_ps(dst + i, _mm256_max_ps(_mm256_add_ps(_mm256_loadu_ps(src + i), _mm256_loadu_ps(res + i)), zero));
                        for (; i < n; i++) { float v = src[i] + res[i]; dst[i] = v > 0 ? v : 0; }
                    } else {
                        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_add_ps(_mm256_loadu_ps(src + i), _mm256_loadu_ps(res + i)));
                        for (; i < n; i++) dst[i] = src[i] + res[i];
                    }
                } else if (relu) {
                    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_max_ps(_mm256_loadu_ps(src + i), zero));
                    for (; i < n; i++) dst[i] = src[i] > 0 ? src[i] : 0;
                } else {
                    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_loadu_ps(src + i));
                    for (; i < n; i++) dst[i] = src[i];
                }
            }
        }
    }
}

// The parameters are this expansion's alone.
#undef RELIEF_CONV_NAME
#undef RELIEF_CONV_TARGET
#undef RELIEF_CONV_WIDE
