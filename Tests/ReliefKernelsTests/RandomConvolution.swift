import ReliefFormat
import ReliefKernels
import ReliefRandom

/// A seeded test case of a stride-1 convolution with a square kernel: random sparse weights, input
/// `[C][B][H][W]` and bias, and the direct convolution of those weights (splitting between threads
/// at any size, `threadWork: 1`; `avx512: false` keeps the interleaved path on its AVX2 tiles).
struct RandomConvolution {
    let weights: [Float], input: [Float], bias: [Float]
    let convolution: DirectSparseConvolution

    init(filters o: Int, channels c: Int, kernel k: Int, padding p: Int, height h: Int, width w: Int, batch b: Int,
         density: Double, seed: UInt64, avx512: Bool = true, strips: Bool = false) {
        var g = SeededGenerator(seed: seed)
        let columns = c * k * k
        weights = RandomWeights.sparse(rows: o, columns: columns, density: density, std: 1, using: &g)
        input = (0..<(c * b * h * w)).map { _ in g.normal() }
        bias = (0..<o).map { _ in g.normal() }
        convolution = DirectSparseConvolution(CSRMatrix(rows: o, columns: columns, dense: weights), inChannels: c, kernel: (k, k),
                                              stride: (1, 1), padding: (p, p), avx512: avx512, threadWork: 1, strips: strips)
    }
}
