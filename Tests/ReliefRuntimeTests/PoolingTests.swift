import ReliefKernels
import ReliefRandom
import ReliefRuntime
import Testing

/// Pooling against a plain loop: 2x2 stride-2 windows (the vectorised path) on widths around its
/// 8-output tiles, odd sizes whose last row or column is dropped, and other windows with padding.
@Suite struct PoolingTests {
    static func reference(_ x: [Float], planes: Int, h: Int, w: Int, k: (Int, Int), s: (Int, Int), p: (Int, Int),
                          oh: Int, ow: Int, max isMax: Bool) -> [Float] {
        var y = [Float](repeating: 0, count: planes * oh * ow)
        for plane in 0..<planes { for oy in 0..<oh { for ox in 0..<ow {
            var values: [Float] = []
            for ky in 0..<k.0 { for kx in 0..<k.1 {
                let iy = oy * s.0 - p.0 + ky, ix = ox * s.1 - p.1 + kx
                if iy >= 0 && iy < h && ix >= 0 && ix < w { values.append(x[(plane * h + iy) * w + ix]) }
            } }
            // Average counts padding as zeros: the sum over the whole window's area.
            y[(plane * oh + oy) * ow + ox] = isMax ? values.max()! : values.reduce(0, +) / Float(k.0 * k.1)
        } } }
        return y
    }

    @Test(arguments: [true, false])
    func matchesThePlainLoop(max isMax: Bool) {
        let cases: [(h: Int, w: Int, k: (Int, Int), s: (Int, Int), p: (Int, Int))] = [
            (2, 2, (2, 2), (2, 2), (0, 0)), (8, 16, (2, 2), (2, 2), (0, 0)), (9, 17, (2, 2), (2, 2), (0, 0)),
            (6, 30, (2, 2), (2, 2), (0, 0)), (32, 34, (2, 2), (2, 2), (0, 0)), (7, 7, (3, 3), (2, 2), (1, 1)),
            (5, 8, (3, 2), (1, 2), (0, 0)),
        ]
        for (i, t) in cases.enumerated() {
            var g = SeededGenerator(seed: UInt64(i) &+ (isMax ? 100 : 0))
            let planes = 3
            let x = (0..<(planes * t.h * t.w)).map { _ in g.normal() }
            let oh = (t.h + 2 * t.p.0 - t.k.0) / t.s.0 + 1, ow = (t.w + 2 * t.p.1 - t.k.1) / t.s.1 + 1
            let expected = Self.reference(x, planes: planes, h: t.h, w: t.w, k: t.k, s: t.s, p: t.p, oh: oh, ow: ow, max: isMax)
            for portable in [false, true] {
                var y = [Float](repeating: .nan, count: planes * oh * ow)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        Pooling.run(xp.baseAddress!, yp.baseAddress!, planes: planes, height: t.h, width: t.w,
                                    geometry: .init(kernel: t.k, stride: t.s, padding: t.p), outHeight: oh, outWidth: ow, max: isMax,
                                    portable: portable)
                    }
                }
                #expect(zip(y, expected).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) },
                        "case \(i), max \(isMax), portable \(portable), seed \(i)")
            }
        }
    }
}

/// Pooling over batch-interleaved activations (`Pooling.runInterleaved`) against the plain loop:
/// into interleaved outputs with and without a border, and into planar ones.
@Suite struct InterleavedPoolingTests {
    @Test(arguments: [true, false])
    func matchesThePlainLoop(max isMax: Bool) {
        guard SIMDSupport.avx2FMA else { return }
        let cases: [(h: Int, w: Int, k: (Int, Int), s: (Int, Int), b: Int)] = [
            (8, 8, (2, 2), (2, 2), 16), (4, 4, (2, 2), (2, 2), 11), (2, 2, (2, 2), (2, 2), 8), (5, 7, (2, 2), (2, 2), 9),
            (7, 7, (3, 3), (2, 2), 13), (5, 6, (3, 2), (1, 2), 8),
        ]
        for (i, t) in cases.enumerated() {
            let seed = UInt64(i) &+ (isMax ? 200 : 300)
            var g = SeededGenerator(seed: seed)
            let channels = 3
            let x = (0..<(channels * t.b * t.h * t.w)).map { _ in g.normal() }
            let oh = (t.h - t.k.0) / t.s.0 + 1, ow = (t.w - t.k.1) / t.s.1 + 1
            let expected = PoolingTests.reference(x, planes: channels * t.b, h: t.h, w: t.w, k: t.k, s: t.s, p: (0, 0), oh: oh, ow: ow, max: isMax)
            for input in [ActivationLayout.interleaved(padY: 0, padX: 0), .interleaved(padY: 1, padX: 2)] {
                let packed = input.pack(x, channels: channels, batch: t.b, height: t.h, width: t.w)
                for output in [ActivationLayout.planar, .interleaved(padY: 0, padX: 0), .interleaved(padY: 1, padX: 1)] {
                    var y = [Float](repeating: .nan, count: output.floats(channels: channels, batch: t.b, height: oh, width: ow))
                    packed.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            Pooling.runInterleaved(xp.baseAddress!, input: input, yp.baseAddress!, output: output, channels: channels,
                                                   batch: t.b, height: t.h, width: t.w, geometry: .init(kernel: t.k, stride: t.s, padding: (0, 0)),
                                                   outHeight: oh, outWidth: ow, max: isMax)
                        }
                    }
                    let real = y.withUnsafeBufferPointer { output.unpack($0.baseAddress!, channels: channels, batch: t.b, height: oh, width: ow) }
                    let close = zip(real, expected).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) }
                    #expect(close, "case \(i), max \(isMax), in \(input), out \(output), seed \(seed)")
                    let bordersZero = y.indices.allSatisfy { !output.isBorder($0, height: oh, width: ow) || y[$0] == 0 }
                    #expect(output == .planar || (bordersZero && y.allSatisfy(\.isFinite)), "case \(i), out \(output): border not zero")
                }
            }
        }
    }
}
