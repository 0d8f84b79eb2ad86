import CReliefSIMD

/// The strip path (`strips`): a stride-1 convolution as CSR strips over a tap-shifted copy of each
/// image.
///
/// The copy holds, per tap column kx and input channel c, the image's padded rows read kx columns
/// on, each as wide as the output (`relief_shift_taps_avx512`): tap (ky, kx) of channel c then reads
/// its whole output window as contiguous floats from row ky of that plane, so a nonzero is one
/// offset and each 64-pixel strip of an output plane is four aligned-or-not 512-bit loads and
/// multiply-adds per nonzero, with no positions computed outside the output (the planar paths
/// compute a padded row's every column) and no line-splitting shifted loads where the output width
/// is a multiple of 16. The copy is kw times the input (im2col's is kh·kw times): ResNet-20's
/// 16 x 32 x 32 stage at batch 1 writes 204 KiB instead of 576 KiB; the copy is about half the
/// path's time there (`bench/micro/shifted_conv.c`). AVX-512 only; the runtime times this path
/// against the others ("strips" in `InferenceModel.convolutionKernels`).
extension DirectSparseConvolution {
    /// Images copied at once, one per thread part.
    static let stripParts = 4

    /// Where the strip path runs: stride 1 (a strided tap would need a copy per stride phase too),
    /// 512-bit vectors.
    public static func stripsApply(stride: (Int, Int), padding: (Int, Int), wide: Bool) -> Bool {
        wide && stride == (1, 1) && padding.0 >= 0 && padding.1 >= 0
    }

    /// Floats of one image's tap-shifted copy.
    func stripImageFloats(height h: Int, width w: Int) -> Int {
        let (_, ow) = outputSize(height: h, width: w)
        return kernel.1 * inChannels * (h + 2 * padding.0) * ow
    }

    /// Floats of the copies in scratch (one per part), rounded up to whole cache lines: the weights'
    /// 8-byte offsets follow them.
    func stripSourceFloats(batch: Int, height h: Int, width w: Int) -> Int {
        (min(max(batch, 1), Self.stripParts) * stripImageFloats(height: h, width: w) + 15) / 16 * 16
    }

    func stripScratchBytes(batch: Int, height h: Int, width w: Int) -> Int {
        4 * stripSourceFloats(batch: batch, height: h, width: w) + 8 * max(storedWeights, 1)
    }

    /// `run` on the strip path: planar input and output, bias, residual and ReLU applied as each
    /// strip is written. Batches split by image between threads (each part with its own copy), a
    /// single image by filters.
    func runStrips(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int,
                   bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int, scratch: UnsafeMutableRawPointer,
                   relu: Bool, residual: UnsafePointer<Float>?) {
        let (ph, pw) = padding
        let hp = h + 2 * ph, pixels = oh * ow
        guard batch > 0, pixels > 0 else { return }
        let image = stripImageFloats(height: h, width: w)
        let parts = storedWeights * batch * pixels < threadWork ? 1 : min(max(threads, 1), Self.stripParts)
        let sourceFloats = stripSourceFloats(batch: batch, height: h, width: w)
        let sources = scratch.bindMemory(to: Float.self, capacity: sourceFloats)
        let offsetScratch = (scratch + 4 * sourceFloats).bindMemory(to: Int64.self, capacity: max(storedWeights, 1))
        let (channels, kw) = (inChannels, kernel.1)
        let offsets = offsetTables.offsets(.init(path: 2, strides: [hp, ow]), count: storedWeights, scratch: offsetScratch) { table in
            for k in 0..<storedWeights {
                table[k] = Int64(((Int(tapX[k]) * channels + Int(channel[k])) * hp + Int(tapY[k])) * ow)
            }
        }
        let yStride = Int64(batch * pixels)
        func convolve(_ b: Int, _ source: UnsafeMutablePointer<Float>, rows: Range<Int>) {
            relief_conv_strips_avx512(rowStart, offsets, values, source, Int64(pixels), bias, residual.map { $0 + b * pixels },
                                      relu ? 1 : 0, y + b * pixels, yStride, Int64(rows.lowerBound), Int64(rows.upperBound))
        }
        func shift(_ b: Int, into source: UnsafeMutablePointer<Float>) {
            relief_shift_taps_avx512(x, Int64(channels), Int64(batch), Int64(b), Int64(h), Int64(w), Int64(ph), Int64(pw), Int64(kw),
                                     Int64(hp), Int64(ow), source)
        }
        if batch >= parts {
            let ranges = (0..<parts).map { p in (batch * p / parts)..<(batch * (p + 1) / parts) }
            Parallel.run(ranges) { range in
                let source = sources + ranges.firstIndex(of: range)! * image
                for b in range {
                    shift(b, into: source)
                    convolve(b, source, rows: 0..<self.outChannels)
                }
            }
            return
        }
        // Fewer images than threads: the filters split, after the whole copy.
        let ranges = partitions.ranges(threads: parts, work: threadWork)
        for b in 0..<batch {
            shift(b, into: sources)
            Parallel.run(ranges) { rows in convolve(b, sources, rows: rows) }
        }
    }
}
