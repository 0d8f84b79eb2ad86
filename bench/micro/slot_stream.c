// What bounds the batch-1 `sell16` slot loop on this CPU: the work of a slot or the bytes it
// reads? Each variant streams S slots (16 values and 16 byte offsets each, 80 bytes) with four
// accumulators, as `relief_sell16_gemv_avx512` does inside one block, and prints cycles per slot
// (the clock is measured first by a chain of dependent adds). Run it with a stream that fits in
// L1 (S = 200: 16 KB) and one that does not (S = 1088: 85 KB, about the size of fc1's slots at 2%):
//   full       offsets widened (vpmovzxbd), vpermt2ps, multiply-add: the runtime's slot
//   no-widen   offsets already 32-bit in memory (64 bytes of offsets per slot)
//   no-perm    the widened offsets multiplied in place of x (no permutation)
//   values     the values alone, multiply-added into eight accumulators (the stream's floor)
//   cc -O2 bench/micro/slot_stream.c -o /tmp/slots && /tmp/slots 200 && /tmp/slots 1088
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Cycles per second from 10 dependent one-cycle adds per iteration.
static double clock_rate(void) {
    const long n = 100000000;
    long x = 0;
    const double t0 = now();
    for (long i = 0; i < n; i++)
        __asm__ volatile("add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n"
                         "add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0\n add $1, %0"
                         : "+r"(x));
    return 10.0 * n / (now() - t0);
}

#define FULL(a, j) a = _mm512_fmadd_ps(_mm512_load_ps(v + 16 * (j)), _mm512_permutex2var_ps(xl, _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(o + 16 * (j)))), xh), a);
#define NO_WIDEN(a, j) a = _mm512_fmadd_ps(_mm512_load_ps(v + 16 * (j)), _mm512_permutex2var_ps(xl, _mm512_load_si512(w + 16 * (j)), xh), a);
#define NO_PERM(a, j) a = _mm512_fmadd_ps(_mm512_load_ps(v + 16 * (j)), _mm512_castsi512_ps(_mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(o + 16 * (j))))), a);
#define VALUES(a, j) a = _mm512_fmadd_ps(_mm512_load_ps(v + 16 * (j)), xl, a);

// Four slots per step into a0...a3 (values: eight slots into a0...a7, so no chain of
// multiply-adds limits it).
#define RUN(label, STEP, PER)                                                                                          \
    {                                                                                                                  \
        double best = 1e9;                                                                                             \
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;                \
        for (int r = 0; r < 7; r++) {                                                                                  \
            const double t0 = now();                                                                                   \
            for (long k = 0; k < reps; k++) {                                                                          \
                const float *v = value;                                                                                \
                const uint8_t *o = offset;                                                                             \
                const uint32_t *w = word;                                                                              \
                for (long s = 0; s < slots; s += PER, v += 16 * PER, o += 16 * PER, w += 16 * PER) { STEP }           \
                __asm__ volatile("" ::"v"(a0), "v"(a1), "v"(a2), "v"(a3), "v"(a4), "v"(a5), "v"(a6), "v"(a7));       \
            }                                                                                                          \
            const double t = now() - t0;                                                                               \
            if (t < best) best = t;                                                                                    \
        }                                                                                                              \
        printf("  %-9s %5.2f cycles per slot\n", label, best * hz / ((double)reps * slots));                          \
    }

__attribute__((target("avx512f,avx512bw,avx512vl"))) static void run(long slots, double hz) {
    float *value = aligned_alloc(64, 64 * slots + 512);
    uint8_t *offset = aligned_alloc(64, 16 * slots + 128);
    uint32_t *word = aligned_alloc(64, 64 * slots + 512);
    srand(5);
    for (long i = 0; i < 16 * slots + 128; i++) {
        value[i] = (float)(rand() % 100) * 0.01f;
        offset[i] = (uint8_t)(rand() % 32);
        word[i] = offset[i];
    }
    const __m512 xl = _mm512_set1_ps(1.0f), xh = _mm512_set1_ps(0.5f);
    const long reps = 60000000 / slots;
    printf("%ld slots (%ld KB of values and offsets), %.2f GHz\n", slots, 80 * slots / 1024, hz * 1e-9);
    RUN("full", FULL(a0, 0) FULL(a1, 1) FULL(a2, 2) FULL(a3, 3), 4)
    RUN("no-widen", NO_WIDEN(a0, 0) NO_WIDEN(a1, 1) NO_WIDEN(a2, 2) NO_WIDEN(a3, 3), 4)
    RUN("no-perm", NO_PERM(a0, 0) NO_PERM(a1, 1) NO_PERM(a2, 2) NO_PERM(a3, 3), 4)
    RUN("values", VALUES(a0, 0) VALUES(a1, 1) VALUES(a2, 2) VALUES(a3, 3) VALUES(a4, 4) VALUES(a5, 5) VALUES(a6, 6) VALUES(a7, 7), 8)
    free(value), free(offset), free(word);
}

int main(int argc, char **argv) {
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw")) {
        printf("needs AVX-512\n");
        return 1;
    }
    const long slots = argc > 1 ? atol(argv[1]) : 200;
    if (slots < 8 || slots % 8) {
        printf("slots: a multiple of 8, at least 8\n");
        return 1;
    }
    run(slots, clock_rate());
    return 0;
}
