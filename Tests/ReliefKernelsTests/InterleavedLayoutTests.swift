import ReliefFormat
import ReliefKernels
import ReliefRandom
import Testing

/// The batch-interleaved direct convolution reading and writing `ActivationLayout.interleaved`
/// activations gives, pixel for pixel, what it gives planar (itself checked against a plain
/// convolution in `DirectConvolutionTests`), and writes zero borders.
@Suite struct InterleavedLayoutTests {
    /// Both bordered layouts, `.interleaved` and `.padded` (`PaddedLayoutTests`), against their sizes.
    @Test func packAndUnpackAreInverse() {
        var g = SeededGenerator(seed: 5)
        for (c, b, h, w, py, px) in [(2, 8, 3, 4, 1, 1), (3, 11, 2, 2, 0, 0), (1, 17, 5, 1, 2, 0), (2, 1, 3, 4, 1, 1), (3, 2, 2, 2, 2, 1)] {
            let x = (0..<(c * b * h * w)).map { _ in g.normal() }
            let layouts: [(ActivationLayout, Int)] = [
                (.interleaved(padY: py, padX: px), c * ((b + 7) / 8 * 8) * (h + 2 * py) * (w + 2 * px)),
                (.padded(padY: py, padX: px), c * (py + b * (h + py) + 1) * (w + px) + 64),
            ]
            for (layout, size) in layouts {
                let packed = layout.pack(x, channels: c, batch: b, height: h, width: w)
                #expect(packed.count == layout.floats(channels: c, batch: b, height: h, width: w))
                #expect(packed.count == size, "\(layout)")
                let back = packed.withUnsafeBufferPointer { layout.unpack($0.baseAddress!, channels: c, batch: b, height: h, width: w) }
                #expect(back == x, "seed 5, \(layout), \(c) x \(b) x \(h) x \(w)")
                // Exactly the real pixels are nonzero (normal draws are never exactly 0).
                #expect(packed.filter { $0 != 0 }.count == x.count, "\(layout)")
            }
        }
    }

    /// With 512-bit tiles where the CPU has AVX-512 (`avx512`), and with 8-entry AVX2 tiles.
    @Test(arguments: [0.1, 0.3, 1.0], [true, false])
    func interleavedInputsAndOutputsMatchPlanar(density: Double, avx512: Bool) throws {
        guard SIMDSupport.avx2FMA else { return }
        // (filters, channels, kernel, padding, size, batch): a partial last group of images, two channel
        // blocks, 8x8 / 4x4 / 2x2 planes, a valid convolution (4x4 out), 1x1 kernels on 3x3 (pooled 1x1:
        // the last row and column dropped, and a chunk of 8 entries spans two image groups) and on 5x5
        // (pooled 2x2, a last group of one image).
        let cases: [(o: Int, c: Int, k: Int, p: Int, h: Int, b: Int)] = [
            (12, 20, 3, 1, 4, 11), (40, 36, 3, 1, 2, 16), (16, 48, 3, 1, 8, 8), (9, 24, 3, 0, 6, 19), (10, 160, 1, 0, 3, 12),
            (8, 40, 1, 0, 5, 9),
        ]
        for (i, t) in cases.enumerated() {
            let seed = UInt64(i) &* 31 &+ UInt64(density * 100)
            let r = RandomConvolution(filters: t.o, channels: t.c, kernel: t.k, padding: t.p, height: t.h, width: t.h, batch: t.b,
                                      density: density, seed: seed, avx512: avx512)
            let (w, x, bias, conv) = (r.weights, r.input, r.bias, r.convolution)
            let columns = t.c * t.k * t.k
            let (oh, ow) = conv.outputSize(height: t.h, width: t.h)
            guard conv.interleaves(batch: t.b, outHeight: oh, outWidth: ow) else {
                // Only too few weights per filter, or row tiles (full filters on 8x8 and larger), keep it planar.
                let sparse = CSRMatrix(rows: t.o, columns: columns, dense: w).nnz < DirectSparseConvolution.interleavedWeightsPerFilter * t.o
                #expect(sparse || (conv.rowTiles && oh >= 8), "case \(i) should interleave, seed \(seed)")
                continue
            }
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: conv.scratchBytes(batch: t.b, height: t.h, width: t.h), alignment: 64)
            defer { scratch.deallocate() }
            func run(_ input: [Float], _ inLayout: ActivationLayout, _ outLayout: ActivationLayout, threads: Int, pooled: Bool = false) -> [Float] {
                let count = pooled ? outLayout.floats(channels: t.o, batch: t.b, height: oh / 2, width: ow / 2)
                    : outLayout.floats(channels: t.o, batch: t.b, height: oh, width: ow)
                var y = [Float](repeating: .nan, count: count)
                input.withUnsafeBufferPointer { xp in
                    bias.withUnsafeBufferPointer { bp in
                        y.withUnsafeMutableBufferPointer { yp in
                            conv.run(xp.baseAddress!, batch: t.b, height: t.h, width: t.h, outHeight: oh, outWidth: ow, bias: bp.baseAddress!,
                                     into: yp.baseAddress!, threads: threads, scratch: scratch, relu: true, input: inLayout, output: outLayout,
                                     pooled: pooled)
                        }
                    }
                }
                return y
            }
            let planar = run(x, .planar, .planar, threads: 1)
            let inLayout = ActivationLayout.interleaved(padY: t.p, padX: t.p)
            let packed = inLayout.pack(x, channels: t.c, batch: t.b, height: t.h, width: t.h)
            for outLayout in [ActivationLayout.planar, .interleaved(padY: 0, padX: 0), .interleaved(padY: 1, padX: 1), .interleaved(padY: 2, padX: 1)] {
                for (input, layout) in [(x, ActivationLayout.planar), (packed, inLayout)] where (layout, outLayout) != (.planar, .planar) {
                    for threads in [1, 2] {
                        let y = run(input, layout, outLayout, threads: threads)
                        let real = y.withUnsafeBufferPointer { outLayout.unpack($0.baseAddress!, channels: t.o, batch: t.b, height: oh, width: ow) }
                        let same = real == planar
                        #expect(same, "case \(i), density \(density), in \(layout), out \(outLayout), \(threads) threads, seed \(seed)")
                        // Every float that is no pixel is a zero border; lanes of images past the batch are finite.
                        let bordersZero = y.indices.allSatisfy { !outLayout.isBorder($0, height: oh, width: ow) || y[$0] == 0 }
                        let lanesFinite = y.allSatisfy(\.isFinite)
                        #expect(bordersZero && lanesFinite, "case \(i), out \(outLayout), seed \(seed)")
                    }
                }
            }
            // A 2x2 max pooling of stride 2 fused into the writes (odd sizes drop their last row or
            // column), from either input layout into planar and interleaved outputs.
            let (ph, pw) = (oh / 2, ow / 2)
            guard ph >= 1 && pw >= 1 else { continue }
            var pooled = [Float](repeating: 0, count: t.o * t.b * ph * pw)
            for f in 0..<t.o { for n in 0..<t.b { for y in 0..<ph { for x in 0..<pw {
                let at = { (dy: Int, dx: Int) in planar[((f * t.b + n) * oh + 2 * y + dy) * ow + 2 * x + dx] }
                pooled[((f * t.b + n) * ph + y) * pw + x] = max(max(at(0, 0), at(0, 1)), max(at(1, 0), at(1, 1)))
            } } } }
            for outLayout in [ActivationLayout.planar, .interleaved(padY: 1, padX: 1)] {
                for (input, layout) in [(x, ActivationLayout.planar), (packed, inLayout)] {
                    let y = run(input, layout, outLayout, threads: 2, pooled: true)
                    let real = y.withUnsafeBufferPointer { outLayout.unpack($0.baseAddress!, channels: t.o, batch: t.b, height: ph, width: pw) }
                    let same = real == pooled
                    let bordersZero = y.indices.allSatisfy { !outLayout.isBorder($0, height: ph, width: pw) || y[$0] == 0 }
                    #expect(same && bordersZero, "case \(i), density \(density), pooled, in \(layout), out \(outLayout), seed \(seed)")
                }
            }
        }
    }
}
