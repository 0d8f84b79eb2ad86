// How fast can a sparse matrix x one vector (batch 1) go on this CPU, against CXSparse's own
// cs_di_gaxpy? Every nonzero needs its x value fetched from an arbitrary column: a gather, done
// lane by lane or with AVX2's vgatherdps. This times, in one run and on the same random matrix
// (LeNet-300-100's fc1 shape by default), the layouts a batch-1 kernel can take:
//   csr-rows     one row at a time, 8 products per step from 8 scalar loads, horizontal sum
//   sell-lanes   SELL-8-sigma (rows sorted by length, 8 rows per slice, lane = row): no
//                horizontal sums and almost no padding; x fetched by 8 scalar loads per slot
//   sell-packed  the same, the slot's 16-bit columns read 4 at a time (the runtime's `sellsigma`)
//   sell-gather  the same slots, x fetched by one vgatherdps
//   csc-scatter  CSparse's column loop in single precision
//   permute32    AVX-512: 16-row slices over 32-column blocks of x held in two registers, one
//                vpermt2ps per slot instead of a gather (the runtime's `sell16`)
//   perm-equal   the same with a group's four slices padded to one slot count (no branches)
//   perm64       the same over 64-column blocks (less padding, two permutations per slot)
//   slide32      AVX-512: each slot's 32-column window of x starts at its own column (fewer slots
//                than fixed blocks, but the window is loaded for every slot)
//   perm-dword   permute32 with 32-bit offsets in memory (no widening shuffle, 64 more bytes a slot)
//   perm-chunk   permute32 with four slots' offsets in one 64-byte chunk, each read at its byte
//   perm-expand  permute32 without padding in memory: a lane mask per slot and expands (AVX512-VBMI2)
//   sell16-gather  AVX-512: SELL-16-sigma (16-row slices), x fetched by one vgatherdps per slot
//                (the runtime's `sellsigma16`)
//   cxsparse     cs_di_gaxpy as the runtime's backend calls it (x and y converted to and from double)
// and prints each time and CXSparse's time divided by it. The best of these is the bound a
// batch-1 kernel can reach here; the runtime's own kernels are timed by
// `relief-bench kernels`.
//   cc -O3 bench/micro/spmv_batch1.c -o /tmp/spmv1 -lcxsparse && /tmp/spmv1 [density] [rows] [columns]
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <suitesparse/cs.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct {
    int slices, *perm;
    uint32_t *slice_start;  // SELL-16-sigma: slots of 16 (column, value) pairs
    uint16_t *slot_column;
    float *slot_value;
} sell16sigma;  // SELL-C-sigma (sigma_layout), C = 16 here

typedef struct {
    int rows, columns, nnz;
    uint32_t *row_start;  // CSR
    uint16_t *column;
    float *value;
    int slices, *perm;     // SELL-8-sigma: slice s holds rows perm[8s ..< 8s+8]
    uint32_t *slice_start;  // in slots; a slot is 8 (column, value) pairs, one per lane
    uint16_t *slot_column;
    float *slot_value;
    uint32_t *column_start;  // CSC
    uint16_t *row;
    float *column_value;
} matrix;

__attribute__((target("avx2,fma"))) static void csr_rows(const matrix *m, const float *x, float *y) {
    for (int r = 0; r < m->rows; r++) {
        int k = m->row_start[r];
        const int end = m->row_start[r + 1];
        const uint16_t *c = m->column;
        __m256 acc = _mm256_setzero_ps();
        for (; k + 8 <= end; k += 8) {
            const __m256 g = _mm256_setr_ps(x[c[k]], x[c[k + 1]], x[c[k + 2]], x[c[k + 3]], x[c[k + 4]], x[c[k + 5]],
                                            x[c[k + 6]], x[c[k + 7]]);
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(m->value + k), g, acc);
        }
        float s = 0;
        for (; k < end; k++) s += m->value[k] * x[c[k]];
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        h = _mm_hadd_ps(h, h);
        h = _mm_hadd_ps(h, h);
        y[r] = _mm_cvtss_f32(h) + s;
    }
}

__attribute__((target("avx2,fma"))) static void sell_store(const matrix *m, int s, __m256 acc, float *y) {
    float out[8];
    _mm256_storeu_ps(out, acc);
    const int n = m->rows - 8 * s < 8 ? m->rows - 8 * s : 8;
    for (int i = 0; i < n; i++) y[m->perm[8 * s + i]] = out[i];
}

__attribute__((target("avx2,fma"))) static void sell_lanes(const matrix *m, const float *x, float *y) {
    for (int s = 0; s < m->slices; s++) {
        __m256 acc = _mm256_setzero_ps();
        for (uint32_t t = m->slice_start[s]; t < m->slice_start[s + 1]; t++) {
            const uint16_t *c = m->slot_column + 8 * t;
            const __m256 g = _mm256_setr_ps(x[c[0]], x[c[1]], x[c[2]], x[c[3]], x[c[4]], x[c[5]], x[c[6]], x[c[7]]);
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(m->slot_value + 8 * t), g, acc);
        }
        sell_store(m, s, acc, y);
    }
}

__attribute__((target("avx2,fma"))) static void sell_gather(const matrix *m, const float *x, float *y) {
    for (int s = 0; s < m->slices; s++) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;  // two chains: the gathers' latency overlaps
        uint32_t t = m->slice_start[s];
        const uint32_t end = m->slice_start[s + 1];
        for (; t < end; t++) {
            const __m256i i = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(m->slot_column + 8 * t)));
            const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(m->slot_value + 8 * t), _mm256_i32gather_ps(x, i, 4));
            if (t & 1) a1 = _mm256_add_ps(a1, p); else a0 = _mm256_add_ps(a0, p);
        }
        sell_store(m, s, _mm256_add_ps(a0, a1), y);
    }
}

// SELL-16-sigma: the same layout with 16 rows per slice, x fetched by one AVX-512 vgatherdps per slot.
__attribute__((target("avx512f"))) static void sell16_gather(const sell16sigma *m, int rows, const float *x, float *y) {
    for (int s = 0; s < m->slices; s++) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0;
        uint32_t t = m->slice_start[s];
        const uint32_t end = m->slice_start[s + 1];
        for (; t + 2 <= end; t += 2) {
            const __m512i i0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(m->slot_column + 16 * t)));
            const __m512i i1 = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(m->slot_column + 16 * t + 16)));
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(m->slot_value + 16 * t), _mm512_i32gather_ps(i0, x, 4), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(m->slot_value + 16 * t + 16), _mm512_i32gather_ps(i1, x, 4), a1);
        }
        if (t < end) {
            const __m512i i0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(m->slot_column + 16 * t)));
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(m->slot_value + 16 * t), _mm512_i32gather_ps(i0, x, 4), a0);
        }
        float out[16];
        _mm512_storeu_ps(out, _mm512_add_ps(a0, a1));
        const int n = rows - 16 * s < 16 ? rows - 16 * s : 16;
        for (int i = 0; i < n; i++) y[m->perm[16 * s + i]] = out[i];
    }
}

static int by_length_descending(const void *a, const void *b);
// SELL-C-sigma over all rows (C = `lanes`): sorted by length, each slice as long as its longest row;
// padding is column 0, value 0. Values 64-byte aligned.
static sell16sigma sigma_layout(const matrix *m, int lanes) {
    sell16sigma q;
    const int rows = m->rows;
    int(*length)[2] = malloc(sizeof(int[2]) * rows);
    for (int r = 0; r < rows; r++) length[r][0] = r, length[r][1] = (int)(m->row_start[r + 1] - m->row_start[r]);
    qsort(length, rows, sizeof(int[2]), by_length_descending);
    q.slices = (rows + lanes - 1) / lanes;
    q.perm = calloc((size_t)lanes * q.slices, sizeof(int));
    q.slice_start = malloc((q.slices + 1) * sizeof(uint32_t));
    uint32_t slots = 0;
    for (int s = 0; s < q.slices; s++) {
        q.slice_start[s] = slots;
        slots += length[lanes * s][1];
        for (int i = 0; i < lanes && lanes * s + i < rows; i++) q.perm[lanes * s + i] = length[lanes * s + i][0];
    }
    q.slice_start[q.slices] = slots;
    const size_t values = (size_t)lanes * slots + lanes;
    q.slot_column = calloc(values, 2);
    q.slot_value = aligned_alloc(64, (4 * values + 63) / 64 * 64);
    memset(q.slot_value, 0, 4 * values);
    for (int s = 0; s < q.slices; s++)
        for (int i = 0; i < lanes && lanes * s + i < rows; i++) {
            const int r = q.perm[lanes * s + i];
            for (uint32_t k = m->row_start[r]; k < m->row_start[r + 1]; k++) {
                const size_t at = (size_t)lanes * (q.slice_start[s] + (k - m->row_start[r])) + i;
                q.slot_column[at] = m->column[k];
                q.slot_value[at] = m->value[k];
            }
        }
    free(length);
    return q;
}

// sell-lanes with the slot's 8 16-bit columns read in two 64-bit loads and taken apart by shifts
// (10 loads per slot instead of 17), halves built in 128-bit registers: the runtime's loop.
__attribute__((target("avx2,fma"))) static inline __m256 packed_slot(const uint16_t *c, const float *x) {
    uint64_t lo, hi;
    memcpy(&lo, c, 8);
    memcpy(&hi, c + 4, 8);
    const __m128 a = _mm_setr_ps(x[lo & 0xffff], x[(lo >> 16) & 0xffff], x[(lo >> 32) & 0xffff], x[lo >> 48]);
    const __m128 b = _mm_setr_ps(x[hi & 0xffff], x[(hi >> 16) & 0xffff], x[(hi >> 32) & 0xffff], x[hi >> 48]);
    return _mm256_insertf128_ps(_mm256_castps128_ps256(a), b, 1);
}

__attribute__((target("avx2,fma"))) static void sell_packed(const matrix *m, const float *x, float *y) {
    for (int s = 0; s < m->slices; s++) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;  // two chains
        uint32_t t = m->slice_start[s];
        const uint32_t end = m->slice_start[s + 1];
        for (; t + 2 <= end; t += 2) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(m->slot_value + 8 * t), packed_slot(m->slot_column + 8 * t, x), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(m->slot_value + 8 * t + 8), packed_slot(m->slot_column + 8 * t + 8, x), a1);
        }
        if (t < end) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(m->slot_value + 8 * t), packed_slot(m->slot_column + 8 * t, x), a0);
        sell_store(m, s, _mm256_add_ps(a0, a1), y);
    }
}

// Register-resident x (the runtime's `sell16`): columns in blocks of W = 32 (two zmm registers of x), rows in slices of 16
// (one zmm accumulator, lane = row), four slices at a time sharing the x block. A slot is 16
// (5-bit column offset, value) pairs, lane i a nonzero of row i; vpermt2ps fetches the 16 x
// values from the two registers, no memory gather. Slots per (slice, block) = that block's
// longest row there; shorter rows pad with value 0. With `equal`, the four slices of a group share
// the largest of their counts (a branch-free loop, more padding); W = 64 takes blocks of 64 columns
// (four registers, two permutations and a blend per slot, less padding).
typedef struct {
    int rows, columns, groups, blocks;
    uint8_t *count;   // [group][block][4]
    uint8_t *offset;  // 16 per slot
    float *value;     // 16 per slot
    long slots;
} permuted;

static int W = 32;
static permuted permute_layout(const matrix *m, int equal) {
    permuted p = {m->rows, m->columns, (m->rows + 63) / 64, (m->columns + W - 1) / W};
    p.count = calloc((size_t)p.groups * p.blocks * 4, 1);
    long slots = 0;
    for (int g = 0; g < p.groups; g++)
        for (int b = 0; b < p.blocks; b++)
            for (int q = 0; q < 4; q++) {
                int most = 0;
                for (int i = 0; i < 16; i++) {
                    const int r = 64 * g + 16 * q + i;
                    if (r >= m->rows) break;
                    int n = 0;
                    for (uint32_t k = m->row_start[r]; k < m->row_start[r + 1]; k++) n += m->column[k] / W == b;
                    if (n > most) most = n;
                }
                p.count[((size_t)g * p.blocks + b) * 4 + q] = (uint8_t)most;
                slots += most;
            }
    if (equal) {
        slots = 0;
        for (long gb = 0; gb < (long)p.groups * p.blocks; gb++) {
            int most = 0;
            for (int q = 0; q < 4; q++) if (p.count[gb * 4 + q] > most) most = p.count[gb * 4 + q];
            for (int q = 0; q < 4; q++) p.count[gb * 4 + q] = most;
            slots += 4 * most;
        }
    }
    p.slots = slots;
    p.offset = calloc(16 * slots + 64, 1);
    p.value = calloc(16 * slots + 64, 4);
    long at = 0;
    for (int g = 0; g < p.groups; g++)
        for (int b = 0; b < p.blocks; b++)
            for (int q = 0; q < 4; q++) {
                const int n = p.count[((size_t)g * p.blocks + b) * 4 + q];
                for (int i = 0; i < 16; i++) {
                    const int r = 64 * g + 16 * q + i;
                    if (r >= m->rows) break;
                    int t = 0;
                    for (uint32_t k = m->row_start[r]; k < m->row_start[r + 1]; k++)
                        if (m->column[k] / W == b) {
                            p.offset[16 * (at + t) + i] = m->column[k] % W;
                            p.value[16 * (at + t) + i] = m->value[k];
                            t++;
                        }
                }
                at += n;
            }
    return p;
}

// x[from ..< from + 16] in a register, zeros past the last column.
__attribute__((target("avx512f"))) static inline __m512 perm_x(const permuted *p, const float *x, int from) {
    const int left = p->columns - from;
    return _mm512_maskz_loadu_ps(left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1), x + from);
}

// Group g's four slices of y, never past the last row.
__attribute__((target("avx512f"))) static inline void perm_store(const permuted *p, int g, __m512 a0, __m512 a1, __m512 a2,
                                                                  __m512 a3, float *y) {
    const __m512 acc[4] = {a0, a1, a2, a3};
    for (int q = 0; q < 4; q++) {
        const int r = 64 * g + 16 * q, left = p->rows - r;
        if (left <= 0) break;
        _mm512_mask_storeu_ps(y + r, left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1), acc[q]);
    }
}

// The group and block loops of every permute32 variant: x's 32-column block in two registers,
// SLICE(q, acc) runs slice q's c[q] slots of the block into its accumulator.
#define PERM32_GROUPS(SLICE)                                                                             \
    for (int g = 0; g < p->groups; g++) {                                                                \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                       \
        for (int b = 0; b < p->blocks; b++) {                                                            \
            const __m512 xl = perm_x(p, x, 32 * b), xh = perm_x(p, x, 32 * b + 16);                       \
            const uint8_t *c = p->count + ((size_t)g * p->blocks + b) * 4;                               \
            SLICE(0, a0)                                                                                 \
            SLICE(1, a1)                                                                                 \
            SLICE(2, a2)                                                                                 \
            SLICE(3, a3)                                                                                 \
        }                                                                                                \
        perm_store(p, g, a0, a1, a2, a3, y);                                                             \
    }

#define PERM_SLICE(q, acc)                                                                               \
    for (int t = 0; t < c[q]; t++, v += 16, o += 16) {                                                   \
        const __m512i i = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)o));                      \
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(v), _mm512_permutex2var_ps(xl, i, xh), acc);              \
    }

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void perm_kernel(const permuted *p, const float *x, float *y) {
    const float *v = p->value;
    const uint8_t *o = p->offset;
    PERM32_GROUPS(PERM_SLICE)
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void perm_equal(const permuted *p, const float *x, float *y) {
    const float *v = p->value;
    const uint8_t *o = p->offset;
    for (int g = 0; g < p->groups; g++) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < p->blocks; b++) {
            const __m512 xl = perm_x(p, x, 32 * b), xh = perm_x(p, x, 32 * b + 16);
            const int n = p->count[((size_t)g * p->blocks + b) * 4];
            // slots of slice q at o + 16*(q*n + t)
            for (int t = 0; t < n; t++) {
#define EQ(q, acc) acc = _mm512_fmadd_ps(_mm512_loadu_ps(v + 16 * (q * n + t)), _mm512_permutex2var_ps(xl, _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(o + 16 * (q * n + t)))), xh), acc);
                EQ(0, a0) EQ(1, a1) EQ(2, a2) EQ(3, a3)
            }
            v += 64 * n; o += 64 * n;
        }
        perm_store(p, g, a0, a1, a2, a3, y);
    }
}

// 64-column blocks: x padded to a multiple of 64.
#define PERM64_SLICE(q, acc)                                                                             \
    for (int t = 0; t < c[q]; t++, v += 16, o += 16) {                                                   \
        const __m512i i = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)o));                      \
        const __mmask16 hi = _mm512_test_epi32_mask(i, bit5);                                            \
        const __m512 xs = _mm512_mask_blend_ps(hi, _mm512_permutex2var_ps(x0, i, x1), _mm512_permutex2var_ps(x2, i, x3)); \
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(v), xs, acc);                                              \
    }
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void perm64(const permuted *p, const float *x, float *y) {
    const float *v = p->value;
    const uint8_t *o = p->offset;
    const __m512i bit5 = _mm512_set1_epi32(32);
    for (int g = 0; g < p->groups; g++) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < p->blocks; b++) {
            const float *xb = x + 64 * b;  // x padded
            const __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16), x2 = _mm512_loadu_ps(xb + 32), x3 = _mm512_loadu_ps(xb + 48);
            const uint8_t *c = p->count + ((size_t)g * p->blocks + b) * 4;
            PERM64_SLICE(0, a0)
            PERM64_SLICE(1, a1)
            PERM64_SLICE(2, a2)
            PERM64_SLICE(3, a3)
        }
        perm_store(p, g, a0, a1, a2, a3, y);
    }
}

// permute32 without the widening shuffle: the slot's 5-bit offsets are read as 32-bit lanes straight
// from memory, so each slot costs one permutation and one multiply-add on the vector pipes.
// perm-dword stores each offset in a 32-bit word (64 bytes of offsets per slot). perm-chunk keeps
// them at one byte: slots 4k ..< 4k+4 share a 64-byte chunk, lane i's word holding slot 4k+j's
// offset in byte j, and slot s reads its 16 words from 64 * (s / 4) + s % 4 bytes in: each word's
// low byte is then its own offset (vpermt2ps reads only the low five bits), at the cost of a load
// that crosses a cache line for three slots of four.
typedef struct {
    uint32_t *word;  // perm-dword: 16 per slot
    uint8_t *chunk;  // perm-chunk: 64 bytes per four slots, 64 bytes of slack
} wide_offsets;

static wide_offsets widen_offsets(const permuted *p) {
    wide_offsets w = {malloc((16 * p->slots + 16) * 4), calloc(16 * p->slots + 128, 1)};
    for (long s = 0; s < p->slots; s++)
        for (int i = 0; i < 16; i++) {
            w.word[16 * s + i] = p->offset[16 * s + i];
            w.chunk[64 * (s / 4) + 4 * i + s % 4] = p->offset[16 * s + i];
        }
    return w;
}

#define PERM_DWORD_SLICE(q, acc)                                                                         \
    for (int t = 0; t < c[q]; t++, v += 16, o += 16)                                                     \
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(v), _mm512_permutex2var_ps(xl, _mm512_loadu_si512(o), xh), acc);
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void perm_dword(const permuted *p, const wide_offsets *w,
                                                                             const float *x, float *y) {
    const float *v = p->value;
    const uint32_t *o = w->word;
    PERM32_GROUPS(PERM_DWORD_SLICE)
}

#define PERM_CHUNK_SLICE(q, acc)                                                                         \
    for (int t = 0; t < c[q]; t++, v += 16, s++)                                                          \
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(v),                                                        \
                              _mm512_permutex2var_ps(xl, _mm512_loadu_si512(w->chunk + 64 * (s >> 2) + (s & 3)), xh), acc);
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void perm_chunk(const permuted *p, const wide_offsets *w,
                                                                             const float *x, float *y) {
    const float *v = p->value;
    long s = 0;
    PERM32_GROUPS(PERM_CHUNK_SLICE)
}

// permute32 with the padding left out of memory: a slot stores only its nonzero lanes' values and
// offsets, with a 16-bit mask of which lanes they are, and expand-loads put them back in their
// lanes (zeros elsewhere). Fewer bytes read (at 2% density on fc1's shape, a quarter of the
// padded slots' lanes hold a nonzero), for an expand per slot.
typedef struct {
    uint16_t *mask;  // per slot
    float *value;    // nonzero lanes only
    uint8_t *offset; // nonzero lanes only, 64 bytes of slack
} expanded;

static expanded expand_layout(const permuted *p) {
    expanded e = {malloc((p->slots + 1) * 2), malloc((16 * p->slots + 16) * 4), calloc(16 * p->slots + 64, 1)};
    long at = 0;
    for (long s = 0; s < p->slots; s++) {
        uint16_t m = 0;
        for (int i = 0; i < 16; i++)
            if (p->value[16 * s + i] != 0) {
                m |= (uint16_t)(1u << i);
                e.value[at] = p->value[16 * s + i];
                e.offset[at++] = p->offset[16 * s + i];
            }
        e.mask[s] = m;
    }
    return e;
}

#define PERM_EXPAND_SLICE(q, acc)                                                                        \
    for (int t = 0; t < c[q]; t++, s++) {                                                                \
        const __mmask16 k = e->mask[s];                                                                  \
        __m128i ob = _mm_loadu_si128((const __m128i *)o);                                                \
        __m512 vv = _mm512_loadu_ps(v);                                                                  \
        __asm__("" : "+v"(ob), "+v"(vv)); /* keep the expands in register form */                       \
        const __m512i i = _mm512_cvtepu8_epi32(_mm_maskz_expand_epi8(k, ob));                            \
        acc = _mm512_fmadd_ps(_mm512_maskz_expand_ps(k, vv), _mm512_permutex2var_ps(xl, i, xh), acc);    \
        const int n = __builtin_popcount(k);                                                             \
        v += n, o += n;                                                                                  \
    }
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi2"))) static void perm_expand(const permuted *p, const expanded *e,
                                                                                          const float *x, float *y) {
    const float *v = e->value;
    const uint8_t *o = e->offset;
    long s = 0;
    PERM32_GROUPS(PERM_EXPAND_SLICE)
}

static void csc_scatter(const matrix *m, const float *x, float *y) {
    memset(y, 0, (size_t)m->rows * 4);
    for (int j = 0; j < m->columns; j++)
        for (uint32_t k = m->column_start[j]; k < m->column_start[j + 1]; k++) y[m->row[k]] += m->column_value[k] * x[j];
}

static int by_length_descending(const void *a, const void *b) { return ((const int *)b)[1] - ((const int *)a)[1]; }

static matrix random_matrix(int rows, int columns, double density) {
    matrix m = {rows, columns, 0};
    m.row_start = malloc((rows + 1) * sizeof(uint32_t));
    m.column = malloc((size_t)rows * columns * 2 + 16);
    m.value = malloc((size_t)rows * columns * 4 + 32);
    srand(3);
    for (int r = 0; r < rows; r++) {
        m.row_start[r] = m.nnz;
        for (int c = 0; c < columns; c++)
            if (rand() < density * RAND_MAX) {
                m.column[m.nnz] = (uint16_t)c;
                m.value[m.nnz++] = (float)(rand() % 100) * 0.01f;
            }
    }
    m.row_start[rows] = m.nnz;
    // SELL-8-sigma.
    const sell16sigma s8 = sigma_layout(&m, 8);
    m.slices = s8.slices, m.perm = s8.perm, m.slice_start = s8.slice_start, m.slot_column = s8.slot_column, m.slot_value = s8.slot_value;
    // CSC.
    m.column_start = calloc(columns + 1, sizeof(uint32_t));
    m.row = malloc((size_t)m.nnz * 2 + 2);
    m.column_value = malloc((size_t)m.nnz * 4 + 4);
    for (int k = 0; k < m.nnz; k++) m.column_start[m.column[k] + 1]++;
    for (int c = 0; c < columns; c++) m.column_start[c + 1] += m.column_start[c];
    uint32_t *fill = malloc(columns * sizeof(uint32_t));
    memcpy(fill, m.column_start, columns * sizeof(uint32_t));
    for (int r = 0; r < rows; r++)
        for (uint32_t k = m.row_start[r]; k < m.row_start[r + 1]; k++) {
            const uint32_t p = fill[m.column[k]]++;
            m.row[p] = (uint16_t)r;
            m.column_value[p] = m.value[k];
        }
    free(fill);
    return m;
}

// Sliding windows: a slot's 32 columns of x start at its own column (the smallest next column of
// the slice's 16 rows), so a lane takes its next nonzero whenever it falls in that window instead
// of waiting for the fixed block that holds it (about 28% fewer slots at 1-2% in a simulation); the
// price is loading the window's two registers of x for every slot. Rows in natural order, slices
// of 16, four accumulators per slice taking turns.
typedef struct {
    int rows, slices;
    uint32_t *slice_start;  // in slots
    uint16_t *start;        // window start per slot
    uint8_t *offset;        // 16 per slot
    float *value;           // 16 per slot
    long slots;
} sliding;

static sliding sliding_layout(const matrix *m) {
    sliding p = {m->rows, (m->rows + 15) / 16};
    p.slice_start = calloc(p.slices + 1, 4);
    long cap = (long)m->nnz + 16;
    p.start = malloc(cap * 2);
    p.offset = calloc(16 * cap + 64, 1);
    p.value = calloc(16 * cap + 64, 4);
    long at = 0;
    for (int s = 0; s < p.slices; s++) {
        uint32_t next[16], end[16];
        for (int i = 0; i < 16; i++) {
            const int r = 16 * s + i;
            next[i] = r < m->rows ? m->row_start[r] : 0;
            end[i] = r < m->rows ? m->row_start[r + 1] : 0;
        }
        for (;;) {
            int first = 1 << 30;
            for (int i = 0; i < 16; i++) if (next[i] < end[i] && m->column[next[i]] < first) first = m->column[next[i]];
            if (first == 1 << 30) break;
            p.start[at] = (uint16_t)first;
            for (int i = 0; i < 16; i++)
                if (next[i] < end[i] && m->column[next[i]] < first + 32) {
                    p.offset[16 * at + i] = (uint8_t)(m->column[next[i]] - first);
                    p.value[16 * at + i] = m->value[next[i]];
                    next[i]++;
                }
            at++;
        }
        p.slice_start[s + 1] = (uint32_t)at;
    }
    p.slots = at;
    return p;
}

#define SLIDE_SLOT(acc, t)                                                                              \
    {                                                                                                   \
        const float *w = x + p->start[t];                                                               \
        const __m512i i = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p->offset + 16 * (t)))); \
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(p->value + 16 * (t)),                                     \
                              _mm512_permutex2var_ps(_mm512_loadu_ps(w), i, _mm512_loadu_ps(w + 16)), acc); \
    }

// x padded with 32 zeros past its last column.
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void slide_kernel(const sliding *p, const float *x, float *y) {
    for (int s = 0; s < p->slices; s++) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        uint32_t t = p->slice_start[s];
        const uint32_t end = p->slice_start[s + 1];
        for (; t + 4 <= end; t += 4) {
            SLIDE_SLOT(a0, t) SLIDE_SLOT(a1, t + 1) SLIDE_SLOT(a2, t + 2) SLIDE_SLOT(a3, t + 3)
        }
        for (; t < end; t++) SLIDE_SLOT(a0, t)
        const __m512 sum = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
        const int left = p->rows - 16 * s;
        _mm512_mask_storeu_ps(y + 16 * s, left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1), sum);
    }
}

int main(int argc, char **argv) {
    const double density = argc > 1 ? atof(argv[1]) : 0.05;
    const int rows = argc > 2 ? atoi(argv[2]) : 300, columns = argc > 3 ? atoi(argv[3]) : 784;
    if (rows < 1 || columns < 1 || columns > 65536 || density < 0 || density > 1) {
        fprintf(stderr, "usage: spmv1 [density 0...1] [rows >= 1] [columns 1...65536]\n");
        return 2;
    }
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        printf("needs AVX2 + FMA\n");
        return 1;
    }
    matrix m = random_matrix(rows, columns, density);
    float *x = malloc(columns * 4), *y = malloc(rows * 4), *reference = malloc(rows * 4);
    for (int c = 0; c < columns; c++) x[c] = (float)(rand() % 100) * 0.01f;
    // CXSparse's compressed columns, in double.
    int *ap = malloc((columns + 1) * sizeof(int)), *ai = malloc((m.nnz + 1) * sizeof(int));
    double *ax = malloc((m.nnz + 1) * 8), *xd = malloc(columns * 8), *yd = malloc(rows * 8);
    for (int c = 0; c <= columns; c++) ap[c] = (int)m.column_start[c];
    for (int k = 0; k < m.nnz; k++) ai[k] = m.row[k], ax[k] = m.column_value[k];
    struct cs_di_sparse a = {m.nnz, rows, columns, ap, ai, ax, -1};

    const int wide = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"),
              vbmi2 = wide && __builtin_cpu_supports("avx512vbmi2");
    permuted p32 = permute_layout(&m, 0), pequal = permute_layout(&m, 1);
    W = 64;
    permuted p64 = permute_layout(&m, 0);
    W = 32;
    float *xpad = calloc(columns + 64, 4);
    memcpy(xpad, x, columns * 4);
    sell16sigma q16 = sigma_layout(&m, 16);
    sliding slide = sliding_layout(&m);
    const wide_offsets w32 = widen_offsets(&p32);
    const expanded e32 = expand_layout(&p32);
    enum { kernels = 14 };
    const char *names[kernels] = {"csr-rows", "sell-lanes", "sell-packed", "sell-gather", "csc-scatter",
                                  "permute32", "perm-equal", "perm64", "sell16-gather", "slide32", "perm-dword", "perm-chunk", "perm-expand",
                                  "cxsparse"};
    double best[kernels];
    const int reps = 200000 / (m.nnz / 64 + 1) + 10;
    printf("%d x %d, density %.3f: %d nonzeros, SELL-8-sigma pads to %u; best of 15 runs of %d calls\n", rows, columns,
           density, m.nnz, 8 * m.slice_start[m.slices], reps);
    printf("permute32 runs %ld slots of 16 lanes, perm-equal %ld, perm64 %ld, slide32 %ld\n", p32.slots, pequal.slots, p64.slots,
           slide.slots);
    for (int v = 0; v < kernels; v++) {
        best[v] = 1e9;
        if ((v >= 5 && v <= 12 && !wide) || (v == 12 && !vbmi2)) continue;  // AVX-512 only
        for (int run = 0; run < 15; run++) {
            const double t0 = now();
            for (int i = 0; i < reps; i++) {
                switch (v) {
                case 0: csr_rows(&m, x, y); break;
                case 1: sell_lanes(&m, x, y); break;
                case 2: sell_packed(&m, x, y); break;
                case 3: sell_gather(&m, x, y); break;
                case 4: csc_scatter(&m, x, y); break;
                case 5: perm_kernel(&p32, x, y); break;
                case 6: perm_equal(&pequal, x, y); break;
                case 7: perm64(&p64, xpad, y); break;
                case 8: sell16_gather(&q16, rows, x, y); break;
                case 9: slide_kernel(&slide, xpad, y); break;
                case 10: perm_dword(&p32, &w32, x, y); break;
                case 11: perm_chunk(&p32, &w32, x, y); break;
                case 12: perm_expand(&p32, &e32, x, y); break;
                default:
                    for (int c = 0; c < columns; c++) xd[c] = x[c];
                    memset(yd, 0, rows * 8);
                    cs_di_gaxpy(&a, xd, yd);
                    for (int r = 0; r < rows; r++) y[r] = (float)yd[r];
                }
                __asm__ volatile("" ::"r"(y) : "memory");
            }
            const double t = (now() - t0) / reps;
            if (t < best[v]) best[v] = t;
        }
        if (v == 0) memcpy(reference, y, rows * 4);
        double error = 0;
        for (int r = 0; r < rows; r++) {
            const double e = y[r] > reference[r] ? y[r] - reference[r] : reference[r] - y[r];
            if (e > error) error = e;
        }
        if (error > 1e-3 * (1 + density * columns)) {
            printf("%s differs from csr-rows by %g\n", names[v], error);
            return 1;
        }
    }
    for (int v = 0; v < kernels; v++)
        printf("  %-12s %9.3f us  %5.2f nonzeros/ns  cxsparse / this %5.2fx\n", names[v], best[v] * 1e6,
               m.nnz / (best[v] * 1e9), best[kernels - 1] / best[v]);
    return 0;
}
