import CReliefSIMD
import Foundation
import ReliefFormat

/// Builds the CSR kernel with the narrowest column index type that fits.
func makeCSRKernel(_ m: CSRMatrix) -> any WeightKernel {
    m.columns <= Int(UInt16.max) + 1 ? CSRKernel16(m) : CSRKernel32(m)
}

/// Whether this CPU runs the AVX2+FMA and AVX-512 variants (`RELIEF_SIMD=baseline` turns both off,
/// `RELIEF_SIMD=avx2` AVX-512 alone, to compare).
public enum SIMDSupport {
    public static let avx2FMA: Bool = relief_simd_avx2_fma() != 0 && ProcessInfo.processInfo.environment["RELIEF_SIMD"] != "baseline"
    public static let avx512: Bool = avx2FMA && relief_simd_avx512() != 0 && ProcessInfo.processInfo.environment["RELIEF_SIMD"] != "avx2"

    /// Whether a kernel built with `avx512` (its callers' switch, so tests can keep the AVX2 loops
    /// checked on AVX-512 machines) and `portable` runs its 512-bit loops.
    public static func wide(_ avx512: Bool, portable: Bool = false) -> Bool { avx512 && !portable && Self.avx512 }
}

/// The CSR kernel with 16-bit column indices (matrices up to 65,536 columns).
public final class CSRKernel16: CSRKernel<UInt16>, @unchecked Sendable {
    /// Only the portable Swift loops, even where AVX2 is available (tests check both paths).
    public let portable: Bool
    /// Whether the strips of 32 and 64 columns and the 4-column narrow products run in 512-bit
    /// vectors (an AVX-512 CPU, not `portable`, not turned off at init; tests check both widths).
    public let wide: Bool

    /// Where each row's nonzeros of each column block start (`rows x (blocks + 1)`), when the strips
    /// run in column blocks (`blockedPerBlock`); nil otherwise.
    let blockStart: UnsafeMutablePointer<UInt32>?
    /// Column blocks the strips run in (of `blockColumns`, the last may be shorter); 1 when they run
    /// in one pass.
    public let blocks: Int
    /// Columns of W (rows of X) per block: 128 rows of X's 64-column strip are 32 KiB, in L1.
    public static let blockColumns = 128
    /// Average nonzeros per row and block from which the strips of 32 and 64 columns run block by
    /// block. `cc -O3 -march=native bench/micro/csr_batch64.c -o /tmp/csr64 && /tmp/csr64 DENSITY`
    /// (fc1's shape, batch 64, AVX-512; three runs): blocked against one pass, 0.56-0.71x the time at
    /// 50% density (64 nonzeros per row and block), 0.73-0.78x at 20% (25), 0.88-0.92x at 10% (12),
    /// 0.95-1.08x at 5% (6) and 1.6-1.8x at 2%: one pass reads each nonzero's row of X from L2, the
    /// blocks keep them in L1, which pays once a row has enough nonzeros in a block to cover loading
    /// and storing its outputs.
    public static let blockedPerBlock = 10

    public init(_ m: CSRMatrix, portable: Bool = false, avx512: Bool = true) {
        self.portable = portable
        wide = SIMDSupport.wide(avx512, portable: portable)
        let blocks = (m.columns + Self.blockColumns - 1) / Self.blockColumns
        if blocks >= 2 && m.nnz >= Self.blockedPerBlock * m.rows * blocks {
            let starts = UnsafeMutablePointer<UInt32>.allocate(capacity: m.rows * (blocks + 1))
            for r in 0..<m.rows {
                // Nonzeros are sorted by column within a row.
                var k = m.rowPointers[r]
                let end = m.rowPointers[r + 1]
                for b in 0..<blocks {
                    while k < end && Int(m.columnIndices[k]) < b * Self.blockColumns { k += 1 }
                    starts[r * (blocks + 1) + b] = UInt32(k)
                }
                starts[r * (blocks + 1) + blocks] = UInt32(end)
            }
            blockStart = starts
            self.blocks = blocks
        } else {
            blockStart = nil
            self.blocks = 1
        }
        super.init(m)
    }

    deinit { blockStart?.deallocate() }

    override public var residentBytes: Int { super.residentBytes + (blockStart == nil ? 0 : 4 * rows * (blocks + 1)) }

    // Overridden in a non-generic class so the loops are compiled for UInt16, not through generics.
    override public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                                  scratch: UnsafeMutableRawPointer?, threads: Int) {
        // Batch 1 stays on the Swift gather: AVX2's gather instruction measured twice as slow here.
        if SIMDSupport.avx2FMA && n > 1 && !portable {
            multiplyAVX2(x, n: n, bias: bias, into: y, scratch: scratch, threads: threads)
            return
        }
        sparseProduct(x: x, n: n, rows: rows, columns: columns, threads: threads, scratch: scratch, partitions: partitions,
                      work: storedWeights * n + rows * n,
                      strip: { block, j in self.strip(block, column: j, n, bias, y) },
                      matrix: { range, j in self.matrix(range, x, n, bias, y, from: j) },
                      vector: { range in self.vector(range, x, bias, y) })
    }
}

extension CSRKernel16 {
    /// Largest X (bytes) read in place rather than packed into strips: well inside a 512 KiB L2.
    static let unpackedBytes = 256 * 1024
    /// Widest X (columns) taken by `relief_csr_narrow_u16`: two registers per row.
    static let narrowColumns = 16

    /// The Swift path's loops with the 32-column strip in C with AVX2 + FMA (`CReliefSIMD`).
    func multiplyAVX2(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                      scratch: UnsafeMutableRawPointer?, threads: Int) {
        let (starts, cols, vals) = (UnsafePointer(rowStart), UnsafePointer(columnIndex), UnsafePointer(values))
        let (one32, one64) = wide ? (relief_csr_strip32_u16_avx512, relief_csr_strip64_u16_avx512)
            : (relief_csr_strip32_u16, relief_csr_strip64_u16)
        let (blocked32, blocked64) = wide ? (relief_csr_blocked32_u16_avx512, relief_csr_blocked64_u16_avx512)
            : (relief_csr_blocked32_u16, relief_csr_blocked64_u16)
        let (blockStart, blocks) = (UnsafePointer(self.blockStart), Int64(self.blocks))
        // Rows r0 ..< r1 of a 32- or 64-column strip of X (rows xStride apart, from column xOffset)
        // into columns j ..< j + width of Y: in one pass, or column block by column block.
        func strip(_ width: Int, _ x: UnsafePointer<Float>, _ xStride: Int, _ xOffset: Int, _ j: Int, _ r0: Int, _ r1: Int) {
            let (xs, xo, ys, j0, r0, r1) = (Int64(xStride), Int64(xOffset), Int64(n), Int64(j), Int64(r0), Int64(r1))
            if let blockStart {
                (width == 64 ? blocked64 : blocked32)(blockStart, blocks, cols, vals, x, xs, xo, bias, y, ys, j0, r0, r1)
            } else {
                (width == 64 ? one64 : one32)(starts, cols, vals, x, xs, xo, bias, y, ys, j0, r0, r1)
            }
        }
        if n <= Self.narrowColumns {
            // A few columns (small batches; a small map's pixels at batch 1): all of a row's outputs in
            // registers, one pass over the weights. Each nonzero costs about one vector multiply-add
            // however few columns it uses, so the work that decides a thread split counts 8 lanes
            // per vector (VGG-11's conv7 at batch 1: 118k nonzeros on 4 pixels, 0.13 ms, worth
            // splitting).
            let narrow = wide ? relief_csr_narrow_u16_avx512 : relief_csr_narrow_u16
            Parallel.run(partitions.ranges(threads: threads, work: storedWeights * 8 * ((n + 7) / 8) + rows * n)) { range in
                narrow(starts, cols, vals, x, Int64(n), bias, y, Int64(range.lowerBound), Int64(range.upperBound))
            }
            return
        }
        if n >= 32 && columns * n * 4 <= Self.unpackedBytes {
            // X fits in L2 as it is: no packing pass, 64- and 32-column strips straight from its rows.
            Parallel.run(partitions.ranges(threads: threads, work: storedWeights * n + rows * n)) { range in
                let (r0, r1) = (range.lowerBound, range.upperBound)
                var j = 0
                while j + 64 <= n {
                    strip(64, x, n, j, j, r0, r1)
                    j += 64
                }
                if j + 32 <= n {
                    strip(32, x, n, j, j, r0, r1)
                    j += 32
                }
                if j < n { self.matrix(range, x, n, bias, y, from: j) }
            }
            return
        }
        sparseProduct(x: x, n: n, rows: rows, columns: columns, threads: threads, scratch: scratch, partitions: partitions,
                      work: storedWeights * n + rows * n,
                      strip: { block, j in strip(32, block, 32, 0, j, 0, self.rows) },
                      matrix: { range, first in
                          var j = first
                          while j + 32 <= n {
                              strip(32, x, n, j, j, range.lowerBound, range.upperBound)
                              j += 32
                          }
                          if j < n { self.matrix(range, x, n, bias, y, from: j) }
                      },
                      vector: { range in self.vector(range, x, bias, y) })
    }
}

/// The CSR kernel with 32-bit column indices.
public final class CSRKernel32: CSRKernel<UInt32>, @unchecked Sendable {
    override public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                                  scratch: UnsafeMutableRawPointer?, threads: Int) {
        sparseProduct(x: x, n: n, rows: rows, columns: columns, threads: threads, scratch: scratch, partitions: partitions,
                      work: storedWeights * n + rows * n,
                      strip: { block, j in self.strip(block, column: j, n, bias, y) },
                      matrix: { range, j in self.matrix(range, x, n, bias, y, from: j) },
                      vector: { range in self.vector(range, x, bias, y) })
    }
}

/// Hand-written CSR x dense: for each output row, the nonzeros scale rows of X that are summed in
/// SIMD registers over a tile of the batch (32, then 8, then single columns), written once.
/// Batch 1 is a gather dot product with four accumulators. Rows are split over threads by nonzeros.
public class CSRKernel<Index: FixedWidthInteger & UnsignedInteger & Sendable>: WeightKernel, @unchecked Sendable {
    public let name = "csr"
    public let rows: Int
    public let columns: Int
    public let storedWeights: Int
    let rowStart: UnsafeMutablePointer<UInt32>
    let columnIndex: UnsafeMutablePointer<Index>
    let values: UnsafeMutablePointer<Float>
    let partitions: RowPartitions

    public init(_ m: CSRMatrix) {
        precondition(m.nnz <= Int(UInt32.max) && m.columns <= Int(Index.max) + 1, "matrix too large for this index type")
        rows = m.rows
        columns = m.columns
        storedWeights = m.nnz
        rowStart = .allocate(capacity: m.rows + 1)
        columnIndex = .allocate(capacity: max(m.nnz, 1))
        values = .allocate(capacity: max(m.nnz, 1))
        for r in 0...m.rows { rowStart[r] = UInt32(m.rowPointers[r]) }
        for k in 0..<m.nnz {
            columnIndex[k] = Index(m.columnIndices[k])
            values[k] = m.values[k]
        }
        let starts = rowStart
        partitions = RowPartitions(rows: m.rows) { Int(starts[$0]) + $0 }
    }

    deinit {
        rowStart.deallocate()
        columnIndex.deallocate()
        values.deallocate()
    }

    public var residentBytes: Int { 4 * (rows + 1) + (MemoryLayout<Index>.size + 4) * storedWeights }
    public func scratchBytes(n: Int) -> Int { Strips.scratchBytes(columns: columns, n: n) }

    /// Every row against one packed strip (`columns x 32`) of X, written to columns `j..<j+32` of Y.
    @inline(__always)
    func strip(_ block: UnsafePointer<Float>, column j: Int, _ n: Int, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(block)
        for r in 0..<rows {
            var tile = Tile32(bias?[r] ?? 0)
            for k in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                tile.add(values[k], raw + Int(columnIndex[k]) * 128)
            }
            tile.store(y + r * n + j)
        }
    }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        sparseProduct(x: x, n: n, rows: rows, columns: columns, threads: threads, scratch: scratch, partitions: partitions,
                      work: storedWeights * n + rows * n,
                      strip: { block, j in self.strip(block, column: j, n, bias, y) },
                      matrix: { range, j in self.matrix(range, x, n, bias, y, from: j) },
                      vector: { range in self.vector(range, x, bias, y) })
    }

    @inline(__always)
    func vector(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(values)
        for r in range {
            var k = Int(rowStart[r])
            let end = Int(rowStart[r + 1])
            // Eight products at a time: the values load as one vector, x is gathered lane by lane.
            var acc = SIMD8<Float>()
            while k + 8 <= end {
                let v = (raw + 4 * k).loadUnaligned(as: SIMD8<Float>.self)
                let c = columnIndex + k
                let g = SIMD8<Float>(x[Int(c[0])], x[Int(c[1])], x[Int(c[2])], x[Int(c[3])],
                                     x[Int(c[4])], x[Int(c[5])], x[Int(c[6])], x[Int(c[7])])
                acc += v * g
                k += 8
            }
            var s: Float = 0
            while k < end {
                s += values[k] * x[Int(columnIndex[k])]
                k += 1
            }
            y[r] = (bias?[r] ?? 0) + (acc.sum() + s)
        }
    }

    /// 32-column strips of X outside, rows inside: a strip (128 bytes per row of X) stays in cache
    /// while every row of W in the range uses it, instead of X being streamed once per output row.
    @inline(__always)
    func matrix(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ n: Int, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, from first: Int = 0) {
        let raw = UnsafeRawPointer(x)
        var j = first
        while j + 32 <= n {
            for r in range {
                let start = Int(rowStart[r]), end = Int(rowStart[r + 1])
                var tile = Tile32(bias?[r] ?? 0)
                for k in start..<end {
                    tile.add(values[k], raw + (Int(columnIndex[k]) * n + j) * 4)
                }
                tile.store(y + r * n + j)
            }
            j += 32
        }
        while j + 8 <= n {
            for r in range {
                var a0 = SIMD8<Float>(repeating: bias?[r] ?? 0)
                for k in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                    a0 += SIMD8<Float>(repeating: values[k]) * (raw + (Int(columnIndex[k]) * n + j) * 4).loadUnaligned(as: SIMD8<Float>.self)
                }
                UnsafeMutableRawPointer(y + r * n + j).storeBytes(of: a0, as: SIMD8<Float>.self)
            }
            j += 8
        }
        while j < n {
            for r in range {
                var s = bias?[r] ?? 0
                for k in Int(rowStart[r])..<Int(rowStart[r + 1]) { s += values[k] * x[Int(columnIndex[k]) * n + j] }
                y[r * n + j] = s
            }
            j += 1
        }
    }
}
