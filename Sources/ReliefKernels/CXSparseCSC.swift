import CCXSparse
import ReliefFormat

/// A weight matrix held by CXSparse (double precision, compressed columns), multiplied with `cs_di_gaxpy`.
///
/// SuiteSparse 5.12's CXSparse computes in double only, so the float32 weights are converted once
/// here and every input vector is converted on each call; benchmarks count that cost.
public final class CXSparseCSC: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    private var columnPointers: [Int32]
    private var rowIndices: [Int32]
    private var values: [Double]

    /// Converts a CSR matrix (rows are output neurons) to compressed columns.
    public init(_ m: CSRMatrix) {
        rows = m.rows
        columns = m.columns
        var counts = [Int32](repeating: 0, count: m.columns + 1)
        for c in m.columnIndices { counts[Int(c) + 1] += 1 }
        for j in 0..<m.columns { counts[j + 1] += counts[j] }
        columnPointers = counts
        var next = counts
        rowIndices = [Int32](repeating: 0, count: m.nnz)
        values = [Double](repeating: 0, count: m.nnz)
        for r in 0..<m.rows {
            for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                let c = Int(m.columnIndices[k])
                let slot = Int(next[c])
                rowIndices[slot] = Int32(r)
                values[slot] = Double(m.values[k])
                next[c] += 1
            }
        }
    }

    /// Bytes this matrix holds resident (values in double, 32-bit indices).
    public var residentBytes: Int { 8 * values.count + 4 * (rowIndices.count + columnPointers.count) }

    /// `y = W · x` for one input vector.
    public func multiply(_ x: [Float]) -> [Float] {
        precondition(x.count == columns, "input has \(x.count) elements, the matrix \(columns) columns")
        let xd = x.map(Double.init)
        var yd = [Double](repeating: 0, count: rows)
        let status = columnPointers.withUnsafeMutableBufferPointer { p in
            rowIndices.withUnsafeMutableBufferPointer { i in
                values.withUnsafeMutableBufferPointer { v in
                    var a = cs_di(nzmax: Int32(max(v.count, 1)), m: Int32(rows), n: Int32(columns),
                                  p: p.baseAddress, i: i.baseAddress, x: v.baseAddress, nz: -1)
                    return cs_di_gaxpy(&a, xd, &yd)
                }
            }
        }
        // gaxpy fails only for a NULL or non-compressed matrix, which this type never builds.
        precondition(status == 1, "cs_di_gaxpy rejected a well-formed matrix")
        return yd.map(Float.init)
    }
}
