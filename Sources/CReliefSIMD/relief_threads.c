// Thread names for the worker pool: pthread_setname_np is a GNU extension that Swift's Glibc
// module does not import.
#define _GNU_SOURCE
#include <pthread.h>
#include "relief_simd.h"

void relief_set_thread_name(const char *name) { pthread_setname_np(pthread_self(), name); }

int relief_thread_name(char *out, size_t size) { return pthread_getname_np(pthread_self(), out, size); }
