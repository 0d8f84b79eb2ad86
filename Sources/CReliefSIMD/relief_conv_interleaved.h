// The body of the batch-interleaved direct convolution (declared in include/relief_simd.h as
// relief_conv_interleaved), included once per instruction set by relief_simd.c: RELIEF_CONV_NAME
// and RELIEF_CONV_TARGET name the function and its target attribute; with RELIEF_CONV_WIDE, pairs
// of 8-entry tiles run as one 16-entry tile of 512-bit vectors (relief_tile16_avx512).
RELIEF_CONV_TARGET void RELIEF_CONV_NAME(const uint32_t *start, int64_t blocks, int64_t filters, const int32_t *offset,
                            const float *vals, const float *source, const float *bias, int64_t entry_begin,
                                         int64_t entry_end, int64_t pixels, int64_t ow, int64_t wp, int64_t sy, int64_t sx, int64_t group_pixels,
                                         float *acc, float *y, const float *residual, int64_t filter_stride, int64_t batch, int relu,
                                         const relief_interleaved_layout *out_layout, int pooled) {
    enum { max_tiles = 32 };
    int32_t tile_start[max_tiles * 8];
    int64_t entry_group[max_tiles * 8], entry_pixel[max_tiles * 8], entry_out[max_tiles * 8];
    const int64_t entries = entry_end - entry_begin, tiles = (entries + 7) / 8;
    for (int64_t j = 0; j < tiles * 8; j++) {
        const int64_t e = entry_begin + (j < entries ? j : entries - 1);
        // Pooled: four entries per output pixel p, its 2x2 window's (dy, dx) in the low two bits.
        const int64_t q = pooled ? e >> 2 : e;
        const int64_t g = q / pixels, p = q - g * pixels, py = p / ow, px = p - py * ow;
        const int64_t oy = pooled ? 2 * py + ((e >> 1) & 1) : py, ox = pooled ? 2 * px + (e & 1) : px;
        entry_group[j] = g;
        entry_pixel[j] = p;
        tile_start[j] = (int32_t)((g * group_pixels + oy * sy * wp + ox * sx) * 8);
        if (out_layout)
            entry_out[j] = g * out_layout->group_floats + ((py + out_layout->pad_y) * out_layout->row + px + out_layout->pad_x) * 8;
    }
#if RELIEF_CONV_WIDE
    // Tiles 2m and 2m + 1 run as one 16-entry tile where their entries come in adjacent pairs (two
    // neighbouring pixels of one group: a 512-bit vector); a pair across a row end does not.
    int wide[max_tiles / 2];
    for (int64_t m = 0; 2 * m + 1 < tiles; m++) {
        wide[m] = 1;
        for (int64_t i = 16 * m; i < 16 * m + 16; i += 2) wide[m] &= tile_start[i + 1] == tile_start[i] + 8;
    }
#endif
    const int64_t filter_acc = blocks > 1 ? 64 * tiles : 0;
    const __m256 zero = _mm256_setzero_ps();
    for (int64_t j = 0; j < blocks; j++) {
        for (int64_t o = 0; o < filters; o++) {
            const int64_t k0 = start[j * filters + o], k1 = start[j * filters + o + 1];
            const float b = bias ? bias[o] : 0.0f;
            float *a = acc + o * filter_acc;
            if (j == 0 || k0 < k1) {
                int64_t t = 0;
#if RELIEF_CONV_WIDE
                for (; t + 1 < tiles; t += 2) {
                    if (wide[t >> 1]) {
                        relief_tile16_avx512(source, tile_start + 8 * t, 0, offset, vals, k0, k1, b, j == 0 ? 0 : a + 64 * t, a + 64 * t);
                        continue;
                    }
                    relief_tile8x8(source, tile_start + 8 * t, 0, offset, vals, k0, k1, b, j == 0 ? 0 : a + 64 * t, a + 64 * t);
                    relief_tile8x8(source, tile_start + 8 * t + 8, 0, offset, vals, k0, k1, b, j == 0 ? 0 : a + 64 * t + 64, a + 64 * t + 64);
                }
#endif
                for (; t < tiles; t++)
                    relief_tile8x8(source, tile_start + 8 * t, 0, offset, vals, k0, k1, b, j == 0 ? 0 : a + 64 * t, a + 64 * t);
            }
            if (j + 1 < blocks) continue;
            if (pooled) {
                // Each window's four vectors reduce to one (the ReLU commutes with the maximum).
                float *out = out_layout ? y + o * out_layout->channel_stride : y + o * filter_stride;
                for (int64_t e = 0; e < entries; e += 4) {
                    const float *w = a + 8 * e;
                    __m256 v = _mm256_max_ps(_mm256_max_ps(_mm256_loadu_ps(w), _mm256_loadu_ps(w + 8)),
                                             _mm256_max_ps(_mm256_loadu_ps(w + 16), _mm256_loadu_ps(w + 24)));
                    if (relu) v = _mm256_max_ps(v, zero);
                    if (out_layout) {
                        _mm256_storeu_ps(out + entry_out[e], v);
                        continue;
                    }
                    float lane[8];
                    _mm256_storeu_ps(lane, v);
                    const int64_t first = 8 * entry_group[e], lanes = batch - first < 8 ? batch - first : 8;
                    for (int64_t i = 0; i < lanes; i++) out[(first + i) * pixels + entry_pixel[e]] = lane[i];
                }
                continue;
            }
            if (out_layout) {
                // Interleaved output: each entry's vector is one pixel of 8 images already.
                float *out = y + o * out_layout->channel_stride;
                for (int64_t e = 0; e < entries; e++) {
                    const __m256 v = _mm256_loadu_ps(a + 8 * e);
                    _mm256_storeu_ps(out + entry_out[e], relu ? _mm256_max_ps(v, zero) : v);
                }
                continue;
            }
            // Entry e's 8 lanes are images 8g ..< 8g + 8 at pixel p; images past the batch are padding.
            float *out = y + o * filter_stride;
            const float *add = residual ? residual + o * filter_stride : 0;
            for (int64_t t = 0; t < tiles; t++) {
                const int64_t e0 = 8 * t, g = entry_group[e0];
                if (e0 + 8 <= entries && entry_group[e0 + 7] == g && 8 * g + 8 <= batch) {
                    // Eight consecutive pixels of 8 whole images: transposed, one vector per image.
                    __m256 r[8];
                    relief_transpose8x8(a + 64 * t, 8, r);
                    const int64_t at = 8 * g * pixels + entry_pixel[e0];
                    for (int64_t i = 0; i < 8; i++) {
                        __m256 v = add ? _mm256_add_ps(r[i], _mm256_loadu_ps(add + at + i * pixels)) : r[i];
                        _mm256_storeu_ps(out + at + i * pixels, relu ? _mm256_max_ps(v, zero) : v);
                    }
                    continue;
                }
                for (int64_t e = e0; e < e0 + 8 && e < entries; e++) {
                    const int64_t first = 8 * entry_group[e], lanes = batch - first < 8 ? batch - first : 8;
                    const float *v = a + 8 * e;
                    for (int64_t i = 0; i < lanes; i++) {
                        const int64_t at = (first + i) * pixels + entry_pixel[e];
                        float r = v[i] + (add ? add[at] : 0.0f);
                        out[at] = relu && r < 0 ? 0.0f : r;
                    }
                }
            }
        }
    }
}

// The parameters are this expansion's alone.
#undef RELIEF_CONV_NAME
#undef RELIEF_CONV_TARGET
#undef RELIEF_CONV_WIDE
