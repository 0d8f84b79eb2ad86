import ReliefFormat
import ReliefKernels
import ReliefKernelsCHOLMOD
import ReliefRandom
import Testing

/// Every kernel of the table against one plain reference: shapes around the SIMD tile edges (the
/// batch tiles are 32 and 8 columns, bitmask words 64 columns), densities 0% to 100%, empty rows and
/// columns, a single nonzero, batches 1 to 100, with and without bias, on 1 and 2 threads.
@Suite struct KernelTableTests {
    static let table = KernelTable.builtIn + [CHOLMODKernel.entry]

    /// Plain `Y = W · X + bias` in double precision; X is columns x n, Y rows x n, row-major.
    static func reference(_ w: [Float], rows: Int, columns: Int, x: [Float], n: Int, bias: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var s = Double(bias?[r] ?? 0)
                for c in 0..<columns { s += Double(w[r * columns + c]) * Double(x[c * n + j]) }
                y[r * n + j] = Float(s)
            }
        }
        return y
    }

    static func close(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }
    }

    static func check(_ w: [Float], rows: Int, columns: Int, n: Int, seed: UInt64, threads: Int = 1, withBias: Bool = true) {
        var g = SeededGenerator(seed: seed ^ 0xB1A5)
        let x = (0..<(columns * n)).map { _ in g.normal() }
        let bias = withBias ? (0..<rows).map { _ in g.normal() } : nil
        let expected = reference(w, rows: rows, columns: columns, x: x, n: n, bias: bias)
        let m = CSRMatrix(rows: rows, columns: columns, dense: w)
        for entry in table {
            let kernel = entry.make(m)
            #expect(kernel.rows == rows && kernel.columns == columns && kernel.name == entry.name)
            let y = kernel.multiply(x, n: n, bias: bias, threads: threads)
            #expect(close(y, expected), "kernel \(entry.name), seed \(seed), \(rows)x\(columns), n \(n), threads \(threads), bias \(withBias)")
        }
    }

    @Test(arguments: [0.0, 0.01, 0.05, 0.2, 0.5, 1.0])
    func everyKernelMatchesTheReference(density: Double) {
        let shapes = [(1, 1), (3, 7), (8, 63), (9, 64), (17, 65), (33, 129), (100, 300), (0, 5), (5, 0), (64, 32), (65, 95)]
        for (s, (rows, columns)) in shapes.enumerated() {
            // 2 ... 16 columns: csr's narrow path (lanes masked past n, one or two registers a row).
            for n in [1, 2, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 41, 64, 100] {
                let seed = UInt64(s * 1000 + n) &+ UInt64(density * 1_000_000)
                var g = SeededGenerator(seed: seed)
                let w = RandomWeights.sparse(rows: rows, columns: columns, density: density, std: 1, using: &g)
                Self.check(w, rows: rows, columns: columns, n: n, seed: seed, withBias: n % 2 == 1)
            }
        }
    }

    /// CSR's strips in column blocks (`CSRKernel16.blocks`), AVX-512 and AVX2: columns around the
    /// block edges, batches on the in-place strips (X read where it is) and on the packed ones.
    @Test(arguments: [0.3, 1.0])
    func csrColumnBlocksMatchTheReference(density: Double) throws {
        try #require(SIMDSupport.avx2FMA, "the blocked strips are AVX2 and AVX-512 code")
        let b = CSRKernel16.blockColumns
        for (rows, columns) in [(5, b + 1), (9, 2 * b), (9, 2 * b + 1), (40, 3 * b - 1), (3, 7 * b)] {
            for n in [32, 33, 64, 65, 100, 200] {
                let seed = UInt64(rows * 100_000 + columns * 100 + n) &+ UInt64(density * 10)
                var g = SeededGenerator(seed: seed)
                let w = RandomWeights.sparse(rows: rows, columns: columns, density: density, std: 1, using: &g)
                let x = (0..<(columns * n)).map { _ in g.normal() }
                let bias = (0..<rows).map { _ in g.normal() }
                let m = CSRMatrix(rows: rows, columns: columns, dense: w)
                let expected = Self.reference(w, rows: rows, columns: columns, x: x, n: n, bias: bias)
                for avx512 in [true, false] {
                    let kernel = CSRKernel16(m, avx512: avx512)
                    #expect(kernel.blocks == (columns + b - 1) / b, "\(rows)x\(columns) at \(density) should run in column blocks")
                    for threads in [1, 2] {
                        let y = kernel.multiply(x, n: n, bias: bias, threads: threads)
                        #expect(Self.close(y, expected), "seed \(seed), \(rows)x\(columns), n \(n), density \(density), avx512 \(avx512), \(threads) threads")
                    }
                }
            }
        }
        // Sparser rows stay in one pass.
        var g = SeededGenerator(seed: 5)
        let sparse = CSRMatrix(rows: 50, columns: 4 * b, dense: RandomWeights.sparse(rows: 50, columns: 4 * b, density: 0.02, std: 1, using: &g))
        #expect(CSRKernel16(sparse).blocks == 1)
    }

    /// The portable Swift loops of the CSR, sell8, sellsigma(16) and sell16 kernels, which machines
    /// without AVX2+FMA (sell16 and sellsigma16: without AVX-512) run (this one may not), and CSR's AVX2 strips,
    /// which AVX-512 machines do not run by default.
    @Test(arguments: [0.0, 0.05, 0.5, 1.0])
    func portableLoopsMatchTheReference(density: Double) {
        for (rows, columns) in [(3, 7), (9, 64), (33, 129), (300, 784)] {
            for n in [1, 4, 7, 8, 33, 64, 100] {
                var g = SeededGenerator(seed: UInt64(rows * 1000 + n) &+ UInt64(density * 100))
                let w = RandomWeights.sparse(rows: rows, columns: columns, density: density, std: 1, using: &g)
                let x = (0..<(columns * n)).map { _ in g.normal() }
                let bias = (0..<rows).map { _ in g.normal() }
                let m = CSRMatrix(rows: rows, columns: columns, dense: w)
                let expected = Self.reference(w, rows: rows, columns: columns, x: x, n: n, bias: bias)
                let kernels: [any WeightKernel] = [CSRKernel16(m, portable: true), CSRKernel16(m, avx512: false), Sell8Kernel(m, portable: true),
                                                   SellSigmaKernel(m, portable: true), SellSigmaKernel(m, lanes: 16, portable: true),
                                                   Sell16Kernel(m, portable: true)]
                for (i, kernel) in kernels.enumerated() {
                    let y = kernel.multiply(x, n: n, bias: bias, threads: 2)
                    #expect(Self.close(y, expected), "\(kernel.name) (\(i)) \(rows)x\(columns), n \(n), density \(density)")
                }
            }
        }
    }

    @Test func emptyRowsColumnsAndSingleNonzeros() {
        // Rows 0, 2 and 4 empty, columns 1 and 3 empty; then one nonzero at each corner.
        let rows = 5, columns = 70
        var w = [Float](repeating: 0, count: rows * columns)
        for r in [1, 3] { for c in stride(from: 0, to: columns, by: 2) { w[r * columns + c] = Float(r * 100 + c) / 100 } }
        for n in [1, 8, 33] { Self.check(w, rows: rows, columns: columns, n: n, seed: 7) }
        for (r, c) in [(0, 0), (0, columns - 1), (rows - 1, 0), (rows - 1, columns - 1), (2, 64)] {
            var one = [Float](repeating: 0, count: rows * columns)
            one[r * columns + c] = -1.5
            for n in [1, 32, 37] { Self.check(one, rows: rows, columns: columns, n: n, seed: UInt64(r * 100 + c), withBias: false) }
        }
    }

    @Test func threadsSplitRowsWithoutChangingResults() {
        // Large enough that the kernels really split over threads (the last: csr's narrow path, whose
        // split counts 8 lanes per nonzero, on 4 columns).
        for (rows, columns, n, density) in [(300, 784, 64, 0.3), (1000, 4096, 1, 0.3), (100, 300, 64, 1.0), (257, 1000, 40, 0.2), (64, 576, 200, 0.1),
                                            (600, 1500, 40, 0.2), (800, 1500, 13, 0.4), (512, 2304, 4, 0.1)] {
            var g = SeededGenerator(seed: UInt64(rows * n))
            let w = RandomWeights.sparse(rows: rows, columns: columns, density: density, std: 1, using: &g)
            for threads in [2, 3] { Self.check(w, rows: rows, columns: columns, n: n, seed: UInt64(rows * n), threads: threads) }
        }
    }

    /// sell8 pads each slice's rows to the longest row in every 8-column block: here row 0 has two
    /// nonzeros in block 0 and row 1 one in block 1, so slice 0 keeps 3 slots of 8 lanes.
    @Test func sell8PadsSlicesToTheLongestRowPerBlock() {
        var w = [Float](repeating: 0, count: 2 * 16)
        (w[0], w[1], w[16 + 9]) = (1, 2, 3)
        let kernel = Sell8Kernel(CSRMatrix(rows: 2, columns: 16, dense: w))
        #expect(kernel.slots == 3)
        #expect(kernel.residentBytes == 4 * 2 + 3 * (4 + 8 + 32))
        #expect(kernel.multiplyAdds(n: 1) == 24)
        let x = (0..<16).map { Float($0 + 1) }
        let y: [Float] = kernel.multiply(x, n: 1, bias: [0.5, -1])
        #expect(y == [5.5, 29])  // 0.5 + 1·1 + 2·2 and −1 + 3·10
        // All-zero and 100% dense blocks: no slots, and exactly one slot per row of 8 nonzeros.
        #expect(Sell8Kernel(CSRMatrix(rows: 9, columns: 8, dense: [Float](repeating: 0, count: 72))).slots == 0)
        #expect(Sell8Kernel(CSRMatrix(rows: 9, columns: 8, dense: [Float](repeating: 1, count: 72))).slots == 2 * 8)
    }

    /// sell16 pads each 16-row slice to its longest row in every 32-column block, groups of four
    /// slices share the blocks: 70 rows x 40 columns are 2 groups x 2 blocks (the second 8 columns
    /// wide). Row 0 has 3 nonzeros in block 0 and row 5 one there (slice 0: 3 slots), row 17 one in
    /// block 1 (slice 1: 1 slot), row 69, in the second group's partial slice, two in block 1
    /// (2 slots): 6 slots of 16 lanes. Both loops; every row written, the empty ones with their bias.
    @Test(arguments: [false, true])
    func sell16PadsSlicesToTheLongestRowPerBlock(portable: Bool) {
        let (rows, columns) = (70, 40)
        var w = [Float](repeating: 0, count: rows * columns)
        (w[0], w[1], w[31]) = (1, 2, 3)
        w[5 * columns + 2] = 4
        w[17 * columns + 39] = 5
        (w[69 * columns + 32], w[69 * columns + 33]) = (6, 7)
        let kernel = Sell16Kernel(CSRMatrix(rows: rows, columns: columns, dense: w), portable: portable)
        #expect(kernel.slots == 6)
        #expect(kernel.multiplyAdds(n: 1) == 96)
        #expect(kernel.residentBytes == 2 * 2 * 4 + 8 * 3 + 6 * 16 * (1 + 4))
        let x = (0..<columns).map { Float($0 + 1) }
        let bias = (0..<rows).map { Float($0) / 4 }
        var expected = bias
        expected[0] += 1 * 1 + 2 * 2 + 3 * 32
        expected[5] += 4 * 3
        expected[17] += 5 * 40
        expected[69] += 6 * 33 + 7 * 34
        #expect(kernel.multiply(x, n: 1, bias: bias) == expected)
        // Two columns of X (x and -x): each column on its own, the results in place.
        var expected2: [Float] = []
        for r in 0..<rows { expected2 += [expected[r], 2 * bias[r] - expected[r]] }
        #expect(kernel.multiply(x.flatMap { [$0, -$0] }, n: 2, bias: bias) == expected2)
        // All-zero and 100% dense: no slots, and one slot per 16 rows (rounded up) and 32 columns.
        #expect(Sell16Kernel(CSRMatrix(rows: 17, columns: 33, dense: [Float](repeating: 0, count: 17 * 33)), portable: portable).slots == 0)
        #expect(Sell16Kernel(CSRMatrix(rows: 17, columns: 33, dense: [Float](repeating: 1, count: 17 * 33)), portable: portable).slots == 2 * 33)
    }

    /// sellsigma sorts rows by length and makes each slice as long as its longest row: rows of 3, 0,
    /// 1 and 5 nonzeros (with 5 more empty rows) are slice 0 = rows 3, 0, 2, 1, 4... (5 slots) and
    /// slice 1 = row 8 alone (0 slots); every row is written, the empty ones with their bias.
    @Test func sellsigmaSortsRowsAndPadsSlicesToTheirLongestRow() {
        var w = [Float](repeating: 0, count: 9 * 6)
        for c in 0..<3 { w[c] = Float(c + 1) }  // row 0: 1, 2, 3
        w[2 * 6 + 5] = 4  // row 2
        for c in 0..<5 { w[3 * 6 + c] = 1 }  // row 3: five ones
        let kernel = SellSigmaKernel(CSRMatrix(rows: 9, columns: 6, dense: w))
        #expect(kernel.slots == 5)
        #expect(kernel.multiplyAdds(n: 1) == 40)
        #expect(kernel.residentBytes == 4 * 3 + 4 * 9 + 5 * 8 * (4 + 2))  // 16-bit columns
        let x: [Float] = [1, 2, 3, 4, 5, 6]
        let bias = (0..<9).map { Float($0) / 2 }
        let y = kernel.multiply(x, n: 1, bias: bias)
        let expected: [Float] = [14, 0.5, 25, 16.5, 2, 2.5, 3, 3.5, 4]  // bias + 1·1 + 2·2 + 3·3, 4·6, 1 + ... + 5
        #expect(y == expected)
        // Two columns of X (x and -x): each column on its own, the results in place.
        let y2 = kernel.multiply(x.flatMap { [$0, -$0] }, n: 2, bias: bias)
        var expected2: [Float] = []
        for r in 0..<9 { expected2 += [expected[r], 2 * bias[r] - expected[r]] }
        #expect(y2 == expected2)
        #expect(SellSigmaKernel(CSRMatrix(rows: 9, columns: 8, dense: [Float](repeating: 0, count: 72))).slots == 0)
        #expect(SellSigmaKernel(CSRMatrix(rows: 9, columns: 8, dense: [Float](repeating: 1, count: 72))).slots == 2 * 8)
    }

    /// sellsigma16 takes 16 sorted rows per slice: 20 rows where row r has r % 7 nonzeros give
    /// slice 0 = the 16 longest (6, 6, 5, 5, 5, ..., 1, 1: 6 slots) and slice 1 = the 4 shortest
    /// (1, 0, 0, 0: 1 slot); both loops agree with the plain product, every row written once.
    @Test(arguments: [false, true])
    func sellsigma16TakesSixteenSortedRowsPerSlice(portable: Bool) {
        let (rows, columns) = (20, 40)
        var w = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for k in 0..<(r % 7) { w[r * columns + (5 * r + 7 * k) % columns] = Float(k + 1) + Float(r) / 8 }
        }
        let kernel = SellSigmaKernel(CSRMatrix(rows: rows, columns: columns, dense: w), lanes: 16, portable: portable)
        #expect(kernel.name == "sellsigma16" && kernel.lanes == 16)
        #expect(kernel.slots == 7)
        #expect(kernel.multiplyAdds(n: 3) == 16 * 7 * 3)
        #expect(kernel.residentBytes == 4 * 3 + 4 * rows + 7 * 16 * (4 + 2))
        var g = SeededGenerator(seed: 16)
        for n in [1, 3] {
            let x = (0..<(columns * n)).map { _ in g.normal() }
            let bias = (0..<rows).map { _ in g.normal() }
            let expected = Self.reference(w, rows: rows, columns: columns, x: x, n: n, bias: bias)
            #expect(Self.close(kernel.multiply(x, n: n, bias: bias), expected), "n \(n), portable \(portable)")
        }
        #expect(SellSigmaKernel(CSRMatrix(rows: 17, columns: 8, dense: [Float](repeating: 1, count: 136)), lanes: 16).slots == 2 * 8)
    }

    @Test func residentBytesReflectTheStorage() {
        var g = SeededGenerator(seed: 11)
        let w = RandomWeights.sparse(rows: 300, columns: 784, density: 0.02, std: 1, using: &g)
        let m = CSRMatrix(rows: 300, columns: 784, dense: w)
        let dense = KernelTable.dense.make(m), csr = KernelTable.csr.make(m), bitmask = KernelTable.bitmask.make(m)
        #expect(dense.residentBytes == 4 * 300 * 784)
        // 16-bit column indices: 6 bytes per nonzero plus row starts.
        #expect(csr.residentBytes == 6 * m.nnz + 4 * 301)
        #expect(bitmask.residentBytes == 300 * 13 * 8 + 4 * 301 + 4 * m.nnz)
        #expect(csr.multiplyAdds(n: 64) == m.nnz * 64 && dense.multiplyAdds(n: 64) == 300 * 784 * 64)
        // Wide matrices fall back to 32-bit indices.
        let wide = CSRMatrix(rows: 1, columns: 70_000, rowPointers: [0, 1], columnIndices: [69_999], values: [2])
        #expect(KernelTable.csr.make(wide).residentBytes == 8 + 8)
        #expect(KernelTable.csr.make(wide).multiply([Float](repeating: 1, count: 70_000), n: 1) == [2])
        // sellsigma too, with both its loops: three rows reading columns past 65,535 (which 16-bit
        // indices would wrap onto the first columns).
        let wideRows = CSRMatrix(rows: 3, columns: 70_000, rowPointers: [0, 2, 2, 3], columnIndices: [5, 69_999, 65_536], values: [2, 3, 4])
        let xWide = (0..<70_000).map { Float($0 % 7) }
        let expectedWide: [Float] = [1 + 2 * 5 + 3 * 6, 2, 3 + 4 * 2]  // x[69_999] = 6, x[65_536] = 2
        for portable in [false, true] {
            for lanes in [8, 16] {
                let kernel = SellSigmaKernel(wideRows, lanes: lanes, portable: portable)
                #expect(kernel.residentBytes == 4 * 2 + 4 * 3 + 2 * lanes * (4 + 4))
                #expect(kernel.multiply(xWide, n: 1, bias: [1, 2, 3]) == expectedWide, "portable \(portable), lanes \(lanes)")
            }
        }
    }
}
