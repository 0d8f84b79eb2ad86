import ReliefRandom
import ReliefRuntime
import Testing

/// `Im2Col.fill` (C: a zeros-copy-zeros run per output row, copies from a zero-padded plane for
/// small maps, or at stride 2 unchecked reads of a padded copy, 8 outputs a step) against the
/// element-by-element definition: small maps (VGG's 4x4 and 2x2), padding wider than some taps
/// reach, strides, and kernels that reach past the image on every side; on one thread and split
/// between threads by channels.
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
            // Stride 2 (ResNet's downsampling): output widths below, at and past the 8-output steps
            // (16, 17, 5, 7, 21), padding 0 to 3, kernels 1 to 5, several images.
            (2, 3, 32, 32, (3, 3), (2, 2), (1, 1)), (3, 2, 17, 33, (3, 3), (2, 2), (1, 1)), (1, 1, 9, 9, (1, 1), (2, 2), (0, 0)),
            (2, 2, 16, 16, (3, 3), (2, 2), (0, 0)), (1, 3, 10, 40, (4, 4), (2, 2), (2, 2)), (2, 1, 5, 7, (3, 3), (2, 2), (2, 2)),
            (1, 2, 3, 3, (5, 5), (2, 2), (3, 3)), (2, 2, 1, 1, (3, 3), (2, 2), (1, 1)),
        ]
        for (i, (c, b, h, w, k, s, p)) in cases.enumerated() {
            let geometry = InferenceModel.Geometry(kernel: k, stride: s, padding: p)
            let oh = (h + 2 * p.0 - k.0) / s.0 + 1, ow = (w + 2 * p.1 - k.1) / s.1 + 1
            var g = SeededGenerator(seed: UInt64(i + 1))
            let x = (0..<(c * b * h * w)).map { _ in g.normal() }
            let count = c * k.0 * k.1 * b * oh * ow
            // Filled with NaN first: a position either function skipped would not compare equal.
            var plain = [Float](repeating: .nan, count: count)
            var fast = [Float](repeating: .nan, count: count + Im2Col.extraFloats(channels: c, batch: b, height: h, width: w, geometry: geometry))
            fast.withUnsafeMutableBufferPointer { f in
                Im2Col.fill(f.baseAddress!, from: x, channels: c, batch: b, height: h, width: w, geometry: geometry, outHeight: oh, outWidth: ow)
            }
            plain.withUnsafeMutableBufferPointer { f in
                Im2Col.reference(f.baseAddress!, from: x, channels: c, batch: b, height: h, width: w, geometry: geometry, outHeight: oh, outWidth: ow)
            }
            // Bit-for-bit: both only copy (NaN never equals itself, so a position skipped by either fails).
            let first = zip(fast.prefix(count), plain).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(first == nil, "case \(i): \(c)x\(b)x\(h)x\(w), kernel \(k), stride \(s), padding \(p) (seed \(i + 1)): first difference at \(first ?? -1)")
            // Split between 2 and 3 threads from the first float (more threads than channels included).
            for threads in [2, 3] {
                var split = [Float](repeating: .nan, count: fast.count)
                split.withUnsafeMutableBufferPointer { f in
                    Im2Col.fill(f.baseAddress!, from: x, channels: c, batch: b, height: h, width: w, geometry: geometry, outHeight: oh, outWidth: ow,
                                threads: threads, splitFloats: 0)
                }
                let differs = zip(split.prefix(count), plain).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                #expect(differs == nil, "case \(i) on \(threads) threads (seed \(i + 1)): first difference at \(differs ?? -1)")
            }
        }
    }
}
