import ReliefRandom
import ReliefRuntime
import Testing

/// `Im2Col.fill` (C: a zeros-copy-zeros run per output row, or copies from a zero-padded plane for
/// small maps) against the element-by-element definition: small maps (VGG's 4x4 and 2x2), padding
/// wider than some taps reach, strides, and kernels that reach past the image on every side.
@Suite struct Im2ColTests {
    @Test func fillMatchesTheDefinition() {
        // (channels, batch, h, w, kernel, stride, padding)
        let cases: [(Int, Int, Int, Int, (Int, Int), (Int, Int), (Int, Int))] = [
            (3, 2, 2, 2, (3, 3), (1, 1), (1, 1)), (2, 1, 4, 4, (3, 3), (1, 1), (1, 1)), (2, 3, 8, 8, (3, 3), (1, 1), (1, 1)),
            (1, 2, 5, 7, (3, 3), (2, 2), (1, 1)), (2, 1, 6, 6, (1, 1), (2, 2), (0, 0)), (1, 1, 3, 3, (5, 5), (1, 1), (2, 2)),
            (2, 2, 20, 18, (3, 3), (1, 1), (1, 1)), (1, 1, 4, 9, (2, 4), (1, 3), (0, 2)), (1, 2, 1, 1, (3, 3), (1, 1), (1, 1)),
            // Small maps through the padded plane on the stack (fixed-size copies for 2, 4 and 8
            // columns), a valid one, and one whose padded plane is too large for it.
            (2, 2, 6, 6, (3, 3), (1, 1), (0, 0)), (1, 2, 7, 7, (3, 3), (1, 1), (1, 1)), (1, 1, 600, 6, (3, 3), (1, 1), (1, 1)),
        ]
        for (i, (c, b, h, w, k, s, p)) in cases.enumerated() {
            let geometry = InferenceModel.Geometry(kernel: k, stride: s, padding: p)
            let oh = (h + 2 * p.0 - k.0) / s.0 + 1, ow = (w + 2 * p.1 - k.1) / s.1 + 1
            var g = SeededGenerator(seed: UInt64(i + 1))
            let x = (0..<(c * b * h * w)).map { _ in g.normal() }
            let count = c * k.0 * k.1 * b * oh * ow
            // Filled with NaN first: a position either function skipped would not compare equal.
            var fast = [Float](repeating: .nan, count: count), plain = fast
            fast.withUnsafeMutableBufferPointer { f in
                Im2Col.fill(f.baseAddress!, from: x, channels: c, batch: b, height: h, width: w, geometry: geometry, outHeight: oh, outWidth: ow)
            }
            plain.withUnsafeMutableBufferPointer { f in
                Im2Col.reference(f.baseAddress!, from: x, channels: c, batch: b, height: h, width: w, geometry: geometry, outHeight: oh, outWidth: ow)
            }
            // Bit-for-bit: both only copy (NaN never equals itself, so a position skipped by either fails).
            let first = zip(fast, plain).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(first == nil, "case \(i): \(c)x\(b)x\(h)x\(w), kernel \(k), stride \(s), padding \(p) (seed \(i + 1)): first difference at \(first ?? -1)")
        }
    }
}
