import CReliefSIMD
import ReliefFormat

/// The batch-1 kernel: sliced ELLPACK with 8-row slices over 8-column blocks.
///
/// A CSR product for one input vector gathers one value of x per nonzero; on this machine's CPUs
/// that gather, not the arithmetic, sets the pace (about one nonzero per cycle), which is no faster
/// than dense sgemv at 20% density. Here the rows are taken 8 at a time, one SIMD lane per row, and
/// each *slot* holds up to one nonzero per row from the same 8-column block of W: x's block is one
/// register load, and a permutation by the 3-bit lane indices replaces the eight gathers. Rows with
/// fewer nonzeros in a block than their slice's longest are padded with zeros, so the format stores
/// more values than CSR (the padding is the price of the permutation; `residentBytes` counts it).
///
/// It is a matrix-vector kernel: for `n` > 1 it runs column by column (the automatic choice only
/// considers it up to `KernelTable.sell8.automaticColumns`). Where the CPU lacks AVX2 + FMA the same
/// slots run through a portable Swift loop.
public final class Sell8Kernel: WeightKernel, @unchecked Sendable {
    public let name = "sell8"
    public let rows: Int
    public let columns: Int
    public let storedWeights: Int
    /// Slots, padding included (each holds 8 values).
    public let slots: Int
    /// Only the portable Swift loop, even where AVX2 is available (tests check both paths).
    public let portable: Bool
    let slices: Int
    let sliceStart: UnsafeMutablePointer<UInt32>
    let blockColumn: UnsafeMutablePointer<UInt32>
    let lanes: UnsafeMutablePointer<UInt8>
    let values: UnsafeMutablePointer<Float>
    /// Owns `values`, cache-line aligned: a slot's 8 values (one 256-bit load) then never straddles two lines
    /// (from a plain allocation they did in most processes, and the kernel's time changed from run
    /// to run with where the allocator put them).
    private let valueMemory: AlignedFloats
    let partitions: RowPartitions

    public init(_ m: CSRMatrix, portable: Bool = false) {
        self.portable = portable
        rows = m.rows
        columns = m.columns
        storedWeights = m.nnz
        slices = (m.rows + 7) / 8
        // Slots per slice: for every 8-column block, the most nonzeros any of the slice's rows has there.
        var starts = [UInt32](repeating: 0, count: slices + 1)
        var perBlock: [[Int]] = []  // per slice, the slot count of each non-empty block, as (block, count) pairs
        var counts: [Int] = []
        for s in 0..<slices {
            var inBlock: [Int: Int] = [:]
            for r in (8 * s)..<min(8 * s + 8, m.rows) {
                var rowCounts: [Int: Int] = [:]
                for k in m.rowPointers[r]..<m.rowPointers[r + 1] { rowCounts[Int(m.columnIndices[k]) / 8, default: 0] += 1 }
                for (b, c) in rowCounts { inBlock[b] = max(inBlock[b] ?? 0, c) }
            }
            let ordered = inBlock.keys.sorted()
            perBlock.append(ordered.flatMap { [$0, inBlock[$0]!] })
            counts.append(ordered.reduce(0) { $0 + inBlock[$1]! })
            starts[s + 1] = starts[s] + UInt32(counts[s])
        }
        slots = Int(starts[slices])
        sliceStart = .allocate(capacity: slices + 1)
        sliceStart.initialize(from: starts, count: slices + 1)
        blockColumn = .allocate(capacity: max(slots, 1))
        lanes = .allocate(capacity: max(8 * slots, 1))
        lanes.initialize(repeating: 0, count: max(8 * slots, 1))
        valueMemory = AlignedFloats(count: max(8 * slots, 1))
        values = valueMemory.pointer
        for s in 0..<slices {
            // Where each block's slots begin within the slice.
            var firstSlot: [Int: Int] = [:]
            var t = Int(starts[s])
            let pairs = perBlock[s]
            for i in stride(from: 0, to: pairs.count, by: 2) {
                firstSlot[pairs[i]] = t
                for u in 0..<pairs[i + 1] { blockColumn[t + u] = UInt32(pairs[i] * 8) }
                t += pairs[i + 1]
            }
            for lane in 0..<8 where 8 * s + lane < m.rows {
                let r = 8 * s + lane
                var used: [Int: Int] = [:]  // slots of each block this row has filled
                for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                    let c = Int(m.columnIndices[k]), b = c / 8
                    let slot = firstSlot[b]! + used[b, default: 0]
                    used[b, default: 0] += 1
                    lanes[8 * slot + lane] = UInt8(c % 8)
                    values[8 * slot + lane] = m.values[k]
                }
            }
        }
        let pointer = sliceStart
        partitions = RowPartitions(rows: slices) { Int(pointer[$0]) }
    }

    deinit {
        sliceStart.deallocate()
        blockColumn.deallocate()
        lanes.deallocate()
    }

    public var residentBytes: Int { 4 * (slices + 1) + slots * (4 + 8 + 32) }
    /// Every slot runs its 8 lanes, padding included.
    public func multiplyAdds(n: Int) -> Int { 8 * slots * n }
    /// x padded to whole blocks, and for `n` > 1 one column of X and of Y.
    public func scratchBytes(n: Int) -> Int { 4 * (paddedColumns + 8 * slices) }

    var paddedColumns: Int { (columns + 7) / 8 * 8 }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        // Threads split the slices of one column: only worth it when one column's work is large
        // (waking threads once per column of a batch would cost more than it saves). Batch 1 with
        // whole blocks reads x in place; otherwise each column is copied to a padded vector.
        sliceProduct(x, n: n, rows: rows, columns: columns, vectorFloats: paddedColumns, readsInPlace: columns % 8 == 0,
                     ranges: partitions.ranges(threads: threads, work: 8 * slots), scratch: scratch, into: y) { vector($0, $1, bias, $2) }
    }

    /// Slices `range` against one padded vector x.
    @inline(__always)
    func vector(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        if SIMDSupport.avx2FMA && !portable {
            relief_sell8_gemv(sliceStart, blockColumn, lanes, values, x, bias, y, Int64(rows), Int64(range.lowerBound), Int64(range.upperBound))
            return
        }
        for s in range {
            var acc = SIMD8<Float>()
            for t in Int(sliceStart[s])..<Int(sliceStart[s + 1]) {
                let block = x + Int(blockColumn[t])
                var xs = SIMD8<Float>()
                for lane in 0..<8 { xs[lane] = block[Int(lanes[8 * t + lane])] }
                acc += UnsafeRawPointer(values + 8 * t).loadUnaligned(as: SIMD8<Float>.self) * xs
            }
            for lane in 0..<min(8, rows - 8 * s) { y[8 * s + lane] = acc[lane] + (bias?[8 * s + lane] ?? 0) }
        }
    }
}
