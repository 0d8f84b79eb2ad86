// What the convolution micro-benchmarks share (shifted_conv.c, aligned_taps.c): a monotonic clock in
// seconds and zeroed, cache-line-aligned float buffers.
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
#endif
