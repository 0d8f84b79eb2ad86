import CReliefSIMD

/// The batch-interleaved path of the direct convolution: the input is copied to
/// `[C][B/8][H + 2·ph][W + 2·pw][8]`, so one AVX2 vector holds one pixel of 8 images. Every load is
/// then aligned (the extended-position vectors straddle cache lines half the time) and only real
/// outputs are computed: on 4x4 and 2x2 planes (VGG's last layers) the extended positions are a
/// third to a half padding. The outputs go back to `[O][B][OH·OW]` lane by lane, which only pays
/// for filters with many weights; hence `interleaves(batch:)`.
extension DirectSparseConvolution {
    /// Mean nonzeros per filter from which the interleaved path is taken: each output costs a scalar
    /// write-back, about the price of a few dozen multiply-adds per 8 outputs.
    public static let interleavedWeightsPerFilter = 32

    /// Whether `run` (with scratch, on an AVX2 + FMA CPU) takes the batch-interleaved path for this
    /// batch and output size (row tiles go first where they apply).
    public func interleaves(batch: Int, outHeight oh: Int, outWidth ow: Int) -> Bool {
        SIMDSupport.avx2FMA && !portable && !(rowTiles && oh >= 8 && ow >= 8) && oh > 0 && ow > 0 && stride == (1, 1) && batch >= 8
            && storedWeights >= Self.interleavedWeightsPerFilter * outChannels
    }

    struct InterleavedLayout {
        var groups: Int, paddedRow: Int, groupPixels: Int
        /// Floats per input channel, and in all.
        var channelStride: Int { groups * groupPixels * 8 }
    }

    func interleavedLayout(batch: Int, height h: Int, width w: Int) -> InterleavedLayout {
        let (hp, wp) = (h + 2 * padding.0, w + 2 * padding.1)
        return InterleavedLayout(groups: (batch + 7) / 8, paddedRow: wp, groupPixels: hp * wp)
    }

    func runInterleaved(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int,
                        bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int,
                        scratch: UnsafeMutableRawPointer, relu: Bool, residual: UnsafePointer<Float>?) {
        let shape = interleavedLayout(batch: batch, height: h, width: w)
        let (ph, pw, wp, groups) = (padding.0, padding.1, shape.paddedRow, shape.groups)
        let count = inChannels * shape.channelStride
        let source = scratch.bindMemory(to: Float.self, capacity: count + accumulatorFloats * RowPartitions.maxParts)
        // The copy: zero borders (and the missing images of a last partial group), then each image
        // row of 8 images transposed into [column][image].
        for c in 0..<inChannels {
            for g in 0..<groups {
                let plane = source + (c * groups + g) * shape.groupPixels * 8
                let images = min(8, batch - 8 * g)
                plane.update(repeating: 0, count: ph * wp * 8)
                (plane + (ph + h) * wp * 8).update(repeating: 0, count: ph * wp * 8)
                for r in 0..<h {
                    let row = plane + (ph + r) * wp * 8
                    row.update(repeating: 0, count: pw * 8)
                    (row + (pw + w) * 8).update(repeating: 0, count: pw * 8)
                    if images < 8 { (row + pw * 8).update(repeating: 0, count: w * 8) }
                    relief_transpose(x + ((c * batch + 8 * g) * h + r) * w, Int64(images), Int64(w), Int64(h * w), row + pw * 8, 8)
                }
            }
        }
        let accumulators = source + count
        let offsets = (UnsafeMutableRawPointer(accumulators + accumulatorFloats * RowPartitions.maxParts) + 7)
            .alignedDown(toMultipleOf: 8).bindMemory(to: Int64.self, capacity: max(storedWeights, 1))
        for k in 0..<storedWeights {
            offsets[k] = Int64(Int(channel[k]) * shape.channelStride + (Int(tapY[k]) * wp + Int(tapX[k])) * 8)
        }
        // Chunks of entries (a pixel of a group of 8 images) whose windows fit in L1, all filters per
        // chunk; with more than 32 planes, channel blocks of 32, and then every filter keeps one tile
        // of accumulators (`accumulatorFloats`), so 8 entries a chunk.
        let blocked = channelBlocks > 1
        let perChunk = blocked ? 8 : max(8, min(256, (1 << 14) / (32 * max(inChannels, 1) * max(kernel.0, 1))) / 8 * 8)
        assert((blocked ? outChannels : 1) * 64 * ((perChunk + 7) / 8) <= accumulatorFloats, "accumulators overflow their part")
        let pixels = oh * ow, entries = groups * pixels
        let chunks = (entries + perChunk - 1) / perChunk
        let work = storedWeights * entries * 8
        let parts = work < threadWork ? 1 : min(max(threads, 1), RowPartitions.maxParts, chunks)
        let (starts, blocks) = blocked ? (UnsafePointer(blockStart), channelBlocks) : (UnsafePointer(rowStart), 1)
        Parallel.run(parts: parts) { p in
            let acc = accumulators + p * self.accumulatorFloats
            for c in (chunks * p / parts)..<(chunks * (p + 1) / parts) {
                let e0 = c * perChunk, e1 = min(e0 + perChunk, entries)
                relief_conv_interleaved(starts, Int64(blocks), offsets, self.values, Int64(self.outChannels), source, bias, Int64(e0),
                                        Int64(e1), Int64(pixels), Int64(ow), Int64(wp), Int64(shape.groupPixels), acc, y, residual,
                                        Int64(batch * pixels), Int64(batch), relu ? 1 : 0)
            }
        }
    }
}
