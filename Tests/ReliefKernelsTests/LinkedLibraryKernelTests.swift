import ReliefFormat
import ReliefKernels
import ReliefKernelsCHOLMOD
import ReliefRandom
import Testing

/// OpenBLAS against a plain reference, so the library is shown to link and compute the right thing
/// (CXSparse and CHOLMOD are covered with every other kernel by `KernelTableTests`).
@Suite struct LinkedLibraryKernelTests {
    /// Plain `y = W · x` for a row-major `rows x columns` W and a column-major batch of inputs.
    static func reference(_ w: [Float], rows: Int, columns: Int, x: [Float], batch: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * batch)
        for b in 0..<batch {
            for r in 0..<rows {
                var s: Double = 0
                for c in 0..<columns { s += Double(w[r * columns + c]) * Double(x[b * columns + c]) }
                y[b * rows + r] = Float(s)
            }
        }
        return y
    }

    static let shapes: [(Int, Int)] = [(1, 1), (7, 1), (1, 9), (16, 16), (17, 33), (64, 65), (0, 5), (5, 0)]
    static let densities: [Double] = [0, 0.01, 0.1, 0.5, 1]

    func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    /// Which OpenBLAS core Relief restarts with: a vector one for a CPU OpenBLAS took for an older
    /// one, never over the user's OPENBLAS_CORETYPE, never a core the CPU cannot run.
    @Test func fasterCoreTypeOnlyReplacesFallbackCores() {
        #expect(DenseBLAS.fasterCoreType(core: "Prescott", environment: [:], avx2FMA: true, avx512: true) == "SkylakeX")
        #expect(DenseBLAS.fasterCoreType(core: "Sandybridge", environment: [:], avx2FMA: true, avx512: false) == "Haswell")
        #expect(DenseBLAS.fasterCoreType(core: "Prescott", environment: [:], avx2FMA: false, avx512: false) == nil)
        #expect(DenseBLAS.fasterCoreType(core: "Prescott", environment: ["OPENBLAS_CORETYPE": "Core2"], avx2FMA: true, avx512: true) == nil)
        for core in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"] {
            #expect(DenseBLAS.fasterCoreType(core: core, environment: [:], avx2FMA: true, avx512: true) == nil, "\(core)")
        }
    }

    @Test func openBLASMatchesReference() {
        for (seedOffset, (m, k)) in Self.shapes.enumerated() {
            for n in [1, 4, 33] {
                var g = SeededGenerator(seed: UInt64(seedOffset * 100 + n))
                let a = (0..<(m * k)).map { _ in g.normal() }
                let b = (0..<(k * n)).map { _ in g.normal() }
                var c = [Float](repeating: .nan, count: m * n)
                DenseBLAS.multiply(m: m, n: n, k: k, a: a, b: b, c: &c)
                // Reference: each column of B is one input of A; the reference returns them column-major.
                let columnsOfB = (0..<n).flatMap { j in (0..<k).map { t in b[t * n + j] } }
                let y = Self.reference(a, rows: m, columns: k, x: columnsOfB, batch: n)
                let expected = (0..<(m * n)).map { y[($0 % n) * m + $0 / n] }
                #expect(close(c, expected), "\(m)x\(k)·\(k)x\(n), seed \(seedOffset * 100 + n)")
            }
        }
        // OpenBLAS's results depend on its thread count; DenseBLAS keeps it at one (the process
        // default here is one per core), so training stays reproducible whatever runs beside it.
        #expect(DenseBLAS.threadCount == 1)
    }
}
