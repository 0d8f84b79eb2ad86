import CReliefSIMD

/// The strip path (`strips`): a convolution of stride 1 or 2 as CSR strips over a tap-shifted copy
/// of each image.
///
/// The copy holds, per tap column kx and input channel c, the image's padded rows read kx columns
/// on, each as wide as the output (`relief_shift_taps_avx512`): tap (ky, kx) of channel c then reads
/// its whole output window as contiguous floats from row ky of that plane, so a nonzero is one
/// offset and each 64-pixel strip of an output plane is four aligned-or-not 512-bit loads and
/// multiply-adds per nonzero, with no positions computed outside the output (the planar paths
/// compute a padded row's every column) and no line-splitting shifted loads where the output width
/// is a multiple of 16. The copy is kw times the input (im2col's is kh·kw times): ResNet-20's
/// 16 x 32 x 32 stage at batch 1 writes 204 KiB instead of 576 KiB; the copy is about half the
/// path's time there (`bench/micro/shifted_conv.c`). A stride of 2 copies every other column and
/// each row phase as a plane of its own (`relief_shift_taps_strided_avx512`). The common 3x3,
/// stride-1, padding-1 convolution over rows whose width divides 64 copies less (`alignedTaps`): one
/// row-padded plane per channel, the tap columns shifted in registers. AVX-512 only; the runtime
/// times this path against the others ("strips" in `InferenceModel.convolutionKernels`).
extension DirectSparseConvolution {
    /// Images copied at once, one per thread part.
    static let stripParts = 4

    /// Where the strip path runs: strides of 1 or 2 each way (a stride of 2 copies every other
    /// column, and each row phase as a plane of its own), 512-bit vectors.
    public static func stripsApply(stride: (Int, Int), padding: (Int, Int), wide: Bool) -> Bool {
        wide && (1...2).contains(stride.0) && (1...2).contains(stride.1) && padding.0 >= 0 && padding.1 >= 0
    }

    /// Rows of one plane of the copy: output rows plus the taps' reach below them in the plane's
    /// row phase (the padded input's rows for stride 1).
    func stripPlaneRows(height h: Int, width w: Int) -> Int {
        let (oh, _) = outputSize(height: h, width: w)
        return oh + (kernel.0 - 1) / stride.0
    }

    /// Floats of one image's tap-shifted copy (or row-padded copy and its slack, where `alignedTaps`).
    func stripImageFloats(height h: Int, width w: Int) -> Int {
        let (_, ow) = outputSize(height: h, width: w)
        let shifted = kernel.1 * inChannels * stride.0 * stripPlaneRows(height: h, width: w) * ow
        // Whole cache lines, so each part's copy starts aligned.
        return alignedTaps(height: h, width: w) ? (max(shifted, inChannels * tapPlaneFloats(height: h, width: w) + Self.tapSlack) + 15) / 16 * 16 : shifted
    }

    /// Whether the strip path reads a row-padded copy with its tap columns shifted in registers
    /// (`relief_conv_taps_avx512`) instead of the tap-shifted copy: 3x3, stride 1, padding 1, and
    /// rows whose width divides 64 (a strip is whole rows). The copy is a third of the size and the
    /// products load aligned vectors: ResNet-20's three stages at 10% in 0.68-0.77x the time
    /// (`bench/micro/aligned_taps.c`).
    public func alignedTaps(height h: Int, width w: Int) -> Bool {
        strips && kernel == (3, 3) && stride == (1, 1) && padding == (1, 1) && h > 0 && w > 0 && 64 % w == 0
    }

    /// Floats past a row-padded copy the aligned-tap loads may read (lanes never stored).
    static let tapSlack = 128

    /// Floats of one channel's plane in the aligned taps' copy: the image with a zero row above and
    /// below.
    func tapPlaneFloats(height h: Int, width w: Int) -> Int { (h + 2) * w }

    /// Floats of the copies in scratch (one per part), rounded up to whole cache lines: the weights'
    /// 8-byte offsets follow them.
    func stripSourceFloats(batch: Int, height h: Int, width w: Int) -> Int {
        (min(max(batch, 1), Self.stripParts) * stripImageFloats(height: h, width: w) + 15) / 16 * 16
    }

    /// L1 bytes one channel block's copy may fill (of 48 KiB on the Xeon of 2026-12-07, the rest
    /// left to the weights streaming past and the strip's output).
    static let stripBlockBytes = 32 * 1024

    /// Channel blocks the strip path copies and runs one after the other, each block's copy into the
    /// same L1-hot scratch and its partial sums kept in the output: where one strip is the whole
    /// output plane (at most 64 pixels) every filter reads the whole copy, and a copy past L1 was
    /// read from L2 (ResNet-20's 64 x 8 x 8 stage, a 60 KiB copy: 9.3 us whole, 7.5 us in two
    /// blocks, `bench/micro/shifted_conv.c`). Wider planes keep one block: strips outside, filters
    /// inside, a strip's rows already stay in L1 (blocks of them measured 1.05-2x slower).
    public func stripBlocks(height h: Int, width w: Int) -> Int {
        let (oh, ow) = outputSize(height: h, width: w)
        guard oh * ow <= 64, inChannels > 1 else { return 1 }
        let bytes = 4 * (alignedTaps(height: h, width: w) ? inChannels * tapPlaneFloats(height: h, width: w) : stripImageFloats(height: h, width: w))
        return min(inChannels, (bytes + Self.stripBlockBytes - 1) / Self.stripBlockBytes)
    }

    /// Block b's input channels (of `blocks`).
    func stripBlockChannels(_ b: Int, of blocks: Int) -> Range<Int> {
        (b * inChannels / blocks)..<((b + 1) * inChannels / blocks)
    }

    func stripScratchBytes(batch: Int, height h: Int, width w: Int) -> Int {
        let blocks = stripBlocks(height: h, width: w)
        return 4 * stripSourceFloats(batch: batch, height: h, width: w) + 8 * max(storedWeights, 1) + 4 * (blocks + 1) * outChannels
            + (alignedTaps(height: h, width: w) ? TapTables.bytes(weights: storedWeights, blocks: blocks, filters: outChannels) : 0)
    }

    /// `run` on the strip path: bias, residual and ReLU applied as each strip is written. Batches
    /// split by image between threads (each part with its own copy), a single image by filters.
    /// Input planar, or with `inputPadded` in `paddedInput` layout, read in place by the aligned
    /// taps (no copy); output planar, or with `outputRows` in `.padded(padY: outputRows, padX: 0)`
    /// layout (no residual), its zeros written unless `outputBordersZero`.
    func runStrips(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int,
                   bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int, scratch: UnsafeMutableRawPointer,
                   relu: Bool, residual: UnsafePointer<Float>?, inputPadded: Bool = false, outputRows: Int? = nil,
                   outputBordersZero: Bool = false) {
        let (ph, pw) = padding
        let (sy, sx) = stride
        let hq = stripPlaneRows(height: h, width: w), pixels = oh * ow
        guard batch > 0, pixels > 0 else { return }
        let image = stripImageFloats(height: h, width: w)
        let parts = storedWeights * batch * pixels < threadWork ? 1 : min(max(threads, 1), Self.stripParts)
        let sourceFloats = stripSourceFloats(batch: batch, height: h, width: w)
        let sources = scratch.bindMemory(to: Float.self, capacity: sourceFloats)
        let offsetScratch = (scratch + 4 * sourceFloats).bindMemory(to: Int64.self, capacity: max(storedWeights, 1))
        // Partial sums live in y between blocks, so a residual read from y itself takes one block.
        let blocks = residual.map { UnsafeRawPointer($0) == UnsafeRawPointer(y) } == true ? 1 : stripBlocks(height: h, width: w)
        let (kw, rows) = (kernel.1, outChannels)
        let boundBytes = 4 * (stripBlocks(height: h, width: w) + 1) * rows
        let boundScratch = (scratch + 4 * sourceFloats + 8 * max(storedWeights, 1)).bindMemory(to: UInt32.self, capacity: (blocks + 1) * rows)
        // Where taps shift in registers: the nonzeros regrouped by tap column, kept per layout (or,
        // past the cache's bound, made in scratch); the copy's planes, or the padded input's channels.
        let tapPlane = inputPadded ? ActivationLayout.paddedChannelFloats(batch: batch, height: h, width: w, padY: 1, padX: 0)
            : tapPlaneFloats(height: h, width: w)
        precondition(!inputPadded || alignedTaps(height: h, width: w), "a padded input needs the aligned taps")
        let taps: TapTables.Layout? = alignedTaps(height: h, width: w) ? {
            let key = SIMD4(blocks, h, w, tapPlane)
            if let kept = tapTables.value(key, make: { TapTables(self, blocks: blocks, height: h, width: w, plane: tapPlane) }) {
                return kept.layout
            }
            let layout = TapTables.Layout(scratch: scratch + 4 * sourceFloats + 8 * max(storedWeights, 1) + boundBytes, offsets: offsetScratch,
                                          weights: storedWeights, blocks: blocks, filters: rows)
            TapTables.fill(layout, self, blocks: blocks, height: h, width: w, plane: tapPlane)
            return layout
        }() : nil
        // The tap-shifted copy's tables, where taps do not apply. bounds[b·rows + r]: row r's first
        // nonzero in block b (nonzeros are ordered by channel); b = blocks is the row's end.
        let boundStride = blocks == 1 ? 1 : rows
        var bounds = UnsafePointer(rowStart)
        var offsets = UnsafePointer(offsetScratch)
        if taps == nil {
            if blocks > 1 {
                bounds = stripBounds.offsets(.init(path: blocks, strides: [0, 0]), count: (blocks + 1) * rows, scratch: boundScratch) { table in
                    for r in 0..<rows {
                        var k = Int(self.rowStart[r])
                        for b in 0..<blocks {
                            let first = self.stripBlockChannels(b, of: blocks).lowerBound
                            while k < Int(self.rowStart[r + 1]) && Int(self.channel[k]) < first { k += 1 }
                            table[b * rows + r] = UInt32(k)
                        }
                        table[blocks * rows + r] = self.rowStart[r + 1]
                    }
                }
            }
            let blockBounds = bounds
            // Offsets into the copy of the nonzero's own block (channel c is c - first of its block).
            offsets = offsetTables.offsets(.init(path: blocks > 1 ? 3 : 2, strides: [hq, ow]), count: storedWeights,
                                           scratch: offsetScratch) { table in
                for b in 0..<blocks {
                    let range = self.stripBlockChannels(b, of: blocks)
                    for r in 0..<rows {
                        for k in Int(blockBounds[b * boundStride + r])..<Int(blockBounds[(b + 1) * boundStride + r]) {
                            let (c, ky) = (Int(self.channel[k]) - range.lowerBound, Int(self.tapY[k]))
                            table[k] = Int64((((Int(self.tapX[k]) * range.count + c) * sy + ky % sy) * hq + ky / sy) * ow)
                        }
                    }
                }
            }
        }
        // Where image b's output starts, and the stride between filters.
        var (outFirst, outImage, yStride) = (0, pixels, batch * pixels)
        if let py = outputRows {
            (outFirst, outImage) = (py * ow, (oh + py) * ow)
            yStride = ActivationLayout.paddedChannelFloats(batch: batch, height: oh, width: ow, padY: py, padX: 0)
            if !outputBordersZero {
                relief_pad_shared(nil, Int64(rows), Int64(batch), Int64(oh), Int64(ow), Int64(py), 0, Int64(yStride),
                                  Int64(ActivationLayout.paddedSlack), y)
            }
        }
        func convolve(_ b: Int, _ source: UnsafePointer<Float>, block: Int, rows: Range<Int>) {
            let last = block + 1 == blocks
            let out = y + outFirst + b * outImage
            if let taps {
                relief_conv_taps_avx512(taps.bounds + block * 3 * self.outChannels, taps.offsets, taps.values, source, Int64(pixels),
                                        Int64(w), block == 0 ? bias : nil, last ? residual.map { $0 + b * pixels } : nil,
                                        last && relu ? 1 : 0, block > 0 ? 1 : 0, out, Int64(yStride),
                                        Int64(rows.lowerBound), Int64(rows.upperBound))
                return
            }
            relief_conv_strips_avx512(bounds + block * boundStride, bounds + (block + 1) * boundStride, offsets, values, source,
                                      Int64(pixels), block == 0 ? bias : nil, last ? residual.map { $0 + b * pixels } : nil,
                                      last && relu ? 1 : 0, block > 0 ? 1 : 0, out, Int64(yStride),
                                      Int64(rows.lowerBound), Int64(rows.upperBound))
        }
        /// What image b's `block` reads: the padded input in place (the zero row above its first
        /// row), or the copy made into `source`.
        func read(_ b: Int, block: Int, copy source: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
            inputPadded ? x + stripBlockChannels(block, of: blocks).lowerBound * tapPlane + b * (h + 1) * w : UnsafePointer(source)
        }
        /// Image b's copy of `block`, or of part `part` of its channels (of `parts`), tap column by
        /// tap column into the block's layout (a one-column copy whose shift is that column's).
        func shift(_ b: Int, block: Int, into source: UnsafeMutablePointer<Float>, part: Int = 0, of parts: Int = 1) {
            guard !inputPadded else { return }
            let range = stripBlockChannels(block, of: blocks)
            let sub = (range.lowerBound + range.count * part / parts)..<(range.lowerBound + range.count * (part + 1) / parts)
            guard !sub.isEmpty else { return }
            let first = x + sub.lowerBound * batch * h * w
            func copy(columns: Int, shift: Int, into out: UnsafeMutablePointer<Float>) {
                if stride == (1, 1) {
                    relief_shift_taps_avx512(first, Int64(sub.count), Int64(batch), Int64(b), Int64(h), Int64(w),
                                             Int64(ph), Int64(shift), Int64(columns), Int64(hq), Int64(ow), out)
                } else {
                    relief_shift_taps_strided_avx512(first, Int64(sub.count), Int64(batch), Int64(b), Int64(h), Int64(w), Int64(ph),
                                                     Int64(shift), Int64(columns), Int64(sy), Int64(sx), Int64(hq), Int64(ow), out)
                }
            }
            if taps != nil {
                // The row-padded copy: one unshifted column, channel c of the block (c - first) planes in.
                return copy(columns: 1, shift: 0, into: source + (sub.lowerBound - range.lowerBound) * tapPlane)
            }
            guard parts > 1 else { return copy(columns: kw, shift: pw, into: source) }
            for kx in 0..<kw {
                copy(columns: 1, shift: pw - kx, into: source + (kx * range.count + sub.lowerBound - range.lowerBound) * sy * hq * ow)
            }
        }
        if batch >= parts {
            Parallel.run(parts: parts) { p in
                let source = sources + p * image
                for b in (batch * p / parts)..<(batch * (p + 1) / parts) {
                    for block in 0..<blocks {
                        shift(b, block: block, into: source)
                        convolve(b, read(b, block: block, copy: source), block: block, rows: 0..<rows)
                    }
                }
            }
            return
        }
        // Fewer images than threads: each block's copy split by channels, then its filters.
        let ranges = partitions.ranges(threads: parts, work: threadWork)
        for b in 0..<batch {
            for block in 0..<blocks {
                if !inputPadded { Parallel.run(parts: parts) { p in shift(b, block: block, into: sources, part: p, of: parts) } }
                Parallel.run(ranges) { rows in convolve(b, read(b, block: block, copy: sources), block: block, rows: rows) }
            }
        }
    }
}

/// The aligned-tap strips' weights for one channel blocking and input layout: block by block,
/// filter by filter, the nonzeros of tap column 0, then 1, then 2 (`relief_conv_taps_avx512`'s runs),
/// each with its offset from the block's first channel (`plane` floats a channel: the row-padded
/// copy's, or a padded input's channel stride).
final class TapTables: @unchecked Sendable {
    /// Where the three arrays are. Run g of filter r in block b: bounds[3·(b·filters + r) + g] ..< the next entry.
    struct Layout {
        let bounds: UnsafeMutablePointer<UInt32>
        let offsets: UnsafeMutablePointer<Int64>
        let values: UnsafeMutablePointer<Float>

        /// In scratch: bounds and values at `scratch` (`TapTables.bytes` of it, less the offsets), offsets at `offsets`.
        init(scratch: UnsafeMutableRawPointer, offsets: UnsafeMutablePointer<Int64>, weights: Int, blocks: Int, filters: Int) {
            self.offsets = offsets
            values = scratch.bindMemory(to: Float.self, capacity: max(weights, 1))
            bounds = (scratch + 4 * max(weights, 1)).bindMemory(to: UInt32.self, capacity: 3 * blocks * filters + 1)
        }

        init(bounds: UnsafeMutablePointer<UInt32>, offsets: UnsafeMutablePointer<Int64>, values: UnsafeMutablePointer<Float>) {
            (self.bounds, self.offsets, self.values) = (bounds, offsets, values)
        }
    }

    let layout: Layout

    /// Scratch bytes for the tables beyond the strip path's offsets: values and bounds.
    static func bytes(weights: Int, blocks: Int, filters: Int) -> Int { 4 * max(weights, 1) + 4 * (3 * blocks * filters + 1) }

    init(_ conv: DirectSparseConvolution, blocks: Int, height h: Int, width w: Int, plane: Int) {
        let count = max(conv.storedWeights, 1)
        layout = Layout(bounds: .allocate(capacity: 3 * blocks * conv.outChannels + 1), offsets: .allocate(capacity: count),
                        values: .allocate(capacity: count))
        Self.fill(layout, conv, blocks: blocks, height: h, width: w, plane: plane)
    }

    static func fill(_ t: Layout, _ conv: DirectSparseConvolution, blocks: Int, height h: Int, width w: Int, plane: Int) {
        let rows = conv.outChannels
        var n = 0
        for b in 0..<blocks {
            let range = conv.stripBlockChannels(b, of: blocks)
            for r in 0..<rows {
                for g in 0..<3 {
                    t.bounds[3 * (b * rows + r) + g] = UInt32(n)
                    for k in Int(conv.rowStart[r])..<Int(conv.rowStart[r + 1]) where Int(conv.tapX[k]) == g && range.contains(Int(conv.channel[k])) {
                        t.offsets[n] = Int64((Int(conv.channel[k]) - range.lowerBound) * plane + Int(conv.tapY[k]) * w)
                        t.values[n] = conv.values[k]
                        n += 1
                    }
                }
            }
        }
        t.bounds[3 * blocks * rows] = UInt32(n)
    }

    deinit {
        layout.bounds.deallocate()
        layout.offsets.deallocate()
        layout.values.deallocate()
    }
}
