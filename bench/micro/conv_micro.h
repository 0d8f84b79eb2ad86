// What the convolution micro-benchmarks share (shifted_conv.c, aligned_taps.c): a monotonic clock in
// seconds, zeroed cache-line-aligned float buffers, the shapes and the density argument.
#ifndef RELIEF_CONV_MICRO_H
#define RELIEF_CONV_MICRO_H
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

// ResNet-20's three stages: input channels (as many filters) and the square map's side.
static const int resnet_stages[3][2] = {{16, 32}, {32, 16}, {64, 8}};

// The density argument (default 10%), or -1 after saying so where the CPU lacks AVX-512 (include
// relief_simd.h and stdio.h first).
static double micro_density(int argc, char **argv) {
    if (!relief_simd_avx512()) {
        printf("needs AVX-512\n");
        return -1;
    }
    return argc > 1 ? atof(argv[1]) : 0.1;
}
#endif
