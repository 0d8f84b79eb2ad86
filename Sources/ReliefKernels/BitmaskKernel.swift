import ReliefFormat

/// One bit per weight (a row padded to whole 64-bit words) plus the nonzero values in row order:
/// 1 bit of index per element instead of 16 or 32 per nonzero, so it is the smaller form for
/// moderately sparse layers. The arithmetic is the CSR kernel's, with columns decoded from the bits.
public final class BitmaskKernel: WeightKernel, @unchecked Sendable {
    public let name = "bitmask"
    public let rows: Int
    public let columns: Int
    public let storedWeights: Int
    let wordsPerRow: Int
    let bits: UnsafeMutablePointer<UInt64>
    let rowStart: UnsafeMutablePointer<UInt32>
    let values: UnsafeMutablePointer<Float>
    let partitions: RowPartitions

    public init(_ m: CSRMatrix) {
        precondition(m.nnz <= Int(UInt32.max), "matrix too large")
        rows = m.rows
        columns = m.columns
        storedWeights = m.nnz
        wordsPerRow = (m.columns + 63) / 64
        bits = .allocate(capacity: max(m.rows * wordsPerRow, 1))
        bits.initialize(repeating: 0, count: max(m.rows * wordsPerRow, 1))
        rowStart = .allocate(capacity: m.rows + 1)
        values = .allocate(capacity: max(m.nnz, 1))
        for r in 0...m.rows { rowStart[r] = UInt32(m.rowPointers[r]) }
        for r in 0..<m.rows {
            for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                let c = Int(m.columnIndices[k])
                bits[r * wordsPerRow + c >> 6] |= 1 << UInt64(c & 63)
                values[k] = m.values[k]
            }
        }
        let starts = rowStart, words = wordsPerRow
        partitions = RowPartitions(rows: m.rows) { Int(starts[$0]) + $0 * words }
    }

    deinit {
        bits.deallocate()
        rowStart.deallocate()
        values.deallocate()
    }

    public var residentBytes: Int { 8 * rows * wordsPerRow + 4 * (rows + 1) + 4 * storedWeights }
    public func scratchBytes(n: Int) -> Int { Strips.scratchBytes(columns: columns, n: n) }

    /// Every row against one packed strip (`columns x 32`) of X, written to columns `j..<j+32` of Y.
    @inline(__always)
    func strip(_ block: UnsafePointer<Float>, column j: Int, _ n: Int, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        let raw = UnsafeRawPointer(block)
        for r in 0..<rows {
            var tile = Tile32(bias?[r] ?? 0)
            forEachNonzero(ofRow: r) { c, k in tile.add(values[k], raw + c * 128) }
            tile.store(y + r * n + j)
        }
    }

    public func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                         scratch: UnsafeMutableRawPointer?, threads: Int) {
        sparseProduct(x: x, n: n, rows: rows, columns: columns, threads: threads, scratch: scratch, partitions: partitions,
                      work: storedWeights * n + rows * wordsPerRow,
                      strip: { block, j in self.strip(block, column: j, n, bias, y) },
                      matrix: { range, j in self.matrix(range, x, n, bias, y, from: j) },
                      vector: { range in self.vector(range, x, bias, y) })
    }

    /// Calls `body(column, value index)` for each nonzero of row `r`, in column order.
    @inline(__always)
    func forEachNonzero(ofRow r: Int, _ body: (Int, Int) -> Void) {
        var k = Int(rowStart[r])
        let rowBits = bits + r * wordsPerRow
        for w in 0..<wordsPerRow {
            var word = rowBits[w]
            while word != 0 {
                body(w << 6 | word.trailingZeroBitCount, k)
                word &= word &- 1
                k += 1
            }
        }
    }

    @inline(__always)
    func vector(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>) {
        for r in range {
            var k = Int(rowStart[r])
            var s0: Float = 0, s1: Float = 0
            for w in 0..<wordsPerRow {
                var word = bits[r * wordsPerRow + w]
                let base = x + w << 6
                while word != 0 {
                    let c = word.trailingZeroBitCount
                    word &= word &- 1
                    s0 += values[k] * base[c]
                    k += 1
                    if word == 0 { break }
                    let c2 = word.trailingZeroBitCount
                    word &= word &- 1
                    s1 += values[k] * base[c2]
                    k += 1
                }
            }
            y[r] = (bias?[r] ?? 0) + (s0 + s1)
        }
    }

    /// As the CSR kernel: 32-column strips of X outside, rows inside, so a strip stays in cache.
    @inline(__always)
    func matrix(_ range: Range<Int>, _ x: UnsafePointer<Float>, _ n: Int, _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, from first: Int = 0) {
        let raw = UnsafeRawPointer(x)
        var j = first
        while j + 32 <= n {
            for r in range {
                var tile = Tile32(bias?[r] ?? 0)
                forEachNonzero(ofRow: r) { c, k in tile.add(values[k], raw + (c * n + j) * 4) }
                tile.store(y + r * n + j)
            }
            j += 32
        }
        while j < n {
            let width = n - j >= 8 ? 8 : 1
            for r in range {
                if width == 8 {
                    var a0 = SIMD8<Float>(repeating: bias?[r] ?? 0)
                    forEachNonzero(ofRow: r) { c, k in
                        a0 += SIMD8<Float>(repeating: values[k]) * (raw + (c * n + j) * 4).loadUnaligned(as: SIMD8<Float>.self)
                    }
                    UnsafeMutableRawPointer(y + r * n + j).storeBytes(of: a0, as: SIMD8<Float>.self)
                } else {
                    var s = bias?[r] ?? 0
                    forEachNonzero(ofRow: r) { c, k in s += values[k] * x[c * n + j] }
                    y[r * n + j] = s
                }
            }
            j += width
        }
    }
}
