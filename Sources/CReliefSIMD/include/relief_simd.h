// Hand-written AVX2+FMA variants of Relief's CSR kernels, chosen at run time.
//
// Swift's SIMD types compile for the baseline x86-64 target (SSE2, no FMA); these functions carry
// their own target attribute, so the package still runs on any x86-64 CPU: callers check
// relief_simd_avx2_fma() first and keep the Swift path otherwise.
#ifndef RELIEF_SIMD_H
#define RELIEF_SIMD_H

#include <stddef.h>
#include <stdint.h>

/// 1 when the CPU has AVX2 and FMA (and this build has the variants), else 0.
int relief_simd_avx2_fma(void);
/// 1 when the CPU (and the OS) run AVX-512F as well as AVX2 + FMA: the `_avx512` variants.
int relief_simd_avx512(void);
// AVX-512 F, CD, BW, DQ and VL: what OpenBLAS's SkylakeX kernels use.
int relief_simd_avx512_skylake(void);

/// Returns the heap's free memory to the system where the C library can (glibc's malloc_trim).
void relief_trim_heap(void);

/// Names the calling thread (at most 15 bytes are kept), as `ps -L` and debuggers show it.
void relief_set_thread_name(const char *name);
/// The calling thread's name into `out` (`size` bytes); 0 on success.
int relief_thread_name(char *out, size_t size);

/// A spin-wait hint (x86 `pause`): a waiting loop yields the core's resources and its power.
static inline void relief_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// One 32-column strip: y[r][j..j+32) = bias[r] + sum_k vals[k] * x[cols[k] * x_stride + x_offset ..+32)
/// for rows [row_begin, row_end); y rows are y_stride apart. x may be a packed strip (x_stride 32).
void relief_csr_strip32_u16(const uint32_t *row_start, const uint16_t *cols, const float *vals,
                            const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                            float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);

/// As relief_csr_strip32_u16, 64 columns wide (eight accumulators per row).
void relief_csr_strip64_u16(const uint32_t *row_start, const uint16_t *cols, const float *vals,
                            const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                            float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);
/// relief_csr_strip32_u16 and relief_csr_strip64_u16 in 512-bit vectors (needs relief_simd_avx512()).
void relief_csr_strip32_u16_avx512(const uint32_t *row_start, const uint16_t *cols, const float *vals,
                            const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                            float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);
void relief_csr_strip64_u16_avx512(const uint32_t *row_start, const uint16_t *cols, const float *vals,
                            const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                            float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);

/// The strips in column blocks: the matrix's columns (rows of X) in `blocks` blocks, block b of row r
/// holding nonzeros block_start[r * (blocks + 1) + b] ..< block_start[r * (blocks + 1) + b + 1].
/// Block by block, every row's outputs are loaded (the first block: set to the bias), updated by its
/// nonzeros in the block and stored, so the rows of X one block reads stay in L1 for all the rows.
void relief_csr_blocked32_u16(const uint32_t *block_start, int64_t blocks, const uint16_t *cols, const float *vals,
                              const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                              float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);
void relief_csr_blocked64_u16(const uint32_t *block_start, int64_t blocks, const uint16_t *cols, const float *vals,
                              const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                              float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);
void relief_csr_blocked32_u16_avx512(const uint32_t *block_start, int64_t blocks, const uint16_t *cols, const float *vals,
                                     const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                                     float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);
void relief_csr_blocked64_u16_avx512(const uint32_t *block_start, int64_t blocks, const uint16_t *cols, const float *vals,
                                     const float *x, int64_t x_stride, int64_t x_offset, const float *bias,
                                     float *y, int64_t y_stride, int64_t j, int64_t row_begin, int64_t row_end);

/// Y = W X + bias for a narrow X (`n` columns, 2 to 16, rows n floats apart) and Y (`rows x n`), rows
/// row_begin ..< row_end: every row's n outputs stay in one or two registers (the lanes past n are
/// masked, so nothing past X or Y is touched), with independent FMA chains over the nonzeros.
void relief_csr_narrow_u16(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x, int64_t n,
                           const float *bias, float *y, int64_t row_begin, int64_t row_end);
/// relief_csr_narrow_u16 with 512-bit vectors where n == 4 (four nonzeros per vector; needs
/// relief_simd_avx512()); other n as relief_csr_narrow_u16.
void relief_csr_narrow_u16_avx512(const uint32_t *row_start, const uint16_t *cols, const float *vals, const float *x, int64_t n,
                           const float *bias, float *y, int64_t row_begin, int64_t row_end);

/// im2col of x `[channels][batch][h][w]` for a kh x kw kernel (stride sh, sw; zero padding ph, pw):
/// row `(c·kh + ky)·kw + kx` of cols, column `(b·oh + oy)·ow + ox`, is x[c][b][oy·sh - ph + ky][ox·sw - pw + kx]
/// (0 outside the image). Plain C, every CPU.
void relief_im2col(const float *x, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t kh, int64_t kw,
                   int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t oh, int64_t ow, float *cols);

/// y[p][oy][ox] = x[p][2·oy][2·ox] for `planes` planes of h x w (2·(oh − 1) < h, 2·(ow − 1) < w), in
/// 256-bit steps (needs relief_simd_avx2_fma()).
void relief_subsample2(const float *x, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, float *y);

/// The same im2col for stride 2 from a copy of x in relief_pad_shared's layout (`padded`, channels
/// `channel_stride` apart, at least 16 floats readable past the last channel): every tap row is read
/// without bounds checks, 8 outputs from 16 inputs per step (AVX2; needs relief_simd_avx2_fma()).
void relief_im2col_padded_s2(const float *padded, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t kh, int64_t kw,
                             int64_t ph, int64_t pw, int64_t oh, int64_t ow, int64_t channel_stride, float *cols);

/// out[j * ldo + i] = a[i * lda + j] for a rows x columns matrix a (8x8 register blocks with AVX2;
/// a plain loop in builds without it). The matrices must not overlap.
void relief_transpose(const float *a, int64_t rows, int64_t columns, int64_t lda, float *out, int64_t ldo);

/// out[j * ldo + i] = a[i * lda + cols[j]] for i < rows, j < count: the transpose of the listed
/// columns only (cols strictly increasing). Runs of 8 consecutive columns go as 8x8 register blocks.
void relief_transpose_columns(const float *a, int64_t rows, int64_t lda, const int32_t *cols, int64_t count, float *out, int64_t ldo);
/// relief_transpose_columns in blocks of 16 rows, one 512-bit store per column (needs relief_simd_avx512()).
void relief_transpose_columns_avx512(const float *a, int64_t rows, int64_t lda, const int32_t *cols, int64_t count, float *out,
                                     int64_t ldo);

/// Sliced-ELLPACK product for one column of X (the `sell8` kernel): rows in slices of 8, one SIMD lane
/// per row. Slot t of slice s (slots slice_start[s] ..< slice_start[s+1]) holds 8 values (one per
/// row, 0 for padding) whose columns all lie in the 8-column block starting at block_column[t]; lane
/// i's column is block_column[t] + lanes[8t + i] (0...7). The block of x is loaded once and permuted
/// in the register, so no lane is gathered from memory. x must be readable up to the last block's
/// end (pad it to a multiple of 8). Writes y[r] = bias[r] + sum for rows 8s .. of slices
/// [slice_begin, slice_end), never past `rows`.
void relief_sell8_gemv(const uint32_t *slice_start, const uint32_t *block_column, const uint8_t *lanes, const float *values,
                       const float *x, const float *bias, float *y, int64_t rows, int64_t slice_begin, int64_t slice_end);

/// Sliced-ELLPACK product for one column of X on AVX-512 (the `sell16` kernel; needs
/// relief_simd_avx512()). Rows come in slices of 16 (lane i of slice s is row 16s + i), slices in
/// groups of 4, columns in blocks of 32. For group g and block b, slice q has count[4(g·blocks + b) + q]
/// slots (blocks = ceil(columns / 32)); a slot is 16 values (0 for padding) and 16 byte offsets
/// (0...31) into the block, lane i being a nonzero of row 16s + i in column 32b + offset. The group's
/// slots start at slot group_start[g] and run block by block, slice by slice; the block's 32 values
/// of x sit in two registers and vpermt2ps picks each lane's, so no lane is gathered from memory.
/// Writes y[r] = bias[r] + sum for the rows of groups [group_begin, group_end), never past `rows`;
/// reads x only inside [0, columns).
void relief_sell16_gemv_avx512(const int64_t *group_start, const uint8_t *count, const uint8_t *offset,
                               const float *values, const float *x, const float *bias, float *y, int64_t rows,
                               int64_t columns, int64_t group_begin, int64_t group_end);

/// SELL-8-sigma product for one column of X (the `sellsigma` kernel): rows sorted by nonzero count
/// in slices of 8, lane i of slice s being row row_of_lane[8s + i]; slot t of a slice (slots
/// slice_start[s] ..< slice_start[s+1]) holds one (column, value) per lane (value 0 and column 0 for
/// padding), x fetched lane by lane. Writes y[r] = bias[r] + sum for the rows of slices
/// [slice_begin, slice_end) (row_of_lane has one entry per row: a last partial slice stops at `rows`).
void relief_sellsigma_gemv(const uint32_t *slice_start, const uint32_t *columns, const float *values, const uint32_t *row_of_lane,
                           const float *x, const float *bias, float *y, int64_t rows, int64_t slice_begin, int64_t slice_end);
/// The same with 16-bit columns (matrices up to 65,536 columns).
void relief_sellsigma_gemv_u16(const uint32_t *slice_start, const uint16_t *columns, const float *values, const uint32_t *row_of_lane,
                               const float *x, const float *bias, float *y, int64_t rows, int64_t slice_begin, int64_t slice_end);

/// The strip convolution's source for image b of a planar input ([C][B][h·w], stride 1; needs
/// relief_simd_avx512()): for each tap column kx and channel c, hp padded rows of ow floats,
/// out[((kx·channels + c)·hp + yp)·ow + q] = x[c][b][yp - ph][q + kx - pw], zero outside the image.
void relief_shift_taps_avx512(const float *x, int64_t channels, int64_t batch, int64_t b, int64_t h, int64_t w,
                              int64_t ph, int64_t pw, int64_t kw, int64_t hp, int64_t ow, float *out);
/// The same for strides sy, sx in {1, 2}: plane (kx, c, py) for py < sy holds hq rows of ow floats,
/// out[(((kx·channels + c)·sy + py)·hq + i)·ow + q] = x[c][b][sy·i + py - ph][sx·q + kx - pw], zero
/// outside the image; tap (ky, kx) reads row ky / sy of plane (kx, c, ky % sy).
void relief_shift_taps_strided_avx512(const float *x, int64_t channels, int64_t batch, int64_t b, int64_t h, int64_t w,
                                      int64_t ph, int64_t pw, int64_t kw, int64_t sy, int64_t sx, int64_t hq, int64_t ow, float *out);
/// Filters [row_begin, row_end) of the strip convolution of one image (needs relief_simd_avx512()):
/// y[r·y_stride + p] = relu?(init + sum_k vals[k]·source[offset[k] + p] + residual[r·y_stride + p])
/// for p < pixels, k in [begin[r], end[r]) (a CSR's row_start and row_start + 1, or one channel
/// block's bounds); init is y's own value with `accumulate`, else bias[r]; bias and residual may be
/// null.
void relief_conv_strips_avx512(const uint32_t *begin, const uint32_t *end, const int64_t *offset, const float *vals,
                               const float *source, int64_t pixels, const float *bias, const float *residual, int relu,
                               int accumulate, float *y, int64_t y_stride, int64_t row_begin, int64_t row_end);

/// The strip convolution of a 3x3, stride-1 convolution with padding 1 read from a row-padded copy
/// (needs relief_simd_avx512()): `source` holds each input channel's image with a zero row above
/// and below ((h + 2)·w floats a channel, w dividing 64, at least 64 readable floats past the last);
/// filter r's nonzeros come in three runs by tap column, kx = g in [bounds[3r + g], bounds[3r + g + 1]),
/// each at offset[k] = channel·(h + 2)·w + ky·w. Results as relief_conv_strips_avx512's.
void relief_conv_taps_avx512(const uint32_t *bounds, const int64_t *offset, const float *vals, const float *source, int64_t pixels,
                             int64_t w, const float *bias, const float *residual, int relu, int accumulate, float *y, int64_t y_stride,
                             int64_t row_begin, int64_t row_end);
/// SELL-16-sigma on AVX-512 (the `sellsigma16` kernel; needs relief_simd_avx512()): the layout of
/// relief_sellsigma_gemv with 16-row slices (slot t holds 16 (column, value) pairs, lane i of slice
/// s being row row_of_lane[16s + i]), x fetched by one vgatherdps per slot.
void relief_sellsigma16_gemv_u16_avx512(const uint32_t *slice_start, const uint16_t *columns, const float *values,
                                        const uint32_t *row_of_lane, const float *x, const float *bias, float *y, int64_t rows,
                                        int64_t slice_begin, int64_t slice_end);
/// The same with 32-bit columns.
void relief_sellsigma16_gemv_avx512(const uint32_t *slice_start, const uint32_t *columns, const float *values,
                                    const uint32_t *row_of_lane, const float *x, const float *bias, float *y, int64_t rows,
                                    int64_t slice_begin, int64_t slice_end);

/// Filters o in [0, filters) of a direct sparse convolution over `vectors` (at most 2048) vectors of
/// 8 extended positions: vector v covers source positions [starts[v], starts[v] + 8). Filter o's
/// nonzeros are split into `blocks` blocks (of input channels), block j holding nonzeros k in
/// [block_start[o * blocks + j], block_start[o * blocks + j + 1]) (so with one block, block_start is
/// the CSR row start), and nonzero k reads source[offset[k] + position]. The results go to acc
/// (vector v at acc[8v...]; acc holds the vector count rounded up to 8, times 8 floats, and with
/// several blocks that much per filter), then each run r copies acc[run_from[r] ..< + run_length[r]]
/// to y[o * filter_stride + run_to[r] ...], plus residual at the same index when residual is not null
/// (a residual addition fused into the convolution), through max(0, .) when relu != 0. The `planes`
/// input planes, plane_stride apart, from prefetch_from for prefetch_count floats (the next chunk's
/// windows) are prefetched meanwhile.
void relief_conv_vectors(const uint32_t *block_start, int64_t blocks, const int64_t *offset, const float *vals,
                         int64_t filters, const float *source, const float *bias, const int32_t *starts, int64_t vectors,
                         float *acc, float *y, const float *residual, int64_t filter_stride,
                         const int32_t *run_from, const int32_t *run_to, const int32_t *run_length, int64_t runs,
                         int relu, int64_t prefetch_from, int64_t prefetch_count, int64_t planes, int64_t plane_stride);
/// relief_conv_vectors with 512-bit vectors (needs relief_simd_avx512()): the same arguments, accumulators
/// and results; two contiguous tiles back to back run as one tile of 128 floats.
void relief_conv_vectors_avx512(const uint32_t *block_start, int64_t blocks, const int64_t *offset, const float *vals,
                         int64_t filters, const float *source, const float *bias, const int32_t *starts, int64_t vectors,
                         float *acc, float *y, const float *residual, int64_t filter_stride,
                         const int32_t *run_from, const int32_t *run_to, const int32_t *run_length, int64_t runs,
                         int relu, int64_t prefetch_from, int64_t prefetch_count, int64_t planes, int64_t plane_stride);

/// A batch-interleaved activation layout: channel c, group g (images 8g ..< 8g + 8) is a plane of
/// (h + 2 pad_y) rows of `row` pixels (row >= w + 2 pad_x), each pixel 8 floats (one per image),
/// starting at c * channel_stride + g * group_floats; pixel (iy, ix) is at ((iy + pad_y) * row +
/// ix + pad_x) * 8 within it, and the rest of the plane is the zero border.
typedef struct {
    int64_t channel_stride, group_floats, row, pad_y, pad_x;
} relief_interleaved_layout;

// DirectSparseConvolution's padded copies (AVX2 CPUs only): shared padding (x null: the zeros
// alone, for an output written in that layout), and stride phases.
void relief_pad_shared(const float *x, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t ph, int64_t pw,
                       int64_t channel_stride, int64_t slack, float *out);
void relief_pad_phases(const float *x, int64_t channels, int64_t batch, int64_t h, int64_t w, int64_t ph, int64_t pw,
                       int64_t sy, int64_t sx, int64_t hq, int64_t wq, int64_t total, float *out);
/// Writes zeros over the borders (everything but the h x w pixels) of every plane of `layout`.
void relief_zero_borders(float *y, const relief_interleaved_layout *layout, int64_t channels, int64_t groups, int64_t h, int64_t w);

/// kh x kw pooling with stride (sh, sw) over interleaved planes laid out as `in_layout` (windows
/// inside the h x w pixels, no padding): maximum (is_max != 0) or mean of each window for all 8
/// images of a group at once, into `out_layout` (borders zeroed), or, when out_layout is null,
/// into planar y[(c * batch + image) * oh * ow + oy * ow + ox] for the images below batch.
void relief_pool_interleaved(const float *x, const relief_interleaved_layout *in_layout, int64_t channels, int64_t groups,
                             int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t oh, int64_t ow, int is_max,
                             float *y, const relief_interleaved_layout *out_layout, int64_t batch);

/// A direct convolution of stride (sy, sx) over a batch-interleaved input: groups of 8 images, padded planes
/// of [padded row][padded column][8 images], `group_pixels` padded pixels from one group's first
/// plane to the next group's and `wp` per padded row. Entries e in [entry_begin, entry_end) (at most 256) are (group
/// g, output pixel p) with e = g * pixels + p, p = oy * ow + ox; entry e's vector is source[(g *
/// group_pixels + oy * sy * wp + ox * sx) * 8 ...] shifted by offset[k] (channel plane plus (ky * wp + kx) * 8)
/// for each nonzero k. The call covers `filters` filters o whose nonzeros in channel block j are
/// start[j * filters + o] ..< start[j * filters + o + 1] (the weights stored block by block, each
/// block filter by filter); bias, y and residual point at the first filter. acc holds the entry count rounded up to
/// 8, times 8 floats (per filter with several blocks). Image 8g + i (below batch) of entry e goes to
/// y[o * filter_stride + (8g + i) * pixels + p], plus residual at the same index when not null,
/// through max(0, .) when relu != 0. With out_layout (and no residual), entry e's vector goes
/// unchanged (bar the ReLU) to its pixel of filter o's plane in that interleaved layout instead.
/// With pooled != 0 (no residual) a 2x2 max pooling of stride 2 is fused in: `pixels` and `ow` are
/// the pooled output's, entry e is pooled pixel e / 4 of group g (e / 4 = g * pixels + p) at window
/// position (dy, dx) = ((e >> 1) & 1, e & 1), entry_begin and entry_end are multiples of 4, and each
/// window's maximum is written (planar or interleaved) where an unpooled entry's vector would be.
void relief_conv_interleaved(const uint32_t *start, int64_t blocks, int64_t filters, const int32_t *offset,
                             const float *vals, const float *source, const float *bias, int64_t entry_begin,
                             int64_t entry_end, int64_t pixels, int64_t ow, int64_t wp, int64_t sy, int64_t sx, int64_t group_pixels,
                             float *acc, float *y, const float *residual, int64_t filter_stride, int64_t batch, int relu,
                             const relief_interleaved_layout *out_layout, int pooled);
/// relief_conv_interleaved with 512-bit vectors (needs relief_simd_avx512()): the same arguments,
/// accumulators and results; each two 8-entry tiles whose entries pair up as neighbouring pixels
/// run as one 16-entry tile, so callers give it ranges of 16 entries or more.
void relief_conv_interleaved_avx512(const uint32_t *start, int64_t blocks, int64_t filters, const int32_t *offset,
                             const float *vals, const float *source, const float *bias, int64_t entry_begin,
                             int64_t entry_end, int64_t pixels, int64_t ow, int64_t wp, int64_t sy, int64_t sx, int64_t group_pixels,
                             float *acc, float *y, const float *residual, int64_t filter_stride, int64_t batch, int relu,
                             const relief_interleaved_layout *out_layout, int pooled);

/// A stride-1 direct convolution of images [image_begin, image_end) in tiles of 8 output rows x 8
/// columns (needs oh >= 8 and ow >= 8): filter o's groups g in [group_start[o], group_start[o+1])
/// each hold one input channel's tap column, its kh weights (zero where pruned) at
/// group_weights[g * kh ...] for tap rows 0 ..< kh, and its offset into source (channel plane plus
/// tap column). Output (oy, ox) of image img reads source[img * plane + (oy + ky) * wq + ox +
/// group_offset[g]] and goes to y[o * filter_stride + (img * oh + oy) * ow + ox], plus residual at
/// the same index when not null, through max(0, .) when relu != 0. kh is 1 to 7. With pooled != 0
/// (oh and ow even, residual null) each 2x2 window's maximum goes to y[o * filter_stride +
/// (img * (oh / 2) + oy / 2) * (ow / 2) + ox / 2] instead (a 2x2 max pooling of stride 2 fused in).
void relief_conv_rows8(const uint32_t *group_start, const int64_t *group_offset, const float *group_weights, int64_t kh,
                       int64_t filters, const float *source, const float *bias, int64_t image_begin, int64_t image_end,
                       int64_t plane, int64_t wq, int64_t oh, int64_t ow, float *y, const float *residual,
                       int64_t filter_stride, int relu, int pooled);
/// relief_conv_rows8 with 512-bit vectors (needs relief_simd_avx512()): the same arguments and results;
/// images go two at a time, each vector holding the same 8 columns of both.
void relief_conv_rows8_avx512(const uint32_t *group_start, const int64_t *group_offset, const float *group_weights, int64_t kh,
                       int64_t filters, const float *source, const float *bias, int64_t image_begin, int64_t image_end,
                       int64_t plane, int64_t wq, int64_t oh, int64_t ow, float *y, const float *residual,
                       int64_t filter_stride, int relu, int pooled);

/// 2x2 pooling with stride 2 and no padding over `planes` planes of h x w (row-major, planes
/// contiguous): the maximum (is_max != 0) or the mean of each window, into planes of oh x ow.
void relief_pool2x2(const float *x, float *y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow, int is_max);

#endif
