import CReliefSIMD
import ReliefFormat

/// The batch-1 kernel for AVX-512: sliced ELLPACK with 16-row slices over 32-column blocks of x held
/// in registers.
///
/// `sell8`'s idea, widened: rows are taken 16 at a time, one 512-bit lane per row, and each slot
/// holds up to one nonzero per row from the same 32-column block of W. The block's 32 values of x
/// sit in two registers and one two-table permutation (vpermt2ps) by the slot's 5-bit offsets fetches
/// all 16 lanes', so no value of x is gathered from memory. A block four times as wide as `sell8`'s
/// pads far less (a slice's slots in a block are its longest row's nonzeros there: on a random
/// 300 x 784 matrix at 5% density 2.5 lanes per nonzero, `sell8` 3.5), and four slices (64 rows)
/// share each block's two loads, their four accumulators independent chains whose multiply-adds
/// overlap. `bench/micro/spmv_batch1.c` times this loop (`permute32`) against CXSparse and the
/// gather layouts.
///
/// A padded lane multiplies a value of x by 0, as a dense product multiplies the pruned zeros: an
/// infinite or NaN input spreads as it would through `dense`.
///
/// It is a matrix-vector kernel: for `n` > 1 it runs column by column (the automatic choice only
/// tries it up to `KernelTable.sell16.automaticColumns`, and only on CPUs with AVX-512). Elsewhere the
/// same slots run through a portable Swift loop.
public final class Sell16Kernel: WeightKernel, @unchecked Sendable {
    public let name = "sell16"
    public let rows: Int
    public let columns: Int
    public let storedWeights: Int
    /// Slots, padding included (each holds 16 values).
    public let slots: Int
    /// Only the portable Swift loop, even where AVX-512 is available (tests check both paths).
    public let portable: Bool
    /// Rows per slice, slices per group, columns per block.
    static let (sliceRows, groupSlices, blockColumns) = (16, 4, 32)
    let groups: Int
    let blocks: Int
    /// Slots per (group, block, slice): `count[4 (g · blocks + b) + q]`, at most 32.
    let count: UnsafeMutablePointer<UInt8>
    /// The first slot of each group, and `slots` after the last.
    let groupStart: UnsafeMutablePointer<Int64>
    /// Each slot's 16 offsets into its block (0...31) and 16 values.
    let offsets: UnsafeMutablePointer<UInt8>
    let values: UnsafeMutablePointer<Float>
    /// Owns `values`, cache-line aligned: a slot's 16 values (one 512-bit load) then never straddles two lines
    /// (from a plain allocation they did in most processes, and the kernel's time changed from run
    /// to run with where the allocator put them).
    private let valueMemory: AlignedFloats
    let partitions: RowPartitions

    public init(_ m: CSRMatrix, portable: Bool = false) {
        self.portable = portable
        rows = m.rows
        columns = m.columns
        storedWeights = m.nnz
        let groupRows = Self.sliceRows * Self.groupSlices
        groups = (m.rows + groupRows - 1) / groupRows
        blocks = (m.columns + Self.blockColumns - 1) / Self.blockColumns
        // Nonzeros of every row in every block; a slice's slots in a block are its rows' largest count.
        let cells = groups * blocks * Self.groupSlices
        var counts = [UInt8](repeating: 0, count: max(cells, 1))
        var starts = [Int64](repeating: 0, count: groups + 1)
        var perRow = [Int](repeating: 0, count: max(blocks, 1))
        for g in 0..<groups {
            for q in 0..<Self.groupSlices {
                // A last group's slices past the matrix stay empty.
                let first = min(g * groupRows + q * Self.sliceRows, m.rows)
                var longest = [Int](repeating: 0, count: max(blocks, 1))
                for r in first..<min(first + Self.sliceRows, m.rows) {
                    for b in 0..<blocks { perRow[b] = 0 }
                    for k in m.rowPointers[r]..<m.rowPointers[r + 1] { perRow[Int(m.columnIndices[k]) / Self.blockColumns] += 1 }
                    for b in 0..<blocks { longest[b] = max(longest[b], perRow[b]) }
                }
                for b in 0..<blocks { counts[4 * (g * blocks + b) + q] = UInt8(longest[b]) }
            }
            starts[g + 1] = starts[g] + Int64(counts[(4 * g * blocks)..<(4 * (g + 1) * blocks)].reduce(0) { $0 + Int($1) })
        }
        slots = Int(starts[groups])
        count = .allocate(capacity: counts.count)
        count.initialize(from: counts, count: counts.count)
        groupStart = .allocate(capacity: groups + 1)
        groupStart.initialize(from: starts, count: groups + 1)
        let lanes = max(16 * slots, 1)
        offsets = .allocate(capacity: lanes)
        offsets.initialize(repeating: 0, count: lanes)
        valueMemory = AlignedFloats(count: lanes)
        values = valueMemory.pointer
        // Where each (group, block, slice) cell's slots begin: group by group, block by block, slice by slice.
        var cellStart = [Int](repeating: 0, count: max(cells, 1))
        var at = 0
        for cell in 0..<cells {
            cellStart[cell] = at
            at += Int(counts[cell])
        }
        for r in 0..<m.rows {
            let (g, q, lane) = (r / groupRows, r % groupRows / Self.sliceRows, r % Self.sliceRows)
            for b in 0..<blocks { perRow[b] = 0 }
            for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                let c = Int(m.columnIndices[k]), b = c / Self.blockColumns
                let slot = cellStart[4 * (g * blocks + b) + q] + perRow[b]
                perRow[b] += 1
                offsets[16 * slot + lane] = UInt8(c % Self.blockColumns)
                values[16 * slot + lane] = m.values[k]
            }
        }
        let pointer = groupStart
        partitions = RowPartitions(rows: groups) { Int(pointer[$0]) }
    }

    deinit {
        count.deallocate()
        groupStart.deallocate()
        offsets.deallocate()
    }

    public var residentBytes: Int { groups * blocks * Self.groupSlices + 8 * (groups + 1) + slots * 16 * (1 + 4) }
    /// Every slot runs its 16 lanes, padding included.
    public func multiplyAdds(n: Int) -> Int { 16 * slots * n }
    /// For `n` > 1, one column of X and one of Y.
    public func scratchBytes(n: Int) -> Int { n > 1 ? 4 * (columns + rows) : 0 }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        // Threads split the groups of one column (see `Sell8Kernel`); the kernel never reads past
        // x's last column, so batch 1 reads x in place.
        sliceProduct(x, n: n, rows: rows, columns: columns, vectorFloats: columns, readsInPlace: true,
                     ranges: partitions.ranges(threads: threads, work: 16 * slots), scratch: scratch, into: y) { vector($0, $1, bias, $2) }
    }

    /// Groups `range` against one vector x.
    @inline(__always)
    func vector(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        if SIMDSupport.wide(true, portable: portable) {
            relief_sell16_gemv_avx512(groupStart, count, offsets, values, x, bias, y, Int64(rows), Int64(columns),
                                      Int64(range.lowerBound), Int64(range.upperBound))
            return
        }
        let groupRows = Self.sliceRows * Self.groupSlices
        for g in range {
            // Slice by slice (no per-call array of accumulators), stepping over the other slices' slots.
            for q in 0..<Self.groupSlices {
                var acc = SIMD16<Float>()
                var slot = Int(groupStart[g])
                for b in 0..<blocks {
                    let block = Self.blockColumns * b
                    for other in 0..<Self.groupSlices {
                        let cellSlots = Int(count[4 * (g * blocks + b) + other])
                        if other == q {
                            for t in slot..<(slot + cellSlots) {
                                var xs = SIMD16<Float>()
                                for lane in 0..<16 { xs[lane] = x[block + Int(offsets[16 * t + lane])] }
                                acc += UnsafeRawPointer(values + 16 * t).loadUnaligned(as: SIMD16<Float>.self) * xs
                            }
                        }
                        slot += cellSlots
                    }
                }
                let first = g * groupRows + q * Self.sliceRows
                for lane in 0..<max(0, min(Self.sliceRows, rows - first)) { y[first + lane] = acc[lane] + (bias?[first + lane] ?? 0) }
            }
        }
    }
}
