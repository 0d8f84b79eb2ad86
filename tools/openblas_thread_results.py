#!/usr/bin/env python3
"""Whether Debian's OpenBLAS gives bit-identical sgemm results on 1 and 2 threads.

Relief's training shapes (LeNet-300-100 at batch 64, forward and both backward products) through the
system libopenblas.so.0 (the library Relief links), with the core it picks here. Relief keeps OpenBLAS
on one thread (DenseBLAS.pinSingleThread) because the answer is no: a thread count changed mid-run
changes the last bits, so a training run would not be reproducible.

Usage: python3 tools/openblas_thread_results.py   (prints one line per shape; exit 0)
"""
import ctypes
import numpy as np

lib = ctypes.CDLL("libopenblas.so.0")
lib.openblas_get_corename.restype = ctypes.c_char_p
F = ctypes.POINTER(ctypes.c_float)


def sgemm(a, b, ta, tb, threads):
    lib.openblas_set_num_threads(threads)
    m, k = (a.shape[1], a.shape[0]) if ta else a.shape
    n = b.shape[0] if tb else b.shape[1]
    c = np.zeros((m, n), np.float32)
    lib.cblas_sgemm(101, 112 if ta else 111, 112 if tb else 111, m, n, k, ctypes.c_float(1), a.ctypes.data_as(F), a.shape[1],
                    b.ctypes.data_as(F), b.shape[1], ctypes.c_float(0), c.ctypes.data_as(F), n)
    return c


print(f"OpenBLAS core: {lib.openblas_get_corename().decode()}")
rng = np.random.default_rng(0)
for m, k, n, ta, tb in [(64, 784, 300, False, True), (300, 64, 784, True, False), (64, 300, 784, False, False),
                        (64, 300, 100, False, True), (100, 64, 300, True, False), (64, 100, 10, False, True)]:
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    one, two = sgemm(a, b, ta, tb, 1), sgemm(a, b, ta, tb, 2)
    verdict = "identical" if np.array_equal(one, two) else f"differ (largest difference {np.abs(one - two).max():.3g})"
    print(f"{m}x{k} · {k}x{n} (transposed A {ta}, B {tb}): 1 vs 2 threads {verdict}")
