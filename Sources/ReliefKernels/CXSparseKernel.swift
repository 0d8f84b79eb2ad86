import CCXSparse
import ReliefFormat

/// The CXSparse backend: W as compressed columns in double precision (SuiteSparse 5.12's CXSparse
/// has no single precision), multiplied with `cs_di_gaxpy` one column of X at a time. Each call
/// converts its inputs to double and the results back; that cost is part of the measured time.
/// Single-threaded: CXSparse has no parallel product.
public final class CXSparseKernel: WeightKernel, @unchecked Sendable {
    public let name = "cxsparse"
    public let rows: Int
    public let columns: Int
    public let storedWeights: Int
    let columnPointers: UnsafeMutablePointer<Int32>
    let rowIndices: UnsafeMutablePointer<Int32>
    let values: UnsafeMutablePointer<Double>

    public init(_ m: CSRMatrix) {
        precondition(m.nnz < Int(Int32.max) && m.rows < Int(Int32.max) && m.columns < Int(Int32.max), "matrix too large for CXSparse's int indices")
        rows = m.rows
        columns = m.columns
        storedWeights = m.nnz
        columnPointers = .allocate(capacity: m.columns + 1)
        columnPointers.initialize(repeating: 0, count: m.columns + 1)
        rowIndices = .allocate(capacity: max(m.nnz, 1))
        values = .allocate(capacity: max(m.nnz, 1))
        for c in m.columnIndices { columnPointers[Int(c) + 1] += 1 }
        for j in 0..<m.columns { columnPointers[j + 1] += columnPointers[j] }
        var next = (0..<m.columns).map { Int(columnPointers[$0]) }
        for r in 0..<m.rows {
            for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                let c = Int(m.columnIndices[k])
                rowIndices[next[c]] = Int32(r)
                values[next[c]] = Double(m.values[k])
                next[c] += 1
            }
        }
    }

    deinit {
        columnPointers.deallocate()
        rowIndices.deallocate()
        values.deallocate()
    }

    public var residentBytes: Int { 8 * storedWeights + 4 * storedWeights + 4 * (columns + 1) }
    public func scratchBytes(n: Int) -> Int { 8 * (rows + columns) }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        let xd = scratch!.bindMemory(to: Double.self, capacity: rows + columns)
        let yd = xd + columns
        var a = cs_di(nzmax: Int32(max(storedWeights, 1)), m: Int32(rows), n: Int32(columns),
                      p: columnPointers, i: rowIndices, x: values, nz: -1)
        for j in 0..<n {
            for k in 0..<columns { xd[k] = Double(x[k * n + j]) }
            for r in 0..<rows { yd[r] = Double(bias?[r] ?? 0) }
            // gaxpy fails only for a NULL or non-compressed matrix, which this type never builds.
            let ok = cs_di_gaxpy(&a, xd, yd)
            precondition(ok == 1, "cs_di_gaxpy rejected a well-formed matrix")
            for r in 0..<rows { y[r * n + j] = Float(yd[r]) }
        }
    }
}
