import ReliefKernels
import Testing

/// The aligned buffers kernels are timed on.
@Suite struct AlignedFloatsTests {
    /// Cache-line aligned, zeroed or copied as asked, and the timing pattern (computed for its first
    /// period and copied after) equal to its formula at every index, around the period's edges.
    @Test func buffersAreAlignedAndHoldWhatWasAsked() {
        for count in [0, 1, 7, 999, 1000, 1001, 2000, 2500, 4097] {
            let pattern = AlignedFloats(patternCount: count)
            #expect(Int(bitPattern: pattern.pointer) % 64 == 0)
            let expected = (0..<count).map { Float(($0 &* 2_654_435_761) % 1000) / 1000 - 0.5 }
            #expect(pattern.array == expected, "pattern of \(count)")
            let zeros = AlignedFloats(count: count)
            #expect(Int(bitPattern: zeros.pointer) % 64 == 0 && zeros.array.allSatisfy { $0 == 0 })
            #expect(AlignedFloats(count: count, repeating: 2.5).array.allSatisfy { $0 == 2.5 })
            #expect(AlignedFloats(expected).array == expected)
        }
    }
}
