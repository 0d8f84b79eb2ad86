import CReliefSIMD
import ReliefFormat

/// The batch-1 kernel for very sparse rows: SELL-8-σ (sliced ELLPACK with rows sorted by length).
///
/// Rows are sorted by nonzero count, longest first, and taken 8 at a time, one SIMD lane per row;
/// slot t of a slice holds the t-th nonzero of each of its 8 rows, so a slice is as long as its
/// longest row and, rows of a slice being of about the same length, hardly any lane is padding.
/// x's values are fetched lane by lane (a gather). Unlike `sell8`, whose slots hold only nonzeros of
/// one 8-column block (one register load and a permutation instead of the gather), the padding does
/// not grow as rows thin out: on a random 300 x 784 matrix (LeNet-300-100's fc1) at 5%, 2% and 1%
/// density `sell8` runs 3.5, 5.1 and 6.2 lanes per nonzero, this layout 1.02-1.03
/// (`bench/micro/spmv_batch1.c` times this layout's loop). Every row is written once, empty ones
/// included (their bias).
///
/// For `n` > 1 it runs column by column (the automatic choice tries it up to
/// `KernelTable.sellsigma.automaticColumns`). Column indices are 16-bit up to 65,536 columns (a
/// slot's eight come in two 64-bit loads) and 32-bit beyond. Where the CPU lacks AVX2 + FMA the same
/// slots run through a portable Swift loop.
public final class SellSigmaKernel: WeightKernel, @unchecked Sendable {
    public let name = "sellsigma"
    public let rows: Int
    public let columns: Int
    public let storedWeights: Int
    /// Slots, padding included (each holds 8 values).
    public let slots: Int
    /// Only the portable Swift loop, even where AVX2 is available (tests check both paths).
    public let portable: Bool
    let slices: Int
    let sliceStart: UnsafeMutablePointer<UInt32>
    /// Each slot's 8 columns: 16-bit when the matrix has at most 65,536 columns, else 32-bit.
    let columnIndex16: UnsafeMutablePointer<UInt16>?
    let columnIndex32: UnsafeMutablePointer<UInt32>?
    let values: UnsafeMutablePointer<Float>
    /// Owns `values`, cache-line aligned: a slot's 8 values (one 256-bit load) then never straddles two lines
    /// (from a plain allocation they did in most processes, and the kernel's time changed from run
    /// to run with where the allocator put them).
    private let valueMemory: AlignedFloats
    /// The row of each lane: `rows` entries, lane i of slice s at 8s + i.
    let rowOfLane: UnsafeMutablePointer<UInt32>
    let partitions: RowPartitions

    public init(_ m: CSRMatrix, portable: Bool = false) {
        precondition(m.rows <= Int(UInt32.max) && m.columns <= Int(UInt32.max), "matrix too large for 32-bit indices")
        self.portable = portable
        rows = m.rows
        columns = m.columns
        storedWeights = m.nnz
        slices = (m.rows + 7) / 8
        let order = (0..<m.rows).sorted { a, b in
            let (la, lb) = (m.rowPointers[a + 1] - m.rowPointers[a], m.rowPointers[b + 1] - m.rowPointers[b])
            return la != lb ? la > lb : a < b
        }
        var starts = [UInt32](repeating: 0, count: slices + 1)
        for s in 0..<slices {
            // Sorted longest first: a slice's first row is its longest.
            let r = order[8 * s]
            starts[s + 1] = starts[s] + UInt32(m.rowPointers[r + 1] - m.rowPointers[r])
        }
        slots = Int(starts[slices])
        sliceStart = .allocate(capacity: slices + 1)
        sliceStart.initialize(from: starts, count: slices + 1)
        rowOfLane = .allocate(capacity: max(m.rows, 1))
        rowOfLane.initialize(from: order.map { UInt32($0) }, count: m.rows)
        let capacity = max(8 * slots, 1)
        if m.columns <= Int(UInt16.max) + 1 {
            columnIndex16 = .allocate(capacity: capacity)
            columnIndex16!.initialize(repeating: 0, count: capacity)
            columnIndex32 = nil
        } else {
            columnIndex32 = .allocate(capacity: capacity)
            columnIndex32!.initialize(repeating: 0, count: capacity)
            columnIndex16 = nil
        }
        valueMemory = AlignedFloats(count: max(8 * slots, 1))
        values = valueMemory.pointer
        for (lane, r) in order.enumerated() {
            let (s, i) = (lane / 8, lane % 8)
            for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                let at = 8 * (Int(starts[s]) + k - m.rowPointers[r]) + i
                if let narrow = columnIndex16 { narrow[at] = UInt16(m.columnIndices[k]) } else { columnIndex32![at] = UInt32(m.columnIndices[k]) }
                values[at] = m.values[k]
            }
        }
        let pointer = sliceStart
        partitions = RowPartitions(rows: slices) { Int(pointer[$0]) }
    }

    deinit {
        sliceStart.deallocate()
        columnIndex16?.deallocate()
        columnIndex32?.deallocate()
        rowOfLane.deallocate()
    }

    public var residentBytes: Int { 4 * (slices + 1) + 4 * rows + slots * 8 * (4 + (columnIndex16 == nil ? 4 : 2)) }
    /// Every slot runs its 8 lanes, padding included.
    public func multiplyAdds(n: Int) -> Int { 8 * slots * n }
    /// For `n` > 1, one column of X and one of Y.
    public func scratchBytes(n: Int) -> Int { n > 1 ? 4 * (columns + rows) : 0 }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        // Threads split the slices of one column (see `Sell8Kernel`); batch 1 reads x in place.
        sliceProduct(x, n: n, rows: rows, columns: columns, vectorFloats: columns, readsInPlace: true,
                     ranges: partitions.ranges(threads: threads, work: 8 * slots), scratch: scratch, into: y) { vector($0, $1, bias, $2) }
    }

    /// Slices `range` against one vector x.
    @inline(__always)
    func vector(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        if SIMDSupport.avx2FMA && !portable {
            if let narrow = columnIndex16 {
                relief_sellsigma_gemv_u16(sliceStart, narrow, values, rowOfLane, x, bias, y, Int64(rows),
                                          Int64(range.lowerBound), Int64(range.upperBound))
            } else {
                relief_sellsigma_gemv(sliceStart, columnIndex32!, values, rowOfLane, x, bias, y, Int64(rows),
                                      Int64(range.lowerBound), Int64(range.upperBound))
            }
            return
        }
        for s in range {
            var acc = SIMD8<Float>()
            for t in Int(sliceStart[s])..<Int(sliceStart[s + 1]) {
                var xs = SIMD8<Float>()
                if let narrow = columnIndex16 {
                    for lane in 0..<8 { xs[lane] = x[Int(narrow[8 * t + lane])] }
                } else {
                    for lane in 0..<8 { xs[lane] = x[Int(columnIndex32![8 * t + lane])] }
                }
                acc += UnsafeRawPointer(values + 8 * t).loadUnaligned(as: SIMD8<Float>.self) * xs
            }
            for lane in 0..<min(8, rows - 8 * s) {
                let r = Int(rowOfLane[8 * s + lane])
                y[r] = acc[lane] + (bias?[r] ?? 0)
            }
        }
    }
}
