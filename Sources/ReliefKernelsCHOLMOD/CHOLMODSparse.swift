import CCHOLMOD
import ReliefFormat

/// A weight matrix held by CHOLMOD and multiplied with `cholmod_sdmult` (GPL-2.0+ MatrixOps module).
///
/// The CSR matrix W is handed to CHOLMOD as the compressed columns of Wᵀ and multiplied with
/// transpose = 1, so each output is a gather written once. CHOLMOD 3.0 computes in double precision.
public final class CHOLMODSparse: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    private var common = cholmod_common()
    private var matrix: UnsafeMutablePointer<cholmod_sparse>?

    public init(_ m: CSRMatrix) {
        rows = m.rows
        columns = m.columns
        cholmod_start(&common)
        // Wᵀ is columns x rows with rows+1 column pointers: exactly W's CSR arrays.
        matrix = cholmod_allocate_sparse(m.columns, m.rows, max(m.nnz, 1), 1, 1, 0, CHOLMOD_REAL, &common)
        precondition(matrix != nil && common.status == CHOLMOD_OK, "cholmod_allocate_sparse failed: status \(common.status)")
        let a = matrix!.pointee
        let p = a.p.assumingMemoryBound(to: Int32.self)
        let i = a.i.assumingMemoryBound(to: Int32.self)
        let x = a.x.assumingMemoryBound(to: Double.self)
        for r in 0...m.rows { p[r] = Int32(m.rowPointers[r]) }
        for k in 0..<m.nnz {
            i[k] = m.columnIndices[k]
            x[k] = Double(m.values[k])
        }
    }

    deinit {
        cholmod_free_sparse(&matrix, &common)
        cholmod_finish(&common)
    }

    /// `Y = W · X` for a batch stored column-major: `x` holds `batch` input columns of `columns` values.
    public func multiply(_ x: [Float], batch: Int) -> [Float] {
        precondition(x.count == columns * batch, "input has \(x.count) values, expected \(columns) x \(batch)")
        let xd = cholmod_allocate_dense(columns, batch, columns, CHOLMOD_REAL, &common)!
        let yd = cholmod_allocate_dense(rows, batch, rows, CHOLMOD_REAL, &common)!
        defer {
            var a: UnsafeMutablePointer<cholmod_dense>? = xd
            var b: UnsafeMutablePointer<cholmod_dense>? = yd
            cholmod_free_dense(&a, &common)
            cholmod_free_dense(&b, &common)
        }
        let xv = xd.pointee.x.assumingMemoryBound(to: Double.self)
        for k in 0..<x.count { xv[k] = Double(x[k]) }
        var alpha: (Double, Double) = (1, 0)
        var beta: (Double, Double) = (0, 0)
        let ok = withUnsafeMutablePointer(to: &alpha) { ap in
            withUnsafeMutablePointer(to: &beta) { bp in
                cholmod_sdmult(matrix, 1, UnsafeMutableRawPointer(ap).assumingMemoryBound(to: Double.self),
                               UnsafeMutableRawPointer(bp).assumingMemoryBound(to: Double.self), xd, yd, &common)
            }
        }
        precondition(ok == 1 && common.status == CHOLMOD_OK, "cholmod_sdmult failed: status \(common.status)")
        let yv = yd.pointee.x.assumingMemoryBound(to: Double.self)
        return (0..<rows * batch).map { Float(yv[$0]) }
    }
}
