import CBLAS
import ReliefFormat

/// The dense baseline: every weight stored, products by OpenBLAS (sgemv for one column, sgemm
/// otherwise), rows split over threads with single-threaded OpenBLAS on each part.
public final class DenseKernel: WeightKernel, @unchecked Sendable {
    public let name = "dense"
    public let rows: Int
    public let columns: Int
    let weights: UnsafeMutablePointer<Float>
    let partitions: RowPartitions

    public init(_ m: CSRMatrix) {
        // OpenBLAS runs one thread per call; parallelism comes from splitting rows.
        DenseBLAS.pinSingleThread()
        rows = m.rows
        columns = m.columns
        weights = .allocate(capacity: max(m.rows * m.columns, 1))
        weights.initialize(repeating: 0, count: max(m.rows * m.columns, 1))
        for r in 0..<m.rows {
            for k in m.rowPointers[r]..<m.rowPointers[r + 1] { weights[r * m.columns + Int(m.columnIndices[k])] = m.values[k] }
        }
        let width = m.columns
        partitions = RowPartitions(rows: m.rows) { $0 * (width + 1) }
    }

    deinit { weights.deallocate() }

    public var storedWeights: Int { rows * columns }
    public var residentBytes: Int { 4 * rows * columns }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        Parallel.run(partitions.ranges(threads: threads, work: rows * columns * n)) { range in
            let m = range.count, out = y + range.lowerBound * n
            if let bias {
                for r in 0..<m { (out + r * n).update(repeating: bias[range.lowerBound + r], count: n) }
            }
            guard self.columns > 0 else {
                if bias == nil { out.update(repeating: 0, count: m * n) }
                return
            }
            let a = self.weights + range.lowerBound * self.columns
            let beta: Float = bias == nil ? 0 : 1
            if n == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(self.columns), 1, a, Int32(self.columns), x, 1, beta, out, 1)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(self.columns),
                            1, a, Int32(self.columns), x, Int32(n), beta, out, Int32(n))
            }
        }
    }
}
