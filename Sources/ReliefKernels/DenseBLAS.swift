import CBLAS

/// Dense float32 products on OpenBLAS, with the thread count set explicitly.
public enum DenseBLAS {
    /// Sets OpenBLAS's thread count; its own default can be very slow for small products.
    public static func setThreadCount(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// `c = a · b` for row-major `a` (m x k) and `b` (k x n); `c` is m x n.
    public static func multiply(m: Int, n: Int, k: Int, a: [Float], b: [Float], c: inout [Float]) {
        precondition(a.count == m * k && b.count == k * n && c.count == m * n, "matrix sizes do not match \(m)x\(k) · \(k)x\(n)")
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
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
