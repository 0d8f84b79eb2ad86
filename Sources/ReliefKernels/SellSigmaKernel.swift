import CReliefSIMD
import ReliefFormat

/// The batch-1 kernels for very sparse rows: SELL-C-σ (sliced ELLPACK with rows sorted by length),
/// C = 8 (`sellsigma`) or 16 (`sellsigma16`).
///
/// Rows are sorted by nonzero count, longest first, and taken C at a time, one SIMD lane per row;
/// slot t of a slice holds the t-th nonzero of each of its C rows, so a slice is as long as its
/// longest row and, rows of a slice being of about the same length, hardly any lane is padding.
/// x's values are fetched lane by lane (a gather). Unlike `sell8`, whose slots hold only nonzeros of
/// one 8-column block (one register load and a permutation instead of the gather), the padding does
/// not grow as rows thin out: on a random 300 x 784 matrix (LeNet-300-100's fc1) at 5%, 2% and 1%
/// density `sell8` runs 3.5, 5.1 and 6.2 lanes per nonzero, this layout 1.02-1.03
/// (`bench/micro/spmv_batch1.c` times this layout's loop). Every row is written once, empty ones
/// included (their bias).
///
/// `lanes: 16` (the `sellsigma16` kernel, for AVX-512) takes 16 rows per slice and fetches a slot's
/// 16 values of x with one `vgatherdps`: on the Xeon of 2026-12-07 about 1.4x the 8-lane loop's
/// speed at 1-2% density, while on Zen 4, whose gathers are slow, the lane loads win
/// (`bench/micro/spmv_batch1.c`, sell16-gather); the choice at load times both.
///
/// For `n` > 1 it runs column by column (the automatic choice tries it up to
/// `KernelTable.sellsigma.automaticColumns`). Column indices are 16-bit up to 65,536 columns (a
/// slot's eight come in two 64-bit loads) and 32-bit beyond. Where the CPU lacks AVX2 + FMA the same
/// slots run through a portable Swift loop.
public final class SellSigmaKernel: WeightKernel, @unchecked Sendable {
    public let name: String
    /// Rows per slice, one per SIMD lane: 8 (AVX2 loads lane by lane) or 16 (AVX-512 gathers).
    public let lanes: Int
    public let rows: Int
    public let columns: Int
    public let storedWeights: Int
    /// Slots, padding included (each holds `lanes` values).
    public let slots: Int
    /// Only the portable Swift loop, even where AVX2 is available (tests check both paths).
    public let portable: Bool
    let slices: Int
    let sliceStart: UnsafeMutablePointer<UInt32>
    /// Each slot's `lanes` columns: 16-bit when the matrix has at most 65,536 columns, else 32-bit.
    let columnIndex16: UnsafeMutablePointer<UInt16>?
    let columnIndex32: UnsafeMutablePointer<UInt32>?
    let values: UnsafeMutablePointer<Float>
    /// Owns `values`, cache-line aligned: a slot's values (one 256- or 512-bit load) then never straddle two lines
    /// (from a plain allocation they did in most processes, and the kernel's time changed from run
    /// to run with where the allocator put them).
    private let valueMemory: AlignedFloats
    /// The row of each lane: `rows` entries, lane i of slice s at `lanes`·s + i.
    let rowOfLane: UnsafeMutablePointer<UInt32>
    let partitions: RowPartitions

    /// `lanes` is 8 or 16.
    public init(_ m: CSRMatrix, lanes: Int = 8, portable: Bool = false) {
        precondition(lanes == 8 || lanes == 16, "a slice has 8 or 16 lanes")
        // vgatherdps takes signed 32-bit indices.
        precondition(m.rows <= Int(UInt32.max) && m.columns <= (lanes == 16 ? Int(Int32.max) : Int(UInt32.max)),
                     "matrix too large for 32-bit indices")
        name = lanes == 16 ? "sellsigma16" : "sellsigma"
        self.lanes = lanes
        self.portable = portable
        rows = m.rows
        columns = m.columns
        storedWeights = m.nnz
        slices = (m.rows + lanes - 1) / lanes
        let order = (0..<m.rows).sorted { a, b in
            let (la, lb) = (m.rowPointers[a + 1] - m.rowPointers[a], m.rowPointers[b + 1] - m.rowPointers[b])
            return la != lb ? la > lb : a < b
        }
        var starts = [UInt32](repeating: 0, count: slices + 1)
        for s in 0..<slices {
            // Sorted longest first: a slice's first row is its longest.
            let r = order[lanes * s]
            starts[s + 1] = starts[s] + UInt32(m.rowPointers[r + 1] - m.rowPointers[r])
        }
        slots = Int(starts[slices])
        sliceStart = .allocate(capacity: slices + 1)
        sliceStart.initialize(from: starts, count: slices + 1)
        rowOfLane = .allocate(capacity: max(m.rows, 1))
        rowOfLane.initialize(from: order.map { UInt32($0) }, count: m.rows)
        let capacity = max(lanes * slots, 1)
        if m.columns <= Int(UInt16.max) + 1 {
            columnIndex16 = .allocate(capacity: capacity)
            columnIndex16!.initialize(repeating: 0, count: capacity)
            columnIndex32 = nil
        } else {
            columnIndex32 = .allocate(capacity: capacity)
            columnIndex32!.initialize(repeating: 0, count: capacity)
            columnIndex16 = nil
        }
        valueMemory = AlignedFloats(count: capacity)
        values = valueMemory.pointer
        for (lane, r) in order.enumerated() {
            let (s, i) = (lane / lanes, lane % lanes)
            for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                let at = lanes * (Int(starts[s]) + k - m.rowPointers[r]) + i
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

    public var residentBytes: Int { 4 * (slices + 1) + 4 * rows + slots * lanes * (4 + (columnIndex16 == nil ? 4 : 2)) }
    /// Every slot runs all its lanes, padding included.
    public func multiplyAdds(n: Int) -> Int { lanes * slots * n }
    /// For `n` > 1, one column of X and one of Y.
    public func scratchBytes(n: Int) -> Int { n > 1 ? 4 * (columns + rows) : 0 }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        // Threads split the slices of one column (see `Sell8Kernel`); batch 1 reads x in place.
        sliceProduct(x, n: n, rows: rows, columns: columns, vectorFloats: columns, readsInPlace: true,
                     ranges: partitions.ranges(threads: threads, work: lanes * slots), scratch: scratch, into: y) { vector($0, $1, bias, $2) }
    }

    /// Slices `range` against one vector x.
    @inline(__always)
    func vector(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        let (begin, end) = (Int64(range.lowerBound), Int64(range.upperBound))
        // The C loops for this slice height, where the CPU runs them (both pairs take the same arguments).
        if !portable && (lanes == 16 ? SIMDSupport.avx512 : SIMDSupport.avx2FMA) {
            let (narrowLoop, wideLoop) = lanes == 16 ? (relief_sellsigma16_gemv_u16_avx512, relief_sellsigma16_gemv_avx512)
                : (relief_sellsigma_gemv_u16, relief_sellsigma_gemv)
            if let narrow = columnIndex16 {
                narrowLoop(sliceStart, narrow, values, rowOfLane, x, bias, y, Int64(rows), begin, end)
            } else {
                wideLoop(sliceStart, columnIndex32!, values, rowOfLane, x, bias, y, Int64(rows), begin, end)
            }
            return
        }
        if lanes == 16 {
            portableSlices(range, x, bias, y, SIMD16<Float>.self)
        } else {
            portableSlices(range, x, bias, y, SIMD8<Float>.self)
        }
    }

    /// The portable loop, one `V` (as wide as a slice) per slot.
    @inline(__always)
    private func portableSlices<V: SIMD>(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                                         _ y: UnsafeMutablePointer<Float>, _: V.Type) where V.Scalar == Float {
        for s in range {
            var acc = V()
            for t in Int(sliceStart[s])..<Int(sliceStart[s + 1]) {
                var xs = V()
                if let narrow = columnIndex16 {
                    for lane in 0..<lanes { xs[lane] = x[Int(narrow[lanes * t + lane])] }
                } else {
                    for lane in 0..<lanes { xs[lane] = x[Int(columnIndex32![lanes * t + lane])] }
                }
                acc += UnsafeRawPointer(values + lanes * t).loadUnaligned(as: V.self) * xs
            }
            for lane in 0..<min(lanes, rows - lanes * s) {
                let r = Int(rowOfLane[lanes * s + lane])
                y[r] = acc[lane] + (bias?[r] ?? 0)
            }
        }
    }
}
