import CCHOLMOD
import Foundation
import ReliefFormat
import ReliefKernels

/// The CHOLMOD backend: `cholmod_sdmult` on Wᵀ held as compressed columns (W's own CSR arrays) in
/// double precision, all columns of X in one call. Inputs and outputs are converted to and from
/// double on every call (counted in its time). CHOLMOD's workspace object is not thread-safe, so
/// calls are serialised with a lock. GPL-2.0+ (CHOLMOD's MatrixOps module): this target is optional.
public final class CHOLMODKernel: WeightKernel, @unchecked Sendable {
    /// The kernel-table entry; add it to `KernelTable.builtIn` in tools that link this module.
    public static let entry = KernelEntry(name: "cholmod", summary: "CHOLMOD cholmod_sdmult, in double precision", automatic: false) {
        CHOLMODKernel($0)
    }

    public let name = "cholmod"
    public let rows: Int
    public let columns: Int
    public let storedWeights: Int
    private var common = cholmod_common()
    private var matrix: UnsafeMutablePointer<cholmod_sparse>?
    private let lock = NSLock()

    public init(_ m: CSRMatrix) {
        rows = m.rows
        columns = m.columns
        storedWeights = m.nnz
        cholmod_start(&common)
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

    public var residentBytes: Int { 12 * storedWeights + 4 * (rows + 1) }
    public func scratchBytes(n: Int) -> Int { 8 * (rows + columns) * n }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        guard rows > 0, n > 0 else { return }
        guard columns > 0 else {
            for r in 0..<rows { (y + r * n).update(repeating: bias?[r] ?? 0, count: n) }
            return
        }
        // Dense operands over the caller's scratch (column-major: column j is one example).
        let xv = scratch!.bindMemory(to: Double.self, capacity: (rows + columns) * n)
        let yv = xv + columns * n
        for k in 0..<columns { for j in 0..<n { xv[j * columns + k] = Double(x[k * n + j]) } }
        for r in 0..<rows { for j in 0..<n { yv[j * rows + r] = Double(bias?[r] ?? 0) } }
        var xd = cholmod_dense(nrow: columns, ncol: n, nzmax: columns * n, d: columns, x: xv, z: nil, xtype: CHOLMOD_REAL, dtype: CHOLMOD_DOUBLE)
        var yd = cholmod_dense(nrow: rows, ncol: n, nzmax: rows * n, d: rows, x: yv, z: nil, xtype: CHOLMOD_REAL, dtype: CHOLMOD_DOUBLE)
        var alpha: (Double, Double) = (1, 0)
        var beta: (Double, Double) = (1, 0)
        lock.lock()
        let ok = withUnsafeMutablePointer(to: &alpha) { ap in
            withUnsafeMutablePointer(to: &beta) { bp in
                cholmod_sdmult(matrix, 1, UnsafeMutableRawPointer(ap).assumingMemoryBound(to: Double.self),
                               UnsafeMutableRawPointer(bp).assumingMemoryBound(to: Double.self), &xd, &yd, &common)
            }
        }
        let status = common.status
        lock.unlock()
        precondition(ok == 1 && status == CHOLMOD_OK, "cholmod_sdmult failed: status \(status)")
        for r in 0..<rows { for j in 0..<n { y[r * n + j] = Float(yv[j * rows + r]) } }
    }
}
