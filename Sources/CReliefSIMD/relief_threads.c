// Thread names for the worker pool, and malloc_trim for the report's memory figure: GNU
// extensions that Swift's Glibc module does not import.
#define _GNU_SOURCE
#include <pthread.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "relief_simd.h"

void relief_trim_heap(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

void relief_set_thread_name(const char *name) { pthread_setname_np(pthread_self(), name); }

int relief_thread_name(char *out, size_t size) { return pthread_getname_np(pthread_self(), out, size); }
