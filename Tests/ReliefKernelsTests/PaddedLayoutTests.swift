import ReliefFormat
import ReliefKernels
import ReliefRandom
import Testing

/// The whole-plane direct convolution reading `ActivationLayout.padded` inputs in place and writing
/// `.padded` outputs gives, value for value, what it gives planar (itself checked against a plain
/// convolution in `DirectConvolutionTests`), and leaves zeros everywhere but the pixels.
@Suite struct PaddedLayoutTests {
    /// The floats of a padded layout that are no pixel.
    static func borders(_ layout: ActivationLayout, channels c: Int, batch b: Int, height h: Int, width w: Int) -> [Int] {
        var pixel = [Bool](repeating: false, count: layout.floats(channels: c, batch: b, height: h, width: w))
        for ch in 0..<c { for n in 0..<b { for y in 0..<h { for x in 0..<w {
            pixel[layout.index(channel: ch, image: n, y: y, x: x, channels: c, batch: b, height: h, width: w)] = true
        } } } }
        return pixel.indices.filter { !pixel[$0] }
    }

    /// One convolution on one batch and input size, called as `run(input, inLayout, into: &y, outLayout, threads:)`
    /// with a fused ReLU.
    struct Call {
        let conv: DirectSparseConvolution, bias: [Float], batch: Int, height: Int, width: Int, scratch: UnsafeMutableRawPointer

        func callAsFunction(_ input: [Float], _ inLayout: ActivationLayout, into y: inout [Float], _ outLayout: ActivationLayout,
                            threads: Int, bordersZero: Bool = false) {
            let (oh, ow) = conv.outputSize(height: height, width: width)
            input.withUnsafeBufferPointer { xp in
                bias.withUnsafeBufferPointer { bp in
                    y.withUnsafeMutableBufferPointer { yp in
                        conv.run(xp.baseAddress!, batch: batch, height: height, width: width, outHeight: oh, outWidth: ow, bias: bp.baseAddress!,
                                 into: yp.baseAddress!, threads: threads, scratch: scratch, relu: true, input: inLayout, output: outLayout,
                                 outputBordersZero: bordersZero)
                    }
                }
            }
        }
    }

    /// The strip path's aligned taps read `.padded(padY: 1, padX: 0)` in place (its `paddedInput`)
    /// and the strip path writes rows of zeros around its images (`.padded(padY:, padX: 0)`), on one
    /// and two threads (split by images, or a single image's filters): ResNet-20's three stages, a
    /// plane of two rows of 64, 4x4 planes over three channel blocks, and batches 1 to 5.
    @Test(arguments: [0.0, 0.1, 1.0])
    func stripsReadAndWriteRowsOfZeros(density: Double) throws {
        guard SIMDSupport.avx512 else { return }
        let cases: [(o: Int, c: Int, h: Int, w: Int, b: Int)] = [
            (16, 16, 32, 32, 1), (32, 32, 16, 16, 2), (64, 64, 8, 8, 1), (5, 3, 2, 64, 3), (6, 600, 4, 4, 5), (4, 2, 1, 1, 2),
        ]
        for (i, t) in cases.enumerated() {
            let seed = UInt64(i) &* 41 &+ UInt64(density * 100)
            let r = RandomConvolution(filters: t.o, channels: t.c, kernel: 3, padding: 1, height: t.h, width: t.w, batch: t.b,
                                      density: density, seed: seed, strips: true)
            let (x, bias, conv) = (r.input, r.bias, r.convolution)
            let inLayout = conv.paddedInput
            #expect(conv.strips && conv.readsPadded(batch: t.b, height: t.h, width: t.w) && inLayout == .padded(padY: 1, padX: 0), "case \(i)")
            #expect(i != 4 || conv.stripBlocks(height: t.h, width: t.w) > 1, "case \(i) should run channel blocks")
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: conv.scratchBytes(batch: t.b, height: t.h, width: t.w), alignment: 64)
            defer { scratch.deallocate() }
            let run = Call(conv: conv, bias: bias, batch: t.b, height: t.h, width: t.w, scratch: scratch)
            var planar = [Float](repeating: .nan, count: t.o * t.b * t.h * t.w)
            run(x, .planar, into: &planar, .planar, threads: 1)
            // The packed input exactly as large as its layout, with garbage in the slack past the last
            // channel: lanes read there are never stored.
            var packed = inLayout.pack(x, channels: t.c, batch: t.b, height: t.h, width: t.w)
            for k in (packed.count - ActivationLayout.paddedSlack)..<packed.count { packed[k] = .nan }
            for threads in [1, 2] {
                var y = [Float](repeating: .nan, count: planar.count)
                run(packed, inLayout, into: &y, .planar, threads: threads)
                #expect(y == planar, "case \(i), density \(density), padded input, \(threads) threads, seed \(seed)")
            }
            #expect(!conv.writesPadded(batch: t.b, height: t.h, width: t.w, padding: (1, 1)), "case \(i): strips write rows of zeros only")
            for outLayout in [ActivationLayout.padded(padY: 1, padX: 0), .padded(padY: 3, padX: 0)] {
                #expect(conv.writesPadded(batch: t.b, height: t.h, width: t.w, padding: outLayout.padding), "case \(i)")
                let borders = Self.borders(outLayout, channels: t.o, batch: t.b, height: t.h, width: t.w), border = Set(borders)
                for (input, layout) in [(x, ActivationLayout.planar), (packed, inLayout)] {
                    for threads in [1, 2] {
                        var y = [Float](repeating: .nan, count: outLayout.floats(channels: t.o, batch: t.b, height: t.h, width: t.w))
                        run(input, layout, into: &y, outLayout, threads: threads)
                        let real = y.withUnsafeBufferPointer { outLayout.unpack($0.baseAddress!, channels: t.o, batch: t.b, height: t.h, width: t.w) }
                        #expect(real == planar && borders.allSatisfy { y[$0] == 0 },
                                "case \(i), density \(density), in \(layout), out \(outLayout), \(threads) threads, seed \(seed)")
                        for k in y.indices where !border.contains(k) { y[k] = .nan }
                        run(input, layout, into: &y, outLayout, threads: threads, bordersZero: true)
                        let again = y.withUnsafeBufferPointer { outLayout.unpack($0.baseAddress!, channels: t.o, batch: t.b, height: t.h, width: t.w) }
                        #expect(again == planar && borders.allSatisfy { y[$0] == 0 }, "case \(i), second run into \(outLayout), seed \(seed)")
                    }
                }
            }
        }
    }

    /// With 512-bit tiles where the CPU has AVX-512 (`avx512`), and with AVX2 tiles.
    @Test(arguments: [0.0, 0.1, 0.5, 1.0], [true, false])
    func paddedInputsAndOutputsMatchPlanar(density: Double, avx512: Bool) throws {
        guard SIMDSupport.avx2FMA else { return }
        // (filters, channels, kernel, padding, height, width, batch): ResNet-20's 3x3 layers at 32x32,
        // 16x16 and 8x8; rows around the vector edges (7, 9, 15, 17 wide); a 5x5 kernel padded by 2
        // and by 1; a plane one row high; a plane wider than high; batches 1 to 3.
        let cases: [(o: Int, c: Int, k: Int, p: Int, h: Int, w: Int, b: Int)] = [
            (16, 16, 3, 1, 32, 32, 1), (32, 32, 3, 1, 16, 16, 1), (64, 64, 3, 1, 8, 8, 1), (5, 3, 3, 1, 7, 7, 2),
            (7, 4, 3, 1, 9, 15, 3), (3, 6, 3, 1, 17, 9, 1), (4, 5, 5, 2, 6, 6, 2), (6, 2, 5, 1, 8, 11, 1), (3, 3, 3, 1, 1, 12, 2),
        ]
        for (i, t) in cases.enumerated() {
            let seed = UInt64(i) &* 37 &+ UInt64(density * 100)
            let r = RandomConvolution(filters: t.o, channels: t.c, kernel: t.k, padding: t.p, height: t.h, width: t.w, batch: t.b,
                                      density: density, seed: seed, avx512: avx512)
            let (x, bias, conv) = (r.input, r.bias, r.convolution)
            let (oh, ow) = conv.outputSize(height: t.h, width: t.w)
            // Stride 1 with a padding from 1 to the kernel's size - 1: always read in place at these batches.
            #expect(conv.readsPadded(batch: t.b, height: t.h, width: t.w), "case \(i), seed \(seed)")
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: conv.scratchBytes(batch: t.b, height: t.h, width: t.w), alignment: 64)
            defer { scratch.deallocate() }
            let run = Call(conv: conv, bias: bias, batch: t.b, height: t.h, width: t.w, scratch: scratch)
            var planar = [Float](repeating: .nan, count: t.o * t.b * oh * ow)
            run(x, .planar, into: &planar, .planar, threads: 1)
            let inLayout = ActivationLayout.padded(padY: t.p, padX: t.p)
            let packed = inLayout.pack(x, channels: t.c, batch: t.b, height: t.h, width: t.w)
            for threads in [1, 2] {
                var y = [Float](repeating: .nan, count: planar.count)
                run(packed, inLayout, into: &y, .planar, threads: threads)
                #expect(y == planar, "case \(i), density \(density), padded input, \(threads) threads, seed \(seed)")
            }
            for outLayout in [ActivationLayout.padded(padY: 1, padX: 1), .padded(padY: 2, padX: 1), .padded(padY: 0, padX: 2)] {
                guard case let .padded(py, px) = outLayout, conv.writesPadded(batch: t.b, height: t.h, width: t.w, padding: (py, px)) else {
                    // Only row tiles (full filters on 8x8 and larger) write planar alone.
                    #expect(conv.rowTiles && oh >= 8 && ow >= 8, "case \(i) should write \(outLayout) (vector tiles), seed \(seed)")
                    continue
                }
                let borders = Self.borders(outLayout, channels: t.o, batch: t.b, height: oh, width: ow), border = Set(borders)
                for (input, layout) in [(x, ActivationLayout.planar), (packed, inLayout)] {
                    for threads in [1, 2] {
                        // Garbage everywhere first: the zeros must be written too.
                        var y = [Float](repeating: .nan, count: outLayout.floats(channels: t.o, batch: t.b, height: oh, width: ow))
                        run(input, layout, into: &y, outLayout, threads: threads)
                        let real = y.withUnsafeBufferPointer { outLayout.unpack($0.baseAddress!, channels: t.o, batch: t.b, height: oh, width: ow) }
                        #expect(real == planar && borders.allSatisfy { y[$0] == 0 },
                                "case \(i), density \(density), in \(layout), out \(outLayout), \(threads) threads, seed \(seed)")
                        // Again into the same buffer, its zeros declared in place: only the pixels change.
                        for k in y.indices where !border.contains(k) { y[k] = .nan }
                        run(input, layout, into: &y, outLayout, threads: threads, bordersZero: true)
                        let again = y.withUnsafeBufferPointer { outLayout.unpack($0.baseAddress!, channels: t.o, batch: t.b, height: oh, width: ow) }
                        #expect(again == planar && borders.allSatisfy { y[$0] == 0 }, "case \(i), second run into \(outLayout), seed \(seed)")
                    }
                }
            }
        }
    }
}
