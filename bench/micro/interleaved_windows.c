// The batch-interleaved direct convolution (relief_conv_interleaved, the runtime's own code) on a
// VGG-style layer, timed in one run with its input laid out as the runtime lays it out and with
// every input channel aliased onto 32, 16 or 1 planes (the same loads, multiply-adds and
// write-back, but windows that stay in L1). The ratio shows how much of the layer's time is spent
// waiting on where its input windows live rather than in the multiply-add loop. On an AVX-512 CPU
// each line is timed for both variants: AVX2 tiles of 8 entries and 512-bit tiles of 16
// (relief_conv_interleaved_avx512, chunks of 16 entries as the runtime gives it).
//   cc -O2 -ISources/CReliefSIMD/include bench/micro/interleaved_windows.c -o /tmp/iw && /tmp/iw
//   /tmp/iw C O H B density    (default: 256 256 8 64 0.05, VGG-11's conv4 at batch 64)
#include "../../Sources/CReliefSIMD/relief_simd.c"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Seconds for the best of 7 runs of the layer: 3x3 kernel, padding 1, channel blocks of 32, every
// filter per chunk with the weights block by block (as DirectSparseConvolution); channel c reads
// plane c, or c mod alias when alias > 0.
static double layer(int C, int O, int H, int B, double density, int alias, int wide, long *nonzeros) {
    const int bp = 32, wp = H + 2, groups = (B + 7) / 8, gp = wp * wp, pixels = H * H, entries = groups * pixels;
    const int64_t channel_stride = (int64_t)gp * 8, total = (int64_t)groups * C * gp * 8;  // [group][channel] as the runtime
    float *src = aligned_alloc(64, ((size_t)total + 64) * 4);
    for (int64_t i = 0; i < total + 64; i++) src[i] = (float)(i % 13) * 0.1f;
    const int blocks = (C + bp - 1) / bp;
    int32_t *off = malloc((size_t)O * C * 9 * 4);
    float *val = malloc((size_t)O * C * 9 * 4);
    uint32_t *start = malloc(((size_t)O * blocks + 1) * 4);
    int64_t n = 0;
    srand(7);
    for (int j = 0; j < blocks; j++)
        for (int o = 0; o < O; o++) {
            start[j * O + o] = (uint32_t)n;
            for (int c = j * bp; c < C && c < j * bp + bp; c++)
                for (int t = 0; t < 9; t++)
                    if (rand() < density * RAND_MAX) {
                        off[n] = (int32_t)((alias ? c % alias : c) * channel_stride + ((t / 3) * wp + t % 3) * 8);
                        val[n] = 0.01f * (float)(rand() % 100);
                        n++;
                    }
        }
    start[O * blocks] = (uint32_t)n;
    *nonzeros = n;
    float *acc = aligned_alloc(64, (size_t)O * 128 * 4 + 4096), *y = malloc((size_t)O * B * pixels * 4);
    const int per = blocks > 1 ? (wide ? 16 : 8) : 64, chunks = (entries + per - 1) / per;
    double best = 1e9;
    for (int rep = 0; rep < 7; rep++) {
        double t = now();
        for (int c = 0; c < chunks; c++) {
            const int e0 = c * per, e1 = e0 + per < entries ? e0 + per : entries;
            (wide ? relief_conv_interleaved_avx512 : relief_conv_interleaved)(start, blocks, O, off, val, src, 0, e0, e1, pixels, H, wp, 1, 1, (int64_t)C * gp, acc, y, 0, (int64_t)B * pixels, B, 1, 0, 0);
        }
        t = now() - t;
        if (t < best) best = t;
    }
    double check = 0;
    for (int64_t i = 0; i < (int64_t)O * B * pixels; i++) check += y[i];
    if (check == 12345.678) printf(" ");  // keeps the writes observable
    free(src); free(off); free(val); free(start); free(acc); free(y);
    return best;
}

int main(int argc, char **argv) {
    const int C = argc > 1 ? atoi(argv[1]) : 256, O = argc > 2 ? atoi(argv[2]) : 256, H = argc > 3 ? atoi(argv[3]) : 8,
              B = argc > 4 ? atoi(argv[4]) : 64;
    const double density = argc > 5 ? atof(argv[5]) : 0.05;
    if (!relief_simd_avx2_fma()) { printf("needs AVX2 + FMA\n"); return 1; }
    const int groups = (B + 7) / 8;
    printf("%d -> %d channels, %dx%d, batch %d, density %.3f\n", C, O, H, H, B, density);
    const int aliases[] = {0, 32, 16, 1};
    const int widths = relief_simd_avx512() ? 2 : 1;
    for (int i = 0; i < 4; i++) {
        for (int wide = 0; wide < widths; wide++) {
            long nonzeros;
            const double t = layer(C, O, H, B, density, aliases[i], wide, &nonzeros);
            const double flops = 2.0 * nonzeros * groups * H * H * 8;
            const char *isa = wide ? "AVX-512" : "AVX2   ";
            if (aliases[i]) printf("  %s channels on %3d plane(s): %8.3f ms  %5.1f GFLOP/s\n", isa, aliases[i], t * 1e3, flops / t * 1e-9);
            else printf("  %s as laid out:              %8.3f ms  %5.1f GFLOP/s\n", isa, t * 1e3, flops / t * 1e-9);
        }
    }
    return 0;
}
