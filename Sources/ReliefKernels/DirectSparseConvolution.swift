import ReliefFormat

/// A convolution computed straight from its sparse kernels, without im2col: every surviving weight
/// w of filter o, input channel c and tap (ky, kx) adds w times a shifted window of channel c to
/// output channel o, one contiguous output row at a time. Nothing is materialised, so the cost
/// follows the nonzeros alone; im2col writes and reads every tap of every input channel, even
/// where all weights are zero.
///
/// Layout as the runtime's: input `[C][B][H·W]`, output `[O][B][OH·OW]`.
public final class DirectSparseConvolution: @unchecked Sendable {
    public let name = "direct"
    public let outChannels: Int, inChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public let storedWeights: Int
    /// Per nonzero: the input channel and tap, and the weight; grouped by filter.
    let rowStart: UnsafeMutablePointer<UInt32>
    let channel: UnsafeMutablePointer<UInt32>
    let tapY: UnsafeMutablePointer<UInt16>
    let tapX: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<Float>
    let partitions: RowPartitions

    /// `m` is the `[O, C·kh·kw]` weight matrix (columns ordered channel, then tap row, then tap column).
    public init(_ m: CSRMatrix, inChannels: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
        precondition(m.columns == inChannels * kernel.0 * kernel.1, "weight columns do not match C x kh x kw")
        precondition(kernel.0 <= Int(UInt16.max) && kernel.1 <= Int(UInt16.max), "kernel too large")
        outChannels = m.rows
        self.inChannels = inChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        storedWeights = m.nnz
        rowStart = .allocate(capacity: m.rows + 1)
        channel = .allocate(capacity: max(m.nnz, 1))
        tapY = .allocate(capacity: max(m.nnz, 1))
        tapX = .allocate(capacity: max(m.nnz, 1))
        values = .allocate(capacity: max(m.nnz, 1))
        for r in 0...m.rows { rowStart[r] = UInt32(m.rowPointers[r]) }
        let area = kernel.0 * kernel.1
        for k in 0..<m.nnz {
            let col = Int(m.columnIndices[k])
            channel[k] = UInt32(col / area)
            tapY[k] = UInt16(col % area / kernel.1)
            tapX[k] = UInt16(col % kernel.1)
            values[k] = m.values[k]
        }
        let starts = rowStart
        partitions = RowPartitions(rows: m.rows) { Int(starts[$0]) + $0 }
    }

    deinit {
        rowStart.deallocate()
        channel.deallocate()
        tapY.deallocate()
        tapX.deallocate()
        values.deallocate()
    }

    public var residentBytes: Int { 4 * (outChannels + 1) + (4 + 2 + 2 + 4) * storedWeights }

    /// Multiply-adds for a batch: each nonzero touches (up to) every output pixel.
    public func multiplyAdds(batch: Int, outHeight: Int, outWidth: Int) -> Int { storedWeights * batch * outHeight * outWidth }

    /// Scratch for a stride-1 convolution: the input zero-padded (plus a tail every shifted read may
    /// reach) and one accumulator chunk per thread part.
    public func scratchBytes(batch: Int, height h: Int, width w: Int) -> Int {
        guard stride == (1, 1) else { return 0 }
        return 4 * (paddedCount(batch: batch, height: h, width: w) + Self.chunk * RowPartitions.maxParts)
    }

    static let chunk = 2048

    func paddedCount(batch: Int, height h: Int, width w: Int) -> Int {
        let (hp, wp) = (h + 2 * padding.0, w + 2 * padding.1)
        return inChannels * batch * hp * wp + (kernel.0 - 1) * wp + kernel.1
    }

    /// Stride 1: every surviving weight adds a shifted copy of a whole (padded) input channel, all
    /// images at once, to an "extended" output laid out like the padded input; positions outside the
    /// real output are computed and dropped. One long vector update per weight, in cache-sized chunks.
    func runStrideOne(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int,
                      bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int, scratch: UnsafeMutableRawPointer) {
        let (hp, wp) = (h + 2 * padding.0, w + 2 * padding.1)
        let planeP = hp * wp, channelP = batch * planeP
        let padded = scratch.bindMemory(to: Float.self, capacity: paddedCount(batch: batch, height: h, width: w) + Self.chunk * RowPartitions.maxParts)
        let source: UnsafePointer<Float>
        // How far reads may go: garbage positions near the end of the last channel would read past
        // an unpadded input, so reads are clipped there (valid outputs never reach that far).
        let readable: Int
        if padding == (0, 0) {
            source = x
            readable = inChannels * channelP
        } else {
            readable = paddedCount(batch: batch, height: h, width: w)
            padded.update(repeating: 0, count: paddedCount(batch: batch, height: h, width: w))
            for cb in 0..<(inChannels * batch) {
                for r in 0..<h {
                    (padded + cb * planeP + (r + padding.0) * wp + padding.1).update(from: x + cb * h * w + r * w, count: w)
                }
            }
            source = UnsafePointer(padded)
        }
        let accumulators = padded + paddedCount(batch: batch, height: h, width: w)
        let ranges = partitions.ranges(threads: threads, work: storedWeights * channelP)
        Parallel.run(ranges) { range in
            let part = ranges.firstIndex(of: range)!
            let acc = accumulators + part * Self.chunk
            for o in range {
                let out = y + o * batch * oh * ow
                let b0 = bias?[o] ?? 0
                var e0 = 0
                while e0 < channelP {
                    let count = min(Self.chunk, channelP - e0)
                    acc.update(repeating: b0, count: count)
                    for k in Int(self.rowStart[o])..<Int(self.rowStart[o + 1]) {
                        let offset = Int(self.channel[k]) * channelP + Int(self.tapY[k]) * wp + Int(self.tapX[k])
                        let n = min(count, readable - (offset + e0))
                        if n > 0 { Self.axpy(self.values[k], source + offset + e0, acc, count: n) }
                    }
                    // Keep the positions that are real outputs: row < oh, column < ow of each image.
                    var e = e0
                    while e < e0 + count {
                        let b = e / planeP, r = e - b * planeP
                        let oy = r / wp, ox = r - oy * wp
                        let run = min(wp - ox, e0 + count - e)
                        if oy < oh && ox < ow {
                            let n = min(run, ow - ox)
                            (out + (b * oh + oy) * ow + ox).update(from: acc + (e - e0), count: n)
                        }
                        e += run
                    }
                    e0 += count
                }
            }
        }
    }

    public func run(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int,
                    bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int, scratch: UnsafeMutableRawPointer? = nil) {
        if stride == (1, 1), let scratch {
            runStrideOne(x, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: bias, into: y, threads: threads, scratch: scratch)
            return
        }
        let plane = oh * ow
        Parallel.run(partitions.ranges(threads: threads, work: storedWeights * batch * plane)) { range in
            for o in range {
                let out = y + o * batch * plane
                out.update(repeating: bias?[o] ?? 0, count: batch * plane)
                for k in Int(self.rowStart[o])..<Int(self.rowStart[o + 1]) {
                    let c = Int(self.channel[k]), ky = Int(self.tapY[k]), kx = Int(self.tapX[k])
                    let v = self.values[k]
                    // Output rows and columns whose tap lands inside the image.
                    let oy0 = max(0, (self.padding.0 - ky + self.stride.0 - 1) / self.stride.0)
                    let oy1 = min(oh, Self.floorDivide(h - 1 + self.padding.0 - ky, self.stride.0) + 1)
                    let ox0 = max(0, (self.padding.1 - kx + self.stride.1 - 1) / self.stride.1)
                    let ox1 = min(ow, Self.floorDivide(w - 1 + self.padding.1 - kx, self.stride.1) + 1)
                    guard oy0 < oy1, ox0 < ox1 else { continue }
                    for b in 0..<batch {
                        let input = x + (c * batch + b) * h * w
                        let output = out + b * plane
                        for oy in oy0..<oy1 {
                            let row = input + (oy * self.stride.0 - self.padding.0 + ky) * w
                            let dst = output + oy * ow
                            if self.stride.1 == 1 {
                                Self.axpy(v, row + (ox0 - self.padding.1 + kx), dst + ox0, count: ox1 - ox0)
                            } else {
                                for ox in ox0..<ox1 { dst[ox] += v * row[ox * self.stride.1 - self.padding.1 + kx] }
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func floorDivide(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// `y += a · x` over `count` floats, eight at a time.
    @inline(__always)
    static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let va = SIMD8<Float>(repeating: a)
        while i + 8 <= count {
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: yv + va * xv, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { y[i] += a * x[i]; i += 1 }
    }
}
