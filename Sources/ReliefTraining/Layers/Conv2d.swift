import ReliefKernels

/// 2-D convolution (cross-correlation, as in PyTorch) with stride and zero padding, NCHW,
/// as im2col plus one sgemm per chunk of the batch. Weight shape [out, in, kh, kw].
public final class Conv2d: Layer, InputGradientOptional {
    public let name: String
    public let inChannels: Int, outChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public let weight: Parameter
    public let bias: Parameter?
    public var needsInputGradient = true
    private var input = Tensor(zeros: [0])
    /// The forward pass's column matrix, kept for backward when the whole batch fit in one chunk.
    private var cachedColumns: [Float]? = nil
    /// im2col buffers are capped at this many floats; larger batches are processed in chunks.
    static let maxColumnFloats = 8 << 20

    public init(name: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = (kernel, kernel)
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        let k = inChannels * kernel * kernel
        weight = Parameter(name: name + ".weight", kind: .weight, shape: [outChannels, inChannels, kernel, kernel],
                           value: [Float](repeating: 0, count: outChannels * k))
        self.bias = bias ? Parameter(name: name + ".bias", kind: .bias, shape: [outChannels],
                                     value: [Float](repeating: 0, count: outChannels)) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public func outputShape(for s: [Int]) -> [Int] {
        [outChannels, (s[1] + 2 * padding.0 - kernel.0) / stride.0 + 1, (s[2] + 2 * padding.1 - kernel.1) / stride.1 + 1]
    }

    private struct Geometry {
        let c, h, w, oh, ow, kh, kw, sh, sw, ph, pw: Int
        var patch: Int { c * kh * kw }
        var pixels: Int { oh * ow }
    }

    private func geometry(_ x: Tensor) -> Geometry {
        precondition(x.shape.count == 4 && x.shape[1] == inChannels, "\(name) expects [N, \(inChannels), H, W], got \(x.shape)")
        let o = outputShape(for: Array(x.shape.dropFirst()))
        return Geometry(c: inChannels, h: x.shape[2], w: x.shape[3], oh: o[1], ow: o[2], kh: kernel.0, kw: kernel.1,
                        sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1)
    }

    /// Samples per chunk so that the column buffer stays under the cap.
    private func chunk(_ g: Geometry, batch: Int) -> Int {
        max(1, min(batch, Self.maxColumnFloats / max(1, g.patch * g.pixels)))
    }

    /// cols[(c·kh + i)·kw + j][s·P + p] = x[n0+s, c, oy·sh − ph + i, ox·sw − pw + j] (0 outside).
    private static func im2col(_ x: UnsafePointer<Float>, _ g: Geometry, samples: Int, _ cols: UnsafeMutablePointer<Float>) {
        let rowLength = samples * g.pixels
        // Each row of the column matrix is independent: split the rows over the workers.
        Parallel.forEachChunk(g.patch) { rows in
            for r in rows {
                let c = r / (g.kh * g.kw), i = r / g.kw % g.kh, j = r % g.kw
                do {
                    let row = cols + r * rowLength
                    for s in 0..<samples {
                        let plane = x + (s * g.c + c) * g.h * g.w
                        let out = row + s * g.pixels
                        for oy in 0..<g.oh {
                            let y = oy * g.sh - g.ph + i
                            let line = out + oy * g.ow
                            if y < 0 || y >= g.h {
                                for ox in 0..<g.ow { line[ox] = 0 }
                                continue
                            }
                            let src = plane + y * g.w
                            if g.sw == 1 && g.pw == 0 {
                                (line).update(from: src + j, count: g.ow)   // the common unpadded stride-1 row
                            } else {
                                for ox in 0..<g.ow {
                                    let xx = ox * g.sw - g.pw + j
                                    line[ox] = (xx >= 0 && xx < g.w) ? src[xx] : 0
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of im2col: adds each column entry back to the input position it came from.
    private static func col2im(_ cols: UnsafePointer<Float>, _ g: Geometry, samples: Int, _ dx: UnsafeMutablePointer<Float>) {
        let rowLength = samples * g.pixels
        // Channels write to disjoint planes of dx: split them over the workers.
        Parallel.forEachChunk(g.c) { channels in
        for c in channels {
            for i in 0..<g.kh {
                for j in 0..<g.kw {
                    let row = cols + ((c * g.kh + i) * g.kw + j) * rowLength
                    for s in 0..<samples {
                        let plane = dx + (s * g.c + c) * g.h * g.w
                        let src = row + s * g.pixels
                        for oy in 0..<g.oh {
                            let y = oy * g.sh - g.ph + i
                            if y < 0 || y >= g.h { continue }
                            let line = src + oy * g.ow
                            let dst = plane + y * g.w
                            for ox in 0..<g.ow {
                                let xx = ox * g.sw - g.pw + j
                                if xx >= 0 && xx < g.w { dst[xx] += line[ox] }
                            }
                        }
                    }
                }
            }
        }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let g = geometry(x)
        if training { input = x }
        let n = x.batch, o = outChannels, per = chunk(g, batch: n)
        var y = [Float](repeating: 0, count: n * o * g.pixels)
        var cols = [Float](repeating: 0, count: g.patch * per * g.pixels)
        var block = [Float](repeating: 0, count: o * per * g.pixels)
        x.data.withUnsafeBufferPointer { xp in
            weight.value.withUnsafeBufferPointer { wp in
                cols.withUnsafeMutableBufferPointer { cp in
                    block.withUnsafeMutableBufferPointer { bp in
                        y.withUnsafeMutableBufferPointer { yp in
                            var n0 = 0
                            while n0 < n {
                                let s = min(per, n - n0)
                                let width = s * g.pixels
                                Self.im2col(xp.baseAddress! + n0 * g.c * g.h * g.w, g, samples: s, cp.baseAddress!)
                                // block[o][s·P + p] = W[o] · cols
                                DenseBLAS.parallelGemm(transposeA: false, transposeB: false, m: o, n: width, k: g.patch,
                                               a: wp.baseAddress!, lda: g.patch, b: cp.baseAddress!, ldb: width,
                                               c: bp.baseAddress!, ldc: width)
                                let biases = bias?.value ?? [Float](repeating: 0, count: o)
                                let (bb, yb) = (bp.baseAddress!, yp.baseAddress!)
                                Parallel.forEachChunk(s) { samples in
                                    for sample in samples {
                                        for oc in 0..<o {
                                            let src = bb + oc * width + sample * g.pixels
                                            let dst = yb + ((n0 + sample) * o + oc) * g.pixels
                                            let b = biases[oc]
                                            for p in 0..<g.pixels { dst[p] = src[p] + b }
                                        }
                                    }
                                }
                                n0 += s
                            }
                        }
                    }
                }
            }
        }
        cachedColumns = training && per >= n ? cols : nil
        return Tensor(shape: [n, o, g.oh, g.ow], data: y)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let g = geometry(input)
        let n = input.batch, o = outChannels, per = chunk(g, batch: n)
        var dx = [Float](repeating: 0, count: needsInputGradient ? input.count : 0)
        let reuse = cachedColumns != nil
        var cols = cachedColumns ?? [Float](repeating: 0, count: g.patch * per * g.pixels)
        cachedColumns = nil
        var block = [Float](repeating: 0, count: o * per * g.pixels)
        for i in weight.grad.indices { weight.grad[i] = 0 }
        if let bias {
            // Σ over samples and pixels of dy, one channel per worker.
            var sums = [Float](repeating: 0, count: o)
            dy.data.withUnsafeBufferPointer { d in
                sums.withUnsafeMutableBufferPointer { out in
                    let (db, ob) = (d.baseAddress!, out.baseAddress!)
                    Parallel.forEachChunk(o) { channels in
                        for oc in channels {
                            var s: Float = 0
                            for sample in 0..<n {
                                let plane = db + (sample * o + oc) * g.pixels
                                for p in 0..<g.pixels { s += plane[p] }
                            }
                            ob[oc] = s
                        }
                    }
                }
            }
            bias.grad = sums
        }
        input.data.withUnsafeBufferPointer { xp in
            dy.data.withUnsafeBufferPointer { dyp in
                weight.value.withUnsafeBufferPointer { wp in
                    weight.grad.withUnsafeMutableBufferPointer { gp in
                        cols.withUnsafeMutableBufferPointer { cp in
                            block.withUnsafeMutableBufferPointer { bp in
                                dx.withUnsafeMutableBufferPointer { dxp in
                                    var n0 = 0
                                    while n0 < n {
                                        let s = min(per, n - n0)
                                        let width = s * g.pixels
                                        // block[o][s·P + p] = dy[n0 + s][o][p]
                                        for sample in 0..<s {
                                            for oc in 0..<o {
                                                let src = dyp.baseAddress! + ((n0 + sample) * o + oc) * g.pixels
                                                let dst = bp.baseAddress! + oc * width + sample * g.pixels
                                                dst.update(from: src, count: g.pixels)
                                            }
                                        }
                                        if !reuse {
                                            Self.im2col(xp.baseAddress! + n0 * g.c * g.h * g.w, g, samples: s, cp.baseAddress!)
                                        }
                                        // dW += block · colsᵀ
                                        DenseBLAS.parallelGemm(transposeA: false, transposeB: true, m: o, n: g.patch, k: width,
                                                       a: bp.baseAddress!, lda: width, b: cp.baseAddress!, ldb: width,
                                                       beta: 1, c: gp.baseAddress!, ldc: g.patch)
                                        if needsInputGradient {
                                            // dcols = Wᵀ · block, then scattered back.
                                            DenseBLAS.parallelGemm(transposeA: true, transposeB: false, m: g.patch, n: width, k: o,
                                                           a: wp.baseAddress!, lda: g.patch, b: bp.baseAddress!, ldb: width,
                                                           c: cp.baseAddress!, ldc: width)
                                            Self.col2im(cp.baseAddress!, g, samples: s, dxp.baseAddress! + n0 * g.c * g.h * g.w)
                                        }
                                        n0 += s
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return needsInputGradient ? Tensor(shape: input.shape, data: dx) : Tensor(zeros: [0])
    }
}
