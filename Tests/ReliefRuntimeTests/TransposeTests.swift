import ReliefRandom
import ReliefRuntime
import Testing

/// The flattening transpose against a plain loop, on sizes around its 8 x 8 register blocks.
@Suite struct TransposeTests {
    @Test func matchesThePlainLoop() {
        let sizes = [1, 7, 8, 9, 15, 16, 17, 64, 65]
        for rows in sizes {
            for columns in sizes {
                let seed = UInt64(rows * 100 + columns)
                var g = SeededGenerator(seed: seed)
                let a = (0..<(rows * columns)).map { _ in g.normal() }
                var expected = [Float](repeating: 0, count: rows * columns)
                for i in 0..<rows { for j in 0..<columns { expected[j * rows + i] = a[i * columns + j] } }
                for portable in [false, true] {
                    var out = [Float](repeating: .nan, count: rows * columns)
                    a.withUnsafeBufferPointer { ap in
                        out.withUnsafeMutableBufferPointer { Transpose.run(ap.baseAddress!, rows: rows, columns: columns, into: $0.baseAddress!, portable: portable) }
                    }
                    #expect(out == expected, "\(rows) x \(columns), portable \(portable), seed \(seed)")
                }
            }
        }
    }

    /// The transpose of listed columns only: runs of 8 and more consecutive columns (register blocks),
    /// runs of 7, single columns, all columns and none, on row counts around 8.
    @Test func gatheredColumnsMatchThePlainLoop() {
        let columns = 40
        let lists: [[Int32]] = [
            Array(0..<40), [], [39], Array(3..<11) + [13, 15] + Array(20..<27) + Array(30..<39), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18],
            Array(1..<9) + Array(9..<17) + [17],
        ]
        for rows in [1, 7, 8, 9, 15, 16, 17, 33, 64] {
            for (l, kept) in lists.enumerated() {
                let seed = UInt64(rows * 10 + l)
                var g = SeededGenerator(seed: seed)
                let a = (0..<(rows * columns)).map { _ in g.normal() }
                var expected = [Float](repeating: 0, count: rows * kept.count)
                for i in 0..<rows { for j in kept.indices { expected[j * rows + i] = a[i * columns + Int(kept[j])] } }
                for (portable, avx512) in [(false, true), (false, false), (true, false)] {
                    var out = [Float](repeating: .nan, count: rows * kept.count)
                    a.withUnsafeBufferPointer { ap in
                        out.withUnsafeMutableBufferPointer {
                            Transpose.gather(ap.baseAddress!, rows: rows, columns: columns, keeping: kept, into: $0.baseAddress!,
                                             portable: portable, avx512: avx512)
                        }
                    }
                    #expect(out == expected, "\(rows) rows, list \(l), portable \(portable), AVX-512 \(avx512), seed \(seed)")
                }
            }
        }
    }
}
