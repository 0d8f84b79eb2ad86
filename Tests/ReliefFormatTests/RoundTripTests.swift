import ReliefFormat
import ReliefRandom
import Testing

@Suite struct RoundTripTests {
    static let densities: [Double] = [0, 0.01, 0.05, 0.1, 0.5, 0.9, 1]

    /// read(write(x)) == x bit for bit, for random shapes, every density and every encoding.
    @Test(arguments: 0..<24)
    func randomTensorsRoundTrip(seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        var tensors: [RLFTensor] = []
        for (k, density) in Self.densities.enumerated() {
            let rank = Int(g.next() % 5)
            let shape = (0..<rank).map { _ in Int(g.next() % 9) + (g.next() % 7 == 0 ? 0 : 1) }
            tensors.append(randomTensor(name: "t\(k)", shape: shape, density: density, using: &g))
        }
        let m = model(tensors)
        for allowed in [[TensorEncoding.dense], [.csr], [.bitmask], TensorEncoding.allCases] {
            let bytes = try RLFWriter(allowedEncodings: Set(allowed)).encode(m)
            let file = try RLFReader.read(bytes: bytes)
            #expect(file.tensors.count == tensors.count, "seed \(seed)")
            for (written, read) in zip(tensors, file.tensors) {
                #expect(read.sameContents(as: written), "seed \(seed), tensor \(written.name) \(written.shape), encodings \(allowed)")
                if allowed.count == 1 { #expect(read.encoding == allowed[0], "seed \(seed)") }
            }
            #expect(file.metadata == m.metadata)
        }
    }

    /// A bitmask matrix turned into CSR straight from its set bits equals the dense route's CSR,
    /// for rows ending inside a mask byte or spanning 64-bit words, empty and full rows, every density, and -0.0
    /// (kept) beside a present +0.0 (dropped, as the dense route drops it).
    @Test(arguments: 0..<12)
    func bitmaskToCSRMatchesTheDenseRoute(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        for (k, density) in Self.densities.enumerated() {
            // Narrow rows end inside a mask byte; wide ones span several 64-bit words.
            let rows = Int(g.next() % 9), columns = k % 2 == 0 ? Int(g.next() % 21) : 60 + Int(g.next() % 150)
            var dense = (0..<(rows * columns)).map { _ in Double(g.next() % 1000) / 1000 < density ? Float(g.normal()) : 0 }
            if dense.count > 2 { dense[0] = -0.0; dense[dense.count - 1] = 1 }
            let bitmask = BitmaskMatrix(rows: rows, columns: columns, dense: dense)
            let direct = CSRMatrix(bitmask), viaDense = CSRMatrix(rows: rows, columns: columns, dense: bitmask.dense())
            #expect(direct.rowPointers == viaDense.rowPointers && direct.columnIndices == viaDense.columnIndices
                    && direct.values.map(\.bitPattern) == viaDense.values.map(\.bitPattern),
                    "seed \(seed), \(rows)x\(columns) at density \(density)")
        }
        // A stored +0.0 is present in the mask but is no nonzero.
        let stored = BitmaskMatrix(rows: 2, columns: 3, mask: [0b0010_0101], values: [0, 2, -0.0])
        let m = CSRMatrix(stored)
        #expect(m.rowPointers == [0, 1, 2] && m.columnIndices == [2, 2] && m.values.map(\.bitPattern) == [Float(2).bitPattern, Float(-0.0).bitPattern],
                "seed \(seed)")
    }

    /// Keeping some rows or some columns of a CSR matrix equals selecting them from its dense form,
    /// with none, one and all kept, empty rows and -0.0 values among them.
    @Test(arguments: 0..<12)
    func keptRowsAndColumnsMatchTheDenseSelection(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        for density in Self.densities {
            let rows = Int(g.next() % 12), columns = Int(g.next() % 40)
            var dense = (0..<(rows * columns)).map { _ in Double(g.next() % 1000) / 1000 < density ? Float(g.normal()) : 0 }
            if dense.count > 1 { dense[1] = -0.0 }
            let m = CSRMatrix(rows: rows, columns: columns, dense: dense)
            for choice in 0..<4 {
                func pick(_ n: Int) -> [Int] {
                    switch choice {
                    case 0: []
                    case 1: n == 0 ? [] : [Int(g.next() % UInt64(n))]
                    case 2: Array(0..<n)
                    default: (0..<n).filter { _ in g.next() % 2 == 0 }
                    }
                }
                let keptRows = pick(rows), keptColumns = pick(columns)
                let byRows = m.keepingRows(keptRows)
                let denseRows = keptRows.flatMap { r in dense[(r * columns)..<((r + 1) * columns)] }
                let expectedRows = CSRMatrix(rows: keptRows.count, columns: columns, dense: denseRows)
                #expect(byRows.rows == keptRows.count && byRows.rowPointers == expectedRows.rowPointers
                        && byRows.columnIndices == expectedRows.columnIndices && byRows.values.map(\.bitPattern) == expectedRows.values.map(\.bitPattern),
                        "seed \(seed), \(rows)x\(columns), rows \(keptRows)")
                let byColumns = m.keepingColumns(keptColumns)
                let denseColumns = (0..<rows).flatMap { r in keptColumns.map { dense[r * columns + $0] } }
                let expectedColumns = CSRMatrix(rows: rows, columns: keptColumns.count, dense: denseColumns)
                #expect(byColumns.columns == keptColumns.count && byColumns.rowPointers == expectedColumns.rowPointers
                        && byColumns.columnIndices == expectedColumns.columnIndices
                        && byColumns.values.map(\.bitPattern) == expectedColumns.values.map(\.bitPattern),
                        "seed \(seed), \(rows)x\(columns), columns \(keptColumns)")
            }
        }
    }

    /// The edge cases named in the format's requirements, one by one.
    @Test func edgeCases() throws {
        let cases: [RLFTensor] = [
            RLFTensor(name: "empty-matrix", shape: [0, 0], values: []),
            RLFTensor(name: "no-rows", shape: [0, 5], values: []),
            RLFTensor(name: "no-columns", shape: [4, 0], values: []),
            RLFTensor(name: "all-zero", shape: [3, 4], values: [Float](repeating: 0, count: 12)),
            RLFTensor(name: "one-nonzero", shape: [3, 4], values: [0, 0, 0, 0, 0, 0, 0, -1.5, 0, 0, 0, 0]),
            RLFTensor(name: "empty-rows", shape: [4, 3], values: [0, 0, 0, 1, 2, 3, 0, 0, 0, 4, 0, 0]),
            RLFTensor(name: "dense", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
            RLFTensor(name: "negative-zero", shape: [2], values: [-0.0, 0]),
            RLFTensor(name: "scalar", shape: [], values: [42]),
            RLFTensor(name: "rank-8", shape: [2, 1, 1, 1, 1, 1, 1, 2], values: [0, 1, 0, 2]),
            RLFTensor(name: "wide-row", shape: [1, 70_000], values: (0..<70_000).map { $0 == 69_999 || $0 == 3 ? 1 : 0 }),
        ]
        for encodings in [[TensorEncoding.dense], [.csr], [.bitmask], TensorEncoding.allCases] {
            let file = try RLFReader.read(bytes: try RLFWriter(allowedEncodings: Set(encodings)).encode(model(cases)))
            for (a, b) in zip(cases, file.tensors) {
                #expect(b.sameContents(as: a), "\(a.name) with \(encodings)")
            }
        }
    }

    /// A valid but enormous sparse tensor (2^31 - 1 columns, two nonzeros) is written and read
    /// without ever being expanded to its 8 GB dense form (found by the fuzzer in its harness).
    @Test func hugeSparseTensorIsNeverDensified() throws {
        let columns = Int(Int32.max)
        let m = CSRMatrix(rows: 1, columns: columns, rowPointers: [0, 2], columnIndices: [5, Int32(columns - 1)], values: [1, -2])
        let t = RLFTensor(name: "huge", shape: [1, columns], storage: .csr(m))
        let file = try RLFReader.read(bytes: try RLFWriter(allowedEncodings: [.csr, .dense]).encode(model([t])))
        guard case let .csr(read) = file.tensors[0].storage else {
            Issue.record("expected CSR, got \(file.tensors[0].encoding)")
            return
        }
        #expect(read.columnIndices == [5, Int32(columns - 1)] && read.values == [1, -2] && read.columns == columns)
    }

    /// Tensors handed to the writer already in CSR or bitmask form come back the same.
    @Test func sparseInputsRoundTrip() throws {
        var g = SeededGenerator(seed: 99)
        let dense = randomTensor(name: "w", shape: [17, 33], density: 0.2, using: &g)
        for encoding in TensorEncoding.allCases {
            let held = dense.converted(to: encoding)
            #expect(held.sameContents(as: dense))
            let file = try RLFReader.read(bytes: try RLFWriter().encode(model([held])))
            #expect(file.tensors[0].sameContents(as: dense), "held as \(encoding)")
        }
    }

    /// The writer keeps the smallest candidate: never larger than any single encoding forced.
    @Test(arguments: densities)
    func writerChoosesSmallest(density: Double) throws {
        var g = SeededGenerator(seed: UInt64(density * 1000))
        let t = randomTensor(name: "w", shape: [64, 200], density: density, using: &g)
        func tensorBytes(_ allowed: Set<TensorEncoding>) throws -> UInt64 {
            try RLFReader.read(bytes: try RLFWriter(allowedEncodings: allowed).encode(model([t]))).sections[2].storedSize
        }
        let chosen = try tensorBytes(Set(TensorEncoding.allCases))
        for e in TensorEncoding.allCases {
            #expect(chosen <= (try tensorBytes([e])), "density \(density): \(e) is smaller than the writer's choice")
        }
    }

    @Test func sizesAtLowDensityMeetTheTarget() throws {
        // At most 5 bytes per nonzero for float32 values at 1-10% density (issue 2's target).
        var g = SeededGenerator(seed: 7)
        for density in [0.01, 0.02, 0.05, 0.1] {
            let t = randomTensor(name: "w", shape: [300, 784], density: density, using: &g)
            let file = try RLFReader.read(bytes: try RLFWriter().encode(model([t])))
            let perNonzero = Double(file.sections[2].storedSize) / Double(t.nnz)
            #expect(perNonzero <= 5, "density \(density): \(perNonzero) bytes per nonzero")
        }
    }
}
