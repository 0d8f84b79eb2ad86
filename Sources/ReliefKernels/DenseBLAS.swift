import CBLAS

/// Dense float32 products on OpenBLAS, always single-threaded: Relief's own workers split the
/// products (`parallelGemm`, `DenseKernel`).
///
/// Why one thread, always: OpenBLAS's own threads busy-wait between calls and fight Relief's on a
/// 2-core machine, and its results depend on its thread count (a 64x784 · 784x300 product differs
/// in the last bits between 1 and 2 threads: `tools/openblas_thread_results.py`), so a count
/// changed by another caller mid-run made training irreproducible.
public enum DenseBLAS {
    private static let pinned: Void = openblas_set_num_threads(1)

    /// Pins OpenBLAS to one thread, once per process; every product here calls it first.
    @inline(__always)
    public static func pinSingleThread() { Self.pinned }

    /// OpenBLAS's current thread count (1 once any product here has run).
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// `c = a · b` for row-major `a` (m x k) and `b` (k x n); `c` is m x n.
    public static func multiply(m: Int, n: Int, k: Int, a: [Float], b: [Float], c: inout [Float]) {
        precondition(a.count == m * k && b.count == k * n && c.count == m * n, "matrix sizes do not match \(m)x\(k) · \(k)x\(n)")
        pinSingleThread()
        guard m > 0, n > 0 else { return }
        guard k > 0 else {
            for i in c.indices { c[i] = 0 }
            return
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
    }
}

extension DenseBLAS {
    /// `C = alpha · op(A) · op(B) + beta · C`, all row-major, on raw pointers: the general form the
    /// training engine needs (transposes, accumulation, sub-matrices via leading dimensions).
    @inline(__always)
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        pinSingleThread()
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
