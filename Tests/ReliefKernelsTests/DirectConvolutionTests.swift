import ReliefFormat
import ReliefKernels
import ReliefRandom
import Testing

/// The direct sparse convolution against a plain convolution, over strides, paddings, kernel sizes
/// (including kernels larger than the padded image in one direction), batches and densities.
@Suite struct DirectConvolutionTests {
    /// Plain convolution in the runtime's layout: x `[C][B][H][W]`, result `[O][B][OH][OW]`.
    static func reference(_ w: [Float], o: Int, c: Int, k: (Int, Int), x: [Float], b: Int, h: Int, wd: Int,
                          stride: (Int, Int), padding: (Int, Int), bias: [Float]) -> (out: [Float], oh: Int, ow: Int) {
        let oh = (h + 2 * padding.0 - k.0) / stride.0 + 1, ow = (wd + 2 * padding.1 - k.1) / stride.1 + 1
        var y = [Float](repeating: 0, count: o * b * oh * ow)
        for f in 0..<o { for n in 0..<b { for oy in 0..<oh { for ox in 0..<ow {
            var s = Double(bias[f])
            for ch in 0..<c { for ky in 0..<k.0 { for kx in 0..<k.1 {
                let iy = oy * stride.0 - padding.0 + ky, ix = ox * stride.1 - padding.1 + kx
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                s += Double(w[((f * c + ch) * k.0 + ky) * k.1 + kx]) * Double(x[((ch * b + n) * h + iy) * wd + ix])
            } } }
            y[((f * b + n) * oh + oy) * ow + ox] = Float(s)
        } } } }
        return (y, oh, ow)
    }

    @Test(arguments: [0.0, 0.05, 0.3, 0.85, 1.0])
    func matchesThePlainConvolution(density: Double) {
        let cases: [(o: Int, c: Int, k: (Int, Int), h: Int, w: Int, s: (Int, Int), p: (Int, Int), b: Int)] = [
            (4, 3, (3, 3), 8, 8, (1, 1), (1, 1), 2), (5, 2, (5, 5), 12, 9, (1, 1), (0, 0), 1),
            (3, 4, (3, 3), 9, 10, (2, 2), (1, 1), 3), (2, 1, (1, 1), 5, 5, (1, 1), (0, 0), 4),
            (6, 2, (3, 1), 2, 17, (1, 2), (0, 0), 2), (3, 2, (3, 3), 1, 1, (1, 1), (1, 1), 2),
            (2, 3, (5, 5), 3, 3, (1, 1), (2, 2), 1), (7, 1, (5, 5), 28, 28, (1, 1), (0, 0), 5), (4, 6, (3, 3), 30, 20, (1, 1), (1, 1), 3),
            // More extended positions than one 2048-position chunk, in 64-position register tiles.
            (8, 16, (3, 3), 16, 16, (1, 1), (1, 1), 8),
            // Strides split into phase planes: 1x1 stride 2, uneven strides and a kernel wider than the stride.
            (5, 3, (1, 1), 8, 8, (2, 2), (0, 0), 2), (4, 3, (5, 5), 11, 12, (3, 2), (2, 1), 2), (6, 8, (3, 3), 32, 32, (2, 2), (1, 1), 3),
            // Stride-2 phases of odd rows, with a padding of 2; a column stride of 3 over an odd width.
            (3, 2, (3, 3), 7, 9, (2, 2), (1, 1), 2), (3, 2, (5, 5), 9, 13, (2, 2), (2, 2), 1), (4, 3, (5, 5), 10, 11, (2, 3), (2, 2), 1),
            // One-column images: every output its own run, a whole chunk of them (2,048) and more.
            (3, 1, (1, 1), 40, 1, (1, 1), (0, 0), 60),
            // Valid convolutions read in place, whose output rows are vectors apart (LeNet-5's conv2 over
            // 64 images: several chunks, split between threads); fewer than 8 extended positions.
            (3, 2, (5, 5), 12, 12, (1, 1), (0, 0), 64), (2, 2, (1, 1), 1, 3, (1, 1), (0, 0), 2),
            // Row tiles (dense enough tap columns) with kernels of 7 and 1 rows, outputs not a multiple of 8.
            (3, 2, (7, 7), 14, 12, (1, 1), (3, 3), 2), (4, 3, (1, 1), 9, 10, (1, 1), (0, 0), 2),
            // The batch-interleaved layout: a partial last group of 8 images, two channel blocks, 4x4 and
            // 2x2 planes, and valid padding with a last partial tile of entries.
            (6, 40, (3, 3), 4, 4, (1, 1), (1, 1), 11), (5, 36, (3, 3), 2, 2, (1, 1), (1, 1), 9), (4, 20, (3, 3), 7, 6, (1, 1), (0, 0), 16),
            // Many entries; one image on a small plane with many channels (two threads split the filters).
            (16, 32, (3, 3), 16, 16, (1, 1), (1, 1), 16), (24, 40, (3, 3), 4, 4, (1, 1), (1, 1), 1),
            // A 1x1 kernel over channel blocks, interleaved: one tile of accumulators per filter.
            (40, 160, (1, 1), 3, 5, (1, 1), (0, 0), 12),
            // 40 filters over two channel blocks; 12 pixels, so some tiles of 8 entries are one image
            // group's 8 pixels (written back as a transpose) and some straddle two image groups.
            (40, 48, (3, 3), 4, 3, (1, 1), (1, 1), 16),
            // Strided convolutions interleaved: ResNet's 3x3 stride-2 downsampling over channel blocks
            // (odd input, so the last padded row is never read), a 1x1 stride-2 shortcut-like one, and
            // uneven strides with a partial last group of images.
            (12, 40, (3, 3), 9, 9, (2, 2), (1, 1), 16), (20, 160, (1, 1), 8, 8, (2, 2), (0, 0), 8),
            (6, 20, (3, 3), 7, 10, (2, 3), (1, 0), 11),
            // The strip path's channel blocks, where a copy past L1 feeds planes of at most 64 pixels:
            // three blocks of 80 channels on 8x8 (row-padded copies of 320 bytes a channel); two of 150 on a 3x3 plane (masked strips); and
            // ResNet's stride-2 downsampling on strips (every other column copied, row phases as planes,
            // 16 outputs a row), one of them blocked.
            (10, 240, (3, 3), 8, 8, (1, 1), (1, 1), 2), (5, 300, (3, 3), 3, 3, (1, 1), (1, 1), 2),
            (8, 6, (3, 3), 32, 32, (2, 2), (1, 1), 1), (9, 96, (3, 3), 16, 16, (2, 2), (1, 1), 2),
            // The strip path's aligned taps (3x3, stride 1, padding 1, widths dividing 64) on ResNet-20's
            // 32-wide stage and on 64-wide rows; the 1- to 16-wide cases above take them too, the
            // 20-wide one the tap-shifted copy.
            (7, 5, (3, 3), 32, 32, (1, 1), (1, 1), 3), (3, 2, (3, 3), 3, 64, (1, 1), (1, 1), 2),
        ]
        for (i, t) in cases.enumerated() {
            let seed = UInt64(i) &+ UInt64(density * 1000)
            var g = SeededGenerator(seed: seed)
            let w = RandomWeights.sparse(rows: t.o, columns: t.c * t.k.0 * t.k.1, density: density, std: 1, using: &g)
            let x = (0..<(t.c * t.b * t.h * t.w)).map { _ in g.normal() }
            let bias = (0..<t.o).map { _ in g.normal() }
            let (plain, oh, ow) = Self.reference(w, o: t.o, c: t.c, k: t.k, x: x, b: t.b, h: t.h, wd: t.w, stride: t.s, padding: t.p, bias: bias)
            let residual = (0..<plain.count).map { _ in g.normal() }
            // The AVX-512 and AVX2 loops where the CPU has them, and the portable ones, and the strip path
            // (where AVX-512 runs it: stride 1); alone, and with a residual addition and a ReLU fused
            // into the writes.
            for (portable, avx512, strips) in [(false, true, false), (false, false, false), (true, false, false), (false, true, true)] { for fused in [false, true] {
                let expected = fused ? zip(plain, residual).map { max($0 + $1, 0) } : plain
                let conv = DirectSparseConvolution(CSRMatrix(rows: t.o, columns: t.c * t.k.0 * t.k.1, dense: w), inChannels: t.c,
                                                   kernel: t.k, stride: t.s, padding: t.p, portable: portable, avx512: avx512,
                                                   threadWork: 1, strips: strips)
                #expect(conv.wide == (avx512 && !portable && SIMDSupport.avx512), "case \(i)")
                #expect(conv.strips == (strips && SIMDSupport.avx512 && t.s.0 <= 2 && t.s.1 <= 2), "case \(i)")
                let taps = conv.strips && t.k == (3, 3) && t.s == (1, 1) && t.p == (1, 1) && 64 % t.w == 0
                #expect(conv.alignedTaps(height: t.h, width: t.w) == taps, "case \(i)")
                if conv.strips && [240, 96, 300].contains(t.c) { #expect(conv.stripBlocks(height: t.h, width: t.w) > 1, "case \(i)") }
                #expect(conv.name == (conv.strips ? "strips" : "direct"))
                // The strip path reads a padded input in place only through its aligned taps.
                if conv.strips { #expect(!conv.rowTiles && !conv.interleavable && conv.readsPadded(batch: t.b, height: t.h, width: t.w) == taps) }
                // Full filters take the row tiles wherever they apply, very sparse ones the vector tiles.
                if t.s == (1, 1) && t.k.0 <= 7 && density == 1 && !conv.strips { #expect(conv.rowTiles, "case \(i)") }
                if t.k.0 > 1 && density <= 0.05 { #expect(!conv.rowTiles, "case \(i)") }
                if !portable && !conv.strips && SIMDSupport.avx2FMA && density == 0.3 && t.b >= 8 && t.c * t.k.0 * t.k.1 >= 120 {
                    #expect(conv.interleaves(batch: t.b, outHeight: oh, outWidth: ow), "case \(i)")
                }
                // Without scratch: the row-by-row path; with it (stride 1): the whole-plane path.
                for (threads, planes) in [(1, false), (2, false), (1, true), (2, true)] {
                    var y = [Float](repeating: .nan, count: expected.count)
                    let bytes = conv.scratchBytes(batch: t.b, height: t.h, width: t.w)
                    let scratch = planes && bytes > 0 ? UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64) : nil
                    defer { scratch?.deallocate() }
                    // The input exactly as large as it is, so a read past its end would be caught by ASan.
                    let input = UnsafeMutablePointer<Float>.allocate(capacity: x.count)
                    defer { input.deallocate() }
                    input.initialize(from: x, count: x.count)
                    bias.withUnsafeBufferPointer { bp in
                        y.withUnsafeMutableBufferPointer { yp in
                            residual.withUnsafeBufferPointer { rp in
                                conv.run(input, batch: t.b, height: t.h, width: t.w, outHeight: oh, outWidth: ow,
                                         bias: bp.baseAddress, into: yp.baseAddress!, threads: threads, scratch: scratch,
                                         relu: fused, residual: fused ? rp.baseAddress : nil)
                            }
                        }
                    }
                    let ok = zip(y, expected).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }
                    #expect(ok, "case \(i), seed \(seed), density \(density), threads \(threads), whole planes \(planes), portable \(portable), AVX-512 \(conv.wide), strips \(conv.strips), fused \(fused)")
                }
            } }
        }
    }
    /// One convolution over many input sizes, each twice: weight offsets and output covers are kept
    /// per input layout (`LayoutCache`), up to a bound past which they are recomputed in scratch;
    /// every size must still get its own. Padded stride 1 (vector tiles at 5%, row tiles when full), stride 2
    /// (phase planes) and batches of 16 that take the batch-interleaved path; the strip path's offsets.
    @Test(arguments: [((1, 1), 0.05, false), ((1, 1), 1.0, false), ((2, 2), 0.3, false), ((1, 1), 0.3, false), ((1, 1), 0.3, true), ((2, 2), 0.3, true),
                      ((1, 1), 0.05, true)])
    func oneConvolutionOverManyInputSizes(stride: (Int, Int), density: Double, strips: Bool) {
        let (o, c, k, p) = (6, 20, (3, 3), (1, 1))
        let seed = UInt64(stride.0 * 100) &+ UInt64(density * 1000)
        var g = SeededGenerator(seed: seed)
        let w = RandomWeights.sparse(rows: o, columns: c * 9, density: density, std: 1, using: &g)
        let bias = (0..<o).map { _ in g.normal() }
        let conv = DirectSparseConvolution(CSRMatrix(rows: o, columns: c * 9, dense: w), inChannels: c, kernel: k, stride: stride,
                                           padding: p, threadWork: 1, strips: strips)
        #expect(conv.strips == (strips && SIMDSupport.avx512))
        // Four image sizes, each at batches 1, 2 and 16: twelve layouts, more than are kept.
        let batches = [1, 2, 16]
        let sizes: [(b: Int, h: Int, w: Int)] = (0..<12).map { (i: Int) -> (b: Int, h: Int, w: Int) in
            let image = i / 3
            // At 5% on strips, twelve sizes of widths dividing 64: the aligned taps' tables kept for the
            // first eight, the tap-shifted copy for the rest.
            if strips && density == 0.05 { return (batches[i % 3], 6 + i, [1, 2, 4, 8, 16, 32][i % 6]) }
            return (batches[i % 3], 6 + image, 9 + (image * 5) % 7)
        }
        for (round, t) in (sizes + sizes.reversed()).enumerated() {
            let x = (0..<(c * t.b * t.h * t.w)).map { _ in g.normal() }
            let (expected, oh, ow) = Self.reference(w, o: o, c: c, k: k, x: x, b: t.b, h: t.h, wd: t.w, stride: stride, padding: p, bias: bias)
            var y = [Float](repeating: .nan, count: expected.count)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: conv.scratchBytes(batch: t.b, height: t.h, width: t.w), alignment: 64)
            defer { scratch.deallocate() }
            conv.run(x, batch: t.b, height: t.h, width: t.w, outHeight: oh, outWidth: ow, bias: bias, into: &y, threads: 1 + round % 2,
                     scratch: scratch)
            let ok = zip(y, expected).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }
            #expect(ok, "round \(round), batch \(t.b), \(t.h)x\(t.w), seed \(seed)")
        }
    }

    /// A 2x2 max pooling of stride 2 fused into the planar row tiles (`poolsInRowTiles`): LeNet-5's
    /// two convolutions (24x24 and 8x8 outputs), a padded 3x3 one on 16x12 whose last tile column
    /// moves back to end at the edge (its windows computed twice), and a 7-row kernel; with and
    /// without a fused ReLU, on one and two threads, against the plain convolution pooled.
    @Test(arguments: [0.8, 1.0], [true, false])
    func rowTilesComputeAFusedMaxPooling(density: Double, avx512: Bool) {
        guard SIMDSupport.avx2FMA else { return }
        let cases: [(o: Int, c: Int, k: Int, h: Int, w: Int, p: Int, b: Int)] = [
            (7, 1, 5, 28, 28, 0, 5), (9, 7, 5, 12, 12, 0, 3), (4, 3, 3, 16, 12, 1, 2), (3, 2, 7, 14, 10, 3, 2),
        ]
        for (i, t) in cases.enumerated() {
            let seed = UInt64(i) &* 17 &+ UInt64(density * 100)
            let r = RandomConvolution(filters: t.o, channels: t.c, kernel: t.k, padding: t.p, height: t.h, width: t.w, batch: t.b,
                                      density: density, seed: seed, avx512: avx512)
            let (x, bias, conv) = (r.input, r.bias, r.convolution)
            let (plain, oh, ow) = Self.reference(r.weights, o: t.o, c: t.c, k: (t.k, t.k), x: x, b: t.b, h: t.h, wd: t.w,
                                                 stride: (1, 1), padding: (t.p, t.p), bias: bias)
            #expect(conv.poolsInRowTiles(outHeight: oh, outWidth: ow), "case \(i), seed \(seed)")
            #expect(!conv.poolsInRowTiles(outHeight: oh - 1, outWidth: ow), "odd heights do not pool in row tiles")
            let (ph, pw) = (oh / 2, ow / 2)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: conv.scratchBytes(batch: t.b, height: t.h, width: t.w), alignment: 64)
            defer { scratch.deallocate() }
            for relu in [false, true] {
                var expected = [Float](repeating: 0, count: t.o * t.b * ph * pw)
                for f in 0..<(t.o * t.b) { for y in 0..<ph { for x in 0..<pw {
                    let at = { (dy: Int, dx: Int) in plain[(f * oh + 2 * y + dy) * ow + 2 * x + dx] }
                    let m = max(max(at(0, 0), at(0, 1)), max(at(1, 0), at(1, 1)))
                    expected[(f * ph + y) * pw + x] = relu ? max(m, 0) : m
                } } }
                for threads in [1, 2] {
                    var y = [Float](repeating: .nan, count: expected.count)
                    x.withUnsafeBufferPointer { xp in
                        bias.withUnsafeBufferPointer { bp in
                            y.withUnsafeMutableBufferPointer { yp in
                                conv.run(xp.baseAddress!, batch: t.b, height: t.h, width: t.w, outHeight: oh, outWidth: ow, bias: bp.baseAddress,
                                         into: yp.baseAddress!, threads: threads, scratch: scratch, relu: relu, pooled: true)
                            }
                        }
                    }
                    let ok = zip(y, expected).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) }
                    #expect(ok, "case \(i), seed \(seed), density \(density), relu \(relu), threads \(threads)")
                }
            }
        }
    }
}
