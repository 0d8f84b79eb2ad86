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
}
