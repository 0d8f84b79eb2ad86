import CReliefSIMD

/// The batch-interleaved path of the direct convolution (any stride): the input is copied to (or already comes
/// as) `[B/8][C][H + 2·ph][W + 2·pw][8]` (`ActivationLayout.interleaved`), so one AVX2 vector holds
/// one pixel of 8 images. Every load is then aligned (the extended-position vectors straddle cache
/// lines half the time) and only real outputs are computed: on 4x4 and 2x2 planes (VGG's last
/// layers) the extended positions are a third to a half padding. Eight outputs of 8 images go back
/// to `[O][B][OH·OW]` as one 8x8 transpose when the output is planar. Each chunk of entries runs
/// every filter, channel block after channel block: the input is read once and the weights (stored
/// block by block, read in order) once per chunk. Filters in groups of 32, each group over the
/// whole batch, read the input once per group instead, which measured slower on VGG-11 at batch
/// 64, whose inputs outweigh its weights (conv7: 2 MB of input and 16 groups, against 0.9 MB of
/// weights and 4 chunks).
extension DirectSparseConvolution {
    /// Mean nonzeros per filter from which the interleaved path is taken: below it the copy of the
    /// input into the interleaved layout costs more than the aligned loads save (VGG-11's conv2 at
    /// 5%, 29 per filter, is faster interleaved since the write-back is a transpose).
    public static let interleavedWeightsPerFilter = 16
    /// Mean nonzeros per input channel from which the interleaved path is taken anyway: a thin input
    /// costs little to copy, and interleaved the layer computes the pooling after it and hands its
    /// output on without transposes (VGG-11's conv1 at 5%, 30 weights per channel but 1.4 per filter:
    /// conv1 and pool1 at batch 64 from about 3.5 to 2.2 ms, `tools/ab_bench.py`).
    public static let interleavedWeightsPerChannel = 16

    /// Whether `run` (with scratch, on an AVX2 + FMA CPU) takes the batch-interleaved path for this
    /// batch and output size (row tiles go first where they apply).
    public func interleaves(batch: Int, outHeight oh: Int, outWidth ow: Int) -> Bool {
        guard interleavable && !(rowTiles && oh >= 8 && ow >= 8) && oh > 0 && ow > 0 && batch >= 8
        else { return false }
        // Offsets are int32: the whole interleaved copy must stay below 2^31 floats (its padded
        // planes are at most (oh - 1)·sy + kh + sy - 1 rows, and as many columns).
        let rows = (oh - 1).multipliedReportingOverflow(by: max(stride.0, 1)), columns = (ow - 1).multipliedReportingOverflow(by: max(stride.1, 1))
        guard !rows.overflow && !columns.overflow else { return false }
        let (area, over1) = (rows.partialValue + kernel.0 + stride.0).multipliedReportingOverflow(by: columns.partialValue + kernel.1 + stride.1)
        let (floats, over2) = area.multipliedReportingOverflow(by: 8 * ((batch + 7) / 8) * max(inChannels, 1))
        return !over1 && !over2 && floats <= Int(Int32.max)
    }

    /// Whether the planar row tiles (`relief_conv_rows8`) run at this output size and can write a
    /// 2x2 max pooling of stride 2 as they go: every tile starts on an even row and column.
    public func poolsInRowTiles(outHeight oh: Int, outWidth ow: Int) -> Bool {
        SIMDSupport.avx2FMA && !portable && rowTiles && oh >= 8 && ow >= 8 && oh % 2 == 0 && ow % 2 == 0
    }

    /// Whether `run(pooled: true)` can compute a 2x2 max pooling of stride 2 of this convolution's
    /// output at this batch: on the interleaved path, or in planar row tiles (whose pooled output is
    /// planar).
    public func fusesPool(batch: Int, outHeight oh: Int, outWidth ow: Int) -> Bool {
        interleaves(batch: batch, outHeight: oh, outWidth: ow) || poolsInRowTiles(outHeight: oh, outWidth: ow)
    }

    struct InterleavedLayout {
        /// Groups of 8 images, pixels per padded row, padded pixels per plane.
        var groups: Int, paddedRow: Int, planePixels: Int
        /// Floats of one channel's plane for one group: the distance between channels.
        var planeFloats: Int { planePixels * 8 }
        /// Floats of all channels and groups.
        func floats(channels: Int) -> Int { groups * channels * planeFloats }
    }

    func interleavedLayout(batch: Int, height h: Int, width w: Int) -> InterleavedLayout {
        let (hp, wp) = (h + 2 * padding.0, w + 2 * padding.1)
        return InterleavedLayout(groups: (batch + 7) / 8, paddedRow: wp, planePixels: hp * wp)
    }

    func runInterleaved(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int,
                        bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int,
                        scratch: UnsafeMutableRawPointer, relu: Bool, residual: UnsafePointer<Float>?,
                        input: ActivationLayout = .planar, output: ActivationLayout = .planar, pooled: Bool = false) {
        let shape = interleavedLayout(batch: batch, height: h, width: w)
        let (ph, pw, wp, groups) = (padding.0, padding.1, shape.paddedRow, shape.groups)
        let count = shape.floats(channels: inChannels)
        let copy = scratch.bindMemory(to: Float.self, capacity: count + accumulatorFloats * RowPartitions.maxParts)
        let source: UnsafePointer<Float>
        if input == .planar {
            // The copy: zero borders (and the missing images of a last partial group), then each image
            // row of 8 images transposed into [column][image].
            for c in 0..<inChannels {
                for g in 0..<groups {
                    let plane = copy + (g * inChannels + c) * shape.planeFloats
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
            source = UnsafePointer(copy)
        } else {
            // Already [G][C][H + 2·ph][W + 2·pw][8] with zero borders: the previous layer wrote it so.
            source = x
        }
        let accumulators = copy + count
        let scratchOffsets = (UnsafeMutableRawPointer(accumulators + accumulatorFloats * RowPartitions.maxParts) + 7)
            .alignedDown(toMultipleOf: 8).bindMemory(to: Int32.self, capacity: max(storedWeights, 1))
        // Group-major, so the offsets do not depend on the batch (only on the padded width).
        let planeFloats = Int32(shape.planeFloats), rowFloats = Int32(wp * 8)
        let offsets = interleavedOffsetTables.offsets(.init(path: 0, strides: [Int(planeFloats), Int(rowFloats)]), count: storedWeights,
                                                      scratch: scratchOffsets) { offsets in
            for n in 0..<self.storedWeights {
                offsets[n] = Int32(self.interleavedChannel[n]) * planeFloats + Int32(self.interleavedTapY[n]) * rowFloats
                    + Int32(self.interleavedTapX[n]) * 8
            }
        }
        // Chunks of entries (a pixel of a group of 8 images) whose windows fit in L1; with more than
        // 32 planes, channel blocks of 32, and then each filter keeps one tile of accumulators
        // between blocks, so 8 entries a chunk, or 16 for the 512-bit tiles (`wide`: VGG-style
        // layers at batch 64 in bench/micro/interleaved_windows.c, 1.2-1.4x the 8-entry AVX2 tiles).
        let blocked = channelBlocks > 1
        let tile = wide ? 16 : 8
        let perChunk = blocked ? tile : max(tile, min(256, (1 << 14) / (32 * max(inChannels, 1) * max(kernel.0, 1))) / tile * tile)
        assert((blocked ? outChannels : 1) * 64 * ((perChunk + 7) / 8) <= accumulatorFloats, "accumulators overflow their part")
        // Pooled: the output is (oh / 2) x (ow / 2) and each of its pixels four entries (its window).
        let (outH, outW) = pooled ? (oh / 2, ow / 2) : (oh, ow)
        let pixels = outH * outW, entries = groups * pixels * (pooled ? 4 : 1)
        let chunks = (entries + perChunk - 1) / perChunk
        let work = storedWeights * entries * 8
        let parts = work < threadWork ? 1 : min(max(threads, 1), RowPartitions.maxParts, chunks)
        let blocks = channelBlocks, filterStride = batch * pixels
        output.withDescription(channels: outChannels, batch: batch, height: outH, width: outW) { layout in
            if let layout { relief_zero_borders(y, layout, Int64(outChannels), Int64(groups), Int64(outH), Int64(outW)) }
            Parallel.run(parts: parts) { p in
                let acc = accumulators + p * self.accumulatorFloats
                for c in (chunks * p / parts)..<(chunks * (p + 1) / parts) {
                    let e0 = c * perChunk, e1 = min(e0 + perChunk, entries)
                    let run = self.wide ? relief_conv_interleaved_avx512 : relief_conv_interleaved
                    run(self.interleavedStart, Int64(blocks), Int64(self.outChannels), offsets, self.interleavedValues,
                        source, bias, Int64(e0), Int64(e1), Int64(pixels), Int64(outW), Int64(wp), Int64(stride.0), Int64(stride.1),
                        Int64(inChannels * shape.planePixels),
                        acc, y, residual, Int64(filterStride), Int64(batch), relu ? 1 : 0, layout, pooled ? 1 : 0)
                }
            }
        }
    }
}
