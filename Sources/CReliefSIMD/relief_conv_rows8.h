// The body of the row-tile convolution (declared in include/relief_simd.h as relief_conv_rows8),
// included once per instruction set by relief_simd.c: RELIEF_CONV_NAME and RELIEF_CONV_TARGET name
// the function and its target attribute; RELIEF_ROWS8_IMAGES images go through each tile at once
// (1, or 2 in 512-bit vectors, an odd last image then taking relief_conv_rows8), with the vector
// type, filter loop and writers of that width.
RELIEF_CONV_TARGET void RELIEF_CONV_NAME(const uint32_t *group_start, const int64_t *group_offset, const float *group_weights, int64_t kh,
                                         int64_t filters, const float *source, const float *bias, int64_t image_begin, int64_t image_end,
                                         int64_t plane, int64_t wq, int64_t oh, int64_t ow, float *y, const float *residual,
                                         int64_t filter_stride, int relu, int pooled) {
    const int64_t pw = ow / 2, planeOut = (oh / 2) * pw;
    int64_t img = image_begin;
    for (; img + RELIEF_ROWS8_IMAGES <= image_end; img += RELIEF_ROWS8_IMAGES) {
        for (int64_t oy = 0; oy < oh; oy += 8) {
            // A last block of rows (or columns) that would pass the edge moves back to end there,
            // overlapping the one before; those outputs are written twice, with the same values.
            const int64_t y0 = oy + 8 <= oh ? oy : oh - 8;
            for (int64_t ox = 0; ox < ow; ox += 8) {
                const int64_t x0 = ox + 8 <= ow ? ox : ow - 8;
                const float *base = source + img * plane + y0 * wq + x0;
                for (int64_t o = 0; o < filters; o++) {
                    RELIEF_ROWS8_VECTOR acc[8];
                    const float b = bias ? bias[o] : 0.0f;
                    RELIEF_ROWS8_FILTER(RELIEF_ROWS8_FILTER_FN, kh);
                    if (pooled) {
                        RELIEF_ROWS8_WRITE_POOLED(acc, y + o * filter_stride + img * planeOut + (y0 / 2) * pw + x0 / 2, pw, planeOut, relu);
                        continue;
                    }
                    const int64_t at = o * filter_stride + (img * oh + y0) * ow + x0;
                    RELIEF_ROWS8_WRITE(acc, y + at, residual ? residual + at : 0, ow, oh * ow, relu);
                }
            }
        }
    }
    if (img < image_end)
        relief_conv_rows8(group_start, group_offset, group_weights, kh, filters, source, bias, img, image_end, plane, wq, oh, ow, y,
                          residual, filter_stride, relu, pooled);
}

// The parameters are this expansion's alone.
#undef RELIEF_CONV_NAME
#undef RELIEF_CONV_TARGET
#undef RELIEF_ROWS8_IMAGES
#undef RELIEF_ROWS8_VECTOR
#undef RELIEF_ROWS8_FILTER_FN
#undef RELIEF_ROWS8_WRITE
#undef RELIEF_ROWS8_WRITE_POOLED
