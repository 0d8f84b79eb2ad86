import CReliefSIMD
import ReliefFormat

/// A convolution computed straight from its sparse kernels, without im2col: every surviving weight
/// w of filter o, input channel c and tap (ky, kx) adds w times a shifted window of channel c to
/// output channel o, one contiguous output row at a time. Nothing is materialised, so the cost
/// follows the nonzeros alone; im2col writes and reads every tap of every input channel, even
/// where all weights are zero.
///
/// Layout as the runtime's: input `[C][B][H·W]`, output `[O][B][OH·OW]`.
public final class DirectSparseConvolution: @unchecked Sendable {
    /// "direct", or "strips" for a convolution built to take the strip path (`strips`).
    public let name: String
    /// Whether planar calls take the strip path (`DirectSparseConvolution+Strips.swift`): asked for
    /// at init, on an AVX-512 CPU, stride 1. Such a convolution keeps to planar layouts (no row
    /// tiles, no interleaving, no padded input or output).
    public let strips: Bool
    public let outChannels: Int, inChannels: Int
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    public let storedWeights: Int
    /// Only the portable Swift loops, even where AVX2 is available (tests check both paths).
    public let portable: Bool
    /// Whether the vectorised paths run 512-bit tiles (an AVX-512 CPU, not `portable`, not turned
    /// off at init; tests check both widths): 16 entries in the batch-interleaved path, 16 vectors in
    /// the planar vector tiles, two images at once in the row tiles.
    public let wide: Bool
    /// Per nonzero: the input channel and tap, and the weight; grouped by filter.
    let rowStart: UnsafeMutablePointer<UInt32>
    let channel: UnsafeMutablePointer<UInt32>
    let tapY: UnsafeMutablePointer<UInt16>
    let tapX: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<Float>
    /// The same nonzeros in the stride-phase layout of the whole-plane path: input plane
    /// `channel · sy·sx + phase` and the shift (ky / sy, kx / sx) within it (stride 1: as above).
    let plane: UnsafeMutablePointer<UInt32>
    let shiftY: UnsafeMutablePointer<UInt16>
    let shiftX: UnsafeMutablePointer<UInt16>
    let partitions: RowPartitions
    /// Filter o's nonzeros in input-channel blocks of `Self.blockPlanes` planes (channels times stride
    /// phases): block j is blockStart[o·channelBlocks + j] ..< blockStart[o·channelBlocks + j + 1].
    let blockStart: UnsafeMutablePointer<UInt32>
    let channelBlocks: Int
    /// Input planes per channel block: 32 windows of a 64-position chunk (plus the taps' reach) fit
    /// in L1 beside the accumulators.
    static let blockPlanes = 32
    /// For row tiles (`relief_conv_rows8`): filter o's (channel, tap column) groups
    /// groupStart[o] ..< groupStart[o + 1], each with kernel.0 weights (zero where pruned). Empty
    /// unless `rowTiles`.
    let groupStart: UnsafeMutablePointer<UInt32>
    let groupChannel: [UInt32], groupTapX: [Int]
    let groupWeights: UnsafeMutablePointer<Float>
    /// For the batch-interleaved path (`interleavable` only): the nonzeros again, block by block and
    /// within a block filter by filter, so a channel block's weights of all filters are contiguous,
    /// in the order that path reads them. Block j of filter o is interleavedStart[j·outChannels + o]
    /// ..< the next entry; at each position, the nonzero's input channel, tap row and column and
    /// weight (read in order when the offsets are computed, so that loop streams).
    let interleavedStart: UnsafeMutablePointer<UInt32>
    let interleavedChannel: UnsafeMutablePointer<UInt32>
    let interleavedTapY: UnsafeMutablePointer<UInt16>
    let interleavedTapX: UnsafeMutablePointer<UInt16>
    let interleavedValues: UnsafeMutablePointer<Float>
    /// An AVX2 + FMA CPU, not `portable`, and at least `interleavedWeightsPerFilter`
    /// nonzeros per filter or `interleavedWeightsPerChannel` per input channel on average (only then
    /// is the block-major copy kept): whether any batch can take the batch-interleaved path
    /// (`interleaves`).
    public let interleavable: Bool
    /// Whether the AVX2 path takes tiles of 8 rows x 8 columns that share each loaded input row
    /// between the tap rows: stride 1, kernels of 1 to 7 rows, and tap columns at least
    /// `Self.rowTileFill` full (a pruned tap still costs its multiply-add there).
    public let rowTiles: Bool
    /// The fill of the (channel, tap column) groups from which row tiles beat vector tiles: per
    /// nonzero they do 1/fill multiply-adds and about (8 + 2·kh) / (8·kh·fill) loads per output
    /// vector, against one multiply-add and 1.25 (often line-splitting) loads.
    public static let rowTileFill = 0.75

    /// Multiply-adds from which a call splits between threads (`Parallel.minimumWork` unless set).
    public let threadWork: Int
    /// Each weight's (or row-tile group's) offset into the source, per source layout.
    let offsetTables = OffsetTables<Int64>()
    /// The same for the batch-interleaved path.
    let interleavedOffsetTables = OffsetTables<Int32>()
    /// The strip path's per-block row bounds, per block count (`DirectSparseConvolution+Strips.swift`).
    let stripBounds = OffsetTables<UInt32>()
    /// The aligned-tap strips' nonzeros regrouped by channel block, filter and tap column, per
    /// (blocks, input height, input width) (`DirectSparseConvolution+Strips.swift`).
    let tapTables = LayoutCache<SIMD4<Int>, TapTables>()
    /// The vector tiles' covers of the outputs, per (batch, output height and width, plane and row
    /// stride, last readable position or -1, vectors per chunk).
    let covers = LayoutCache<SIMD8<Int>, KeptCover>()

    /// `m` is the `[O, C·kh·kw]` weight matrix (columns ordered channel, then tap row, then tap
    /// column); `threadWork` below the default lets tests exercise the thread split on small shapes.
    /// `strips` asks for the strip path (granted where `stripsApply`).
    public init(_ m: CSRMatrix, inChannels: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), portable: Bool = false,
                avx512: Bool = true, threadWork: Int = Parallel.minimumWork, strips: Bool = false) {
        self.threadWork = threadWork
        wide = SIMDSupport.wide(avx512, portable: portable)
        self.strips = strips && Self.stripsApply(stride: stride, padding: padding, wide: wide)
        name = self.strips ? "strips" : "direct"
        precondition(m.columns == inChannels * kernel.0 * kernel.1, "weight columns do not match C x kh x kw")
        precondition(kernel.0 <= Int(UInt16.max) && kernel.1 <= Int(UInt16.max), "kernel too large")
        outChannels = m.rows
        self.portable = portable
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
        plane = .allocate(capacity: max(m.nnz, 1))
        shiftY = .allocate(capacity: max(m.nnz, 1))
        shiftX = .allocate(capacity: max(m.nnz, 1))
        for r in 0...m.rows { rowStart[r] = UInt32(m.rowPointers[r]) }
        let area = kernel.0 * kernel.1
        let (sy, sx) = (max(stride.0, 1), max(stride.1, 1))
        for k in 0..<m.nnz {
            let col = Int(m.columnIndices[k])
            let (c, ky, kx) = (col / area, col % area / kernel.1, col % kernel.1)
            channel[k] = UInt32(c)
            tapY[k] = UInt16(ky)
            tapX[k] = UInt16(kx)
            values[k] = m.values[k]
            plane[k] = UInt32(c * sy * sx + (ky % sy) * sx + kx % sx)
            shiftY[k] = UInt16(ky / sy)
            shiftX[k] = UInt16(kx / sx)
        }
        let starts = rowStart
        partitions = RowPartitions(rows: m.rows) { Int(starts[$0]) + $0 }
        let blockChannels = max(1, Self.blockPlanes / (sy * sx))
        channelBlocks = (inChannels + blockChannels - 1) / blockChannels
        var blocks = [UInt32](repeating: 0, count: m.rows * channelBlocks + 1)
        for r in 0..<m.rows {
            // Nonzeros are ordered by column, so by channel: each block starts at the first nonzero of
            // a channel at or after its first one.
            var k = m.rowPointers[r]
            for j in 0..<channelBlocks {
                while k < m.rowPointers[r + 1] && Int(m.columnIndices[k]) / area < j * blockChannels { k += 1 }
                blocks[r * channelBlocks + j] = UInt32(k)
            }
        }
        blocks[m.rows * channelBlocks] = UInt32(m.nnz)
        blockStart = .allocate(capacity: blocks.count)
        blockStart.initialize(from: blocks, count: blocks.count)
        interleavable = !self.strips && SIMDSupport.avx2FMA && !portable && m.nnz > 0 && (m.nnz >= Self.interleavedWeightsPerFilter * m.rows || m.nnz >= Self.interleavedWeightsPerChannel * inChannels)
        let copied = interleavable ? m.nnz : 0
        interleavedStart = .allocate(capacity: interleavable ? blocks.count : 1)
        interleavedChannel = .allocate(capacity: max(copied, 1))
        interleavedTapY = .allocate(capacity: max(copied, 1))
        interleavedTapX = .allocate(capacity: max(copied, 1))
        interleavedValues = .allocate(capacity: max(copied, 1))
        if interleavable {
            var n = 0
            for j in 0..<channelBlocks {
                for o in 0..<m.rows {
                    interleavedStart[j * m.rows + o] = UInt32(n)
                    for k in Int(blocks[o * channelBlocks + j])..<Int(blocks[o * channelBlocks + j + 1]) {
                        interleavedChannel[n] = channel[k]
                        interleavedTapY[n] = tapY[k]
                        interleavedTapX[n] = tapX[k]
                        interleavedValues[n] = m.values[k]
                        n += 1
                    }
                }
            }
            interleavedStart[m.rows * channelBlocks] = UInt32(n)
        }
        // Group each filter's nonzeros by (channel, tap column), in the order the groups first appear.
        var gStart: [UInt32] = [0], gChannel: [UInt32] = [], gTapX: [Int] = [], gWeights: [Float] = []
        if (sy, sx) == (1, 1) && (1...7).contains(kernel.0) && m.nnz > 0 {
            // Per (channel, tap column): its group in the current filter, or -1. A flat table reset
            // after each filter (a dictionary per filter made loading VGG-11 several times slower).
            var slot = [Int](repeating: -1, count: inChannels * kernel.1)
            for r in 0..<m.rows {
                let first = gChannel.count
                for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                    let col = Int(m.columnIndices[k])
                    let (c, ky, kx) = (col / area, col % area / kernel.1, col % kernel.1)
                    let key = c * kernel.1 + kx
                    var g = slot[key]
                    if g < 0 {
                        g = gChannel.count
                        slot[key] = g
                        gChannel.append(UInt32(c))
                        gTapX.append(kx)
                        gWeights.append(contentsOf: repeatElement(0, count: kernel.0))
                    }
                    gWeights[g * kernel.0 + ky] = m.values[k]
                }
                for g in first..<gChannel.count { slot[Int(gChannel[g]) * kernel.1 + gTapX[g]] = -1 }
                gStart.append(UInt32(gChannel.count))
            }
        }
        let fill = gChannel.isEmpty ? 0 : Double(m.nnz) / Double(gChannel.count * kernel.0)
        rowTiles = !self.strips && fill >= Self.rowTileFill
        if !rowTiles { (gStart, gChannel, gTapX, gWeights) = ([], [], [], []) }
        groupStart = .allocate(capacity: max(gStart.count, 1))
        groupStart.initialize(from: gStart, count: gStart.count)
        groupWeights = .allocate(capacity: max(gWeights.count, 1))
        groupWeights.initialize(from: gWeights, count: gWeights.count)
        groupChannel = gChannel
        groupTapX = gTapX
    }

    deinit {
        rowStart.deallocate()
        channel.deallocate()
        tapY.deallocate()
        tapX.deallocate()
        values.deallocate()
        plane.deallocate()
        shiftY.deallocate()
        shiftX.deallocate()
        blockStart.deallocate()
        interleavedStart.deallocate()
        interleavedChannel.deallocate()
        interleavedTapY.deallocate()
        interleavedTapX.deallocate()
        interleavedValues.deallocate()
        groupStart.deallocate()
        groupWeights.deallocate()
    }

    public var residentBytes: Int {
        4 * (outChannels + 1) + (4 + 2 + 2 + 4 + 4 + 2 + 2) * storedWeights
            + 4 * (outChannels * channelBlocks + 1) + (rowTiles ? 4 * (outChannels + 1) : 0)
            + (4 + 8 + 4 * kernel.0) * groupChannel.count
            + (interleavable ? 4 * (outChannels * channelBlocks + 1) + (4 + 4 + 2 + 2) * storedWeights : 0)
    }

    /// Multiply-adds for a batch: each nonzero touches (up to) every output pixel.
    public func multiplyAdds(batch: Int, outHeight: Int, outWidth: Int) -> Int { storedWeights * batch * outHeight * outWidth }

    /// Scratch for the whole-plane path: the input zero-padded and split into stride phases (plus a
    /// tail every shifted read may reach), one accumulator chunk per thread part and each weight's
    /// offset.
    public func scratchBytes(batch: Int, height h: Int, width w: Int) -> Int {
        let (oh, ow) = outputSize(height: h, width: w)
        if strips { return stripScratchBytes(batch: batch, height: h, width: w) }
        let interleaved = interleaves(batch: batch, outHeight: oh, outWidth: ow)
            ? interleavedLayout(batch: batch, height: h, width: w).floats(channels: inChannels) : 0
        let source = max(layout(batch: batch, height: h, width: w).count, interleaved)
        return 4 * (source + accumulatorFloats * RowPartitions.maxParts) + 8 * max(storedWeights, 1) + 8
            + VectorCover.bytes(batch: batch, outHeight: oh, outWidth: ow)
    }

    /// The output rows and columns for an input of h x w.
    public func outputSize(height h: Int, width w: Int) -> (Int, Int) {
        let (sy, sx) = (max(stride.0, 1), max(stride.1, 1))
        return (max((h + 2 * padding.0 - kernel.0) / sy + 1, 0), max((w + 2 * padding.1 - kernel.1) / sx + 1, 0))
    }

    static let chunk = 2048
    /// Accumulators per thread part: one chunk, or with channel blocks a tile per filter: 64 floats
    /// (8 entries of 8 images), 128 for the 16-entry tiles of the `wide` interleaved path.
    var accumulatorFloats: Int { max(Self.chunk, channelBlocks > 1 ? (wide ? 128 : 64) * outChannels : 0) }
    /// Zeros after a padded copy: an AVX2 vector holding the last real output reads up to 7 floats
    /// past that output's window. (The `.padded` activation layout is this copy; its slack is
    /// larger, for the strip path's aligned taps.)
    static let slack = 8

    /// Where the whole-plane path reads its input: image b's extended position (row r, column q) of
    /// channel (or phase plane) p is at `p · channelStride + b · plane + r · rowStride + q`.
    struct PlaneLayout {
        /// Rows per image (`plane / rowStride`) and floats per row.
        var rows: Int, rowStride: Int
        var plane: Int { rows * rowStride }
        var channelStride: Int
        /// Floats of the padded copy in scratch (0: the input is read in place).
        var count: Int
        /// Padding shared between neighbours: each row is `pw` zeros then the image row (the zeros
        /// after a row are the next row's), and `ph` zero rows sit between images.
        var shared: Bool
    }

    func layout(batch: Int, height h: Int, width w: Int) -> PlaneLayout {
        let (sy, sx) = (max(stride.0, 1), max(stride.1, 1))
        let (ph, pw) = padding
        if (sy, sx) == (1, 1) && (ph, pw) == (0, 0) {
            return PlaneLayout(rows: h, rowStride: w, channelStride: batch * h * w, count: 0, shared: false)
        }
        // Shared padding holds when every real output stays inside its image's rows and columns,
        // i.e. the padding is at most kernel - 1 (so never for 1x1 kernels with padding).
        if (sy, sx) == (1, 1) && kernel.0 - 1 >= ph && kernel.1 - 1 >= pw {
            let (rows, wq) = (h + ph, w + pw)
            // ph leading zero rows, then each image and its ph trailing zero rows, then one more zero
            // row for the last shifted reads.
            let channelStride = ActivationLayout.paddedChannelFloats(batch: batch, height: h, width: w, padY: ph, padX: pw)
            assert(channelStride == (ph + batch * rows + 1) * wq)
            return PlaneLayout(rows: rows, rowStride: wq, channelStride: channelStride, count: inChannels * channelStride + Self.slack, shared: true)
        }
        let (hq, wq) = ((h + 2 * ph + sy - 1) / sy, (w + 2 * pw + sx - 1) / sx)
        let count = inChannels * sy * sx * batch * hq * wq + (kernel.0 - 1) / sy * wq + (kernel.1 - 1) / sx + 1 + Self.slack
        return PlaneLayout(rows: hq, rowStride: wq, channelStride: batch * hq * wq, count: count, shared: false)
    }

    /// The planar path `runPlanes` takes, batch-interleaved aside: row tiles, vector tiles (both
    /// AVX2 + FMA), or the portable loop.
    enum PlanePath { case rows, vectors, loop }

    func planePath(batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int) -> PlanePath {
        let vectorised = SIMDSupport.avx2FMA && !portable
        if vectorised && rowTiles && oh >= 8 && ow >= 8 { return .rows }
        guard vectorised, batch > 0, oh > 0, ow > 0 else { return .loop }
        let shape = layout(batch: batch, height: h, width: w)
        let extended = (batch - 1) * shape.plane + (oh - 1) * shape.rowStride + ow
        return (shape.count != 0 || extended >= 8) && VectorCover.fits(extended: extended, outputs: batch * oh * ow) ? .vectors : .loop
    }

    /// Whether `run` reads an input in `paddedInput` layout in place at this batch and input size:
    /// where its planar paths pad that way themselves (stride 1, a padding from 1 to the kernel's
    /// size - 1), unless the batch takes the interleaved path; on the strip path, where it takes
    /// aligned taps (`alignedTaps`: the zero row above and below each image is their copy's).
    public func readsPadded(batch: Int, height h: Int, width w: Int) -> Bool {
        let (oh, ow) = outputSize(height: h, width: w)
        guard batch > 0, oh > 0, ow > 0 else { return false }
        if strips { return alignedTaps(height: h, width: w) }
        return layout(batch: batch, height: h, width: w).shared && !interleaves(batch: batch, outHeight: oh, outWidth: ow)
    }

    /// The `.padded` layout `readsPadded` means: one zero row around each image and none beside it
    /// on the strip path, else this convolution's own padding.
    public var paddedInput: ActivationLayout { strips ? .padded(padY: 1, padX: 0) : .padded(padY: padding.0, padX: padding.1) }

    /// Whether `run` can write its output in `.padded` layout with border `padding` at this batch
    /// and input size, without a residual: on the vector tiles; on the strip path, rows of zeros
    /// alone (`padding.1` 0: each image's rows stay contiguous).
    public func writesPadded(batch: Int, height h: Int, width w: Int, padding p: (Int, Int)) -> Bool {
        let (oh, ow) = outputSize(height: h, width: w)
        guard batch > 0, oh > 0, ow > 0, p.0 >= 0, p.1 >= 0, p.0 < 1 << 15, p.1 < 1 << 15 else { return false }
        guard strips ? p.1 == 0 : !interleaves(batch: batch, outHeight: oh, outWidth: ow)
                && planePath(batch: batch, height: h, width: w, outHeight: oh, outWidth: ow) == .vectors else { return false }
        let floats = ActivationLayout.padded(padY: p.0, padX: p.1).floats(channels: 1, batch: batch, height: oh, width: ow)
        return floats < Int(Int32.max)
    }

    /// Whole planes: every surviving weight adds a shifted copy of a whole (padded) input channel, all
    /// images at once, to an "extended" output laid out like the padded input; positions outside the
    /// real output are computed and dropped. A stride (sy, sx) is first taken apart into sy·sx phase
    /// planes (padded row r·sy + py, column q·sx + px of the input at row r, column q of phase
    /// (py, px)), in which the strided convolution is a stride-1 one: tap (ky, kx) reads phase
    /// (ky mod sy, kx mod sx) shifted by (ky / sy, kx / sx). With AVX2 + FMA, only the 8-wide vectors
    /// of positions that hold real outputs are computed (`VectorCover`), 8 of them in registers while
    /// every weight of the filter adds its window, and the real outputs are written from the small
    /// accumulator chunk (`relief_conv_vectors`); full enough stride-1 filters take 8x8 row tiles
    /// instead (`relief_conv_rows8`, see `rowTiles`). Otherwise one long vector update per weight,
    /// in cache-sized chunks.
    /// With `pooled` (only where `poolsInRowTiles`), the row tiles write their 2x2 maxima instead.
    /// With `inputPadded`, `x` already is the shared-padding layout (`readsPadded`) and is read in
    /// place; with `outputPadding`, the output is written in `.padded` layout with that border
    /// (`writesPadded`, no residual), zeros included unless `outputBordersZero` says they are there.
    func runPlanes(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int,
                      bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int, scratch: UnsafeMutableRawPointer,
                      relu: Bool, residual: UnsafePointer<Float>?, pooled: Bool = false, inputPadded: Bool = false,
                      outputPadding: (Int, Int)? = nil, outputBordersZero: Bool = false) {
        precondition(!pooled || (poolsInRowTiles(outHeight: oh, outWidth: ow) && residual == nil), "pooled writes need row tiles and no residual")
        if !pooled && interleaves(batch: batch, outHeight: oh, outWidth: ow) {
            runInterleaved(x, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: bias, into: y, threads: threads,
                           scratch: scratch, relu: relu, residual: residual)
            return
        }
        let (sy, sx) = (max(stride.0, 1), max(stride.1, 1))
        let shape = layout(batch: batch, height: h, width: w)
        let (wq, planeP, channelP) = (shape.rowStride, shape.plane, shape.channelStride)
        let padded = scratch.bindMemory(to: Float.self, capacity: shape.count + accumulatorFloats * RowPartitions.maxParts)
        let source: UnsafePointer<Float>
        // How far reads may go: garbage positions near the end of the last channel would read past
        // an unpadded input, so reads are clipped there (valid outputs never reach that far).
        let readable: Int
        let (ph, pw) = padding
        let vectorised = SIMDSupport.avx2FMA && !portable
        if shape.count == 0 {
            source = x
            readable = inChannels * channelP
        } else if inputPadded {
            source = x
            readable = shape.count
        } else if vectorised {
            readable = shape.count
            if shape.shared {
                relief_pad_shared(x, Int64(inChannels), Int64(batch), Int64(h), Int64(w), Int64(ph), Int64(pw), Int64(channelP),
                                  Int64(Self.slack), padded)
            } else {
                relief_pad_phases(x, Int64(inChannels), Int64(batch), Int64(h), Int64(w), Int64(ph), Int64(pw), Int64(sy), Int64(sx),
                                  Int64(shape.rows), Int64(wq), Int64(readable), padded)
            }
            source = UnsafePointer(padded)
        } else if shape.shared {
            readable = shape.count
            for c in 0..<inChannels {
                let base = padded + c * channelP
                base.update(repeating: 0, count: ph * wq)
                for b in 0..<batch {
                    let first = base + (ph + b * shape.rows) * wq
                    for r in 0..<h {
                        (first + r * wq).update(repeating: 0, count: pw)
                        (first + r * wq + pw).update(from: x + ((c * batch + b) * h + r) * w, count: w)
                    }
                    (first + h * wq).update(repeating: 0, count: ph * wq)
                }
                (base + (ph + batch * shape.rows) * wq).update(repeating: 0, count: wq)
            }
            (padded + inChannels * channelP).update(repeating: 0, count: Self.slack)
            source = UnsafePointer(padded)
        } else if (sy, sx) != (1, 1) {
            readable = shape.count
            padded.update(repeating: 0, count: readable)
            for c in 0..<inChannels {
                for b in 0..<batch {
                    for r in 0..<h {
                        let rp = r + ph
                        let src = x + ((c * batch + b) * h + r) * w
                        for px in 0..<sx {
                            // Input columns q with (q + left) mod sx == px, into phase (rp mod sx, px).
                            var q = ((px - pw) % sx + sx) % sx
                            // Column (q + left) / sx of the phase, one further for each step of sx.
                            var dst = padded + (((c * sy + rp % sy) * sx + px) * batch + b) * planeP + (rp / sy) * wq + (q + pw) / sx
                            while q < w {
                                dst.pointee = src[q]
                                dst += 1
                                q += sx
                            }
                        }
                    }
                }
            }
            source = UnsafePointer(padded)
        } else {
            readable = shape.count
            // Only the borders are zeroed: the interior is overwritten by the copy anyway.
            for cb in 0..<(inChannels * batch) {
                let plane = padded + cb * planeP
                plane.update(repeating: 0, count: ph * wq + pw)
                for r in 0..<h {
                    let row = plane + (r + ph) * wq + pw
                    row.update(from: x + cb * h * w + r * w, count: w)
                    // The right border of this row and the left border of the next are contiguous.
                    (row + w).update(repeating: 0, count: r + 1 < h ? 2 * pw : pw)
                }
                (plane + (h + ph) * wq).update(repeating: 0, count: ph * wq)
            }
            let tail = inChannels * batch * planeP
            (padded + tail).update(repeating: 0, count: readable - tail)
            source = UnsafePointer(padded)
        }
        let accumulators = padded + shape.count
        // Extended positions past the last image's last real output are never kept: stopping there
        // also keeps every shifted read inside the (padded) input.
        guard batch > 0, oh > 0, ow > 0 else { return }
        let extended = (batch - 1) * planeP + (oh - 1) * wq + ow
        // Chunks of positions outside, filters inside: every filter reads the same windows of the
        // input channels, so a chunk's windows stay in cache while all filters use them, instead of
        // each filter streaming the whole input from L3. The AVX2 tiles read 256 bytes per weight and
        // are bound by L2's bandwidth unless the windows (16 KiB over all channels) stay in L1; the
        // Swift loop's per-chunk overhead is larger, so it takes L2-sized ones (128 KiB).
        let planes = max(inChannels * sy * sx, 1)
        let chunk = vectorised ? max(64, min(Self.chunk, (1 << 14) / (4 * planes))) / 64 * 64
            : max(256, min(Self.chunk, (1 << 17) / (4 * planes))) / 64 * 64
        let chunks = (extended + chunk - 1) / chunk
        let span = (kernel.0 - 1) / sy * wq + (kernel.1 - 1) / sx
        // Each weight's whole offset into the source (phase plane, row and column shift): kept per layout
        // (`offsetTables`), this scratch only when the cache is full.
        let floats = shape.count + accumulatorFloats * RowPartitions.maxParts
        let offsets = (scratch + (4 * floats + 7) / 8 * 8).bindMemory(to: Int64.self, capacity: max(storedWeights, 1))
        let work = storedWeights * channelP
        let inPlace = shape.count == 0
        let path = planePath(batch: batch, height: h, width: w, outHeight: oh, outWidth: ow)
        precondition(outputPadding == nil || path == .vectors, "a padded output needs the vector tiles")
        if path == .rows {
            // Each group's offset: its channel's plane and its tap column.
            let offsets = offsetTables.offsets(.init(path: 0, strides: [channelP, wq]), count: groupChannel.count, scratch: offsets) { offsets in
                for g in self.groupChannel.indices { offsets[g] = Int64(Int(self.groupChannel[g]) * channelP + self.groupTapX[g]) }
            }
            let parts = work < threadWork ? 1 : min(max(threads, 1), RowPartitions.maxParts, batch)
            let filterStride = pooled ? batch * (oh / 2) * (ow / 2) : batch * oh * ow
            let run = wide ? relief_conv_rows8_avx512 : relief_conv_rows8
            Parallel.run(parts: parts) { p in
                run(self.groupStart, offsets, self.groupWeights, Int64(self.kernel.0), Int64(self.outChannels), source, bias,
                    Int64(batch * p / parts), Int64(batch * (p + 1) / parts), Int64(planeP), Int64(wq), Int64(oh), Int64(ow),
                    y, residual, Int64(filterStride), relu ? 1 : 0, pooled ? 1 : 0)
            }
            return
        }
        if path == .vectors {
            // Where output (b, oy, ox) goes within a filter's plane: planar [B][OH·OW], or the padded
            // layout, whose zeros are written first (the tiles write only real outputs).
            var (outBase, outImage, outRow, filterStride) = (0, oh * ow, ow, batch * oh * ow)
            if let (py, px) = outputPadding {
                (outBase, outImage, outRow) = (py * (ow + px) + px, (oh + py) * (ow + px), ow + px)
                filterStride = ActivationLayout.paddedChannelFloats(batch: batch, height: oh, width: ow, padY: py, padX: px)
                if !outputBordersZero {
                    relief_pad_shared(nil, Int64(outChannels), Int64(batch), Int64(oh), Int64(ow), Int64(py), Int64(px), Int64(filterStride),
                                      Int64(ActivationLayout.paddedSlack), y)
                }
            }
            let coverScratch = UnsafeMutableRawPointer(offsets + max(storedWeights, 1))
            let offsets = offsetTables.offsets(.init(path: 1, strides: [channelP, wq]), count: storedWeights, scratch: offsets) { offsets in
                for k in 0..<self.storedWeights {
                    offsets[k] = Int64(Int(self.plane[k]) * channelP + Int(self.shiftY[k]) * wq + Int(self.shiftX[k]))
                }
            }
            // Where even 64 positions of every input plane overflow L1, the planes go in blocks, each
            // read by all filters before the next (accumulators in memory between blocks).
            let blocked = channelBlocks > 1 && 4 * planes * (64 + span) > 1 << 14
            let perChunk = blocked ? 8 : chunk / 8
            assert((blocked ? outChannels : 1) * 64 * ((perChunk + 7) / 8) <= accumulatorFloats, "accumulators overflow their part")
            let end = inPlace ? extended : nil
            let make = { (scratch: UnsafeMutableRawPointer) in
                var cover = VectorCover(scratch: scratch, batch: batch, outHeight: oh, outWidth: ow)
                cover.cover(batch: batch, outHeight: oh, outWidth: ow, plane: planeP, rowStride: wq, end: end, vectorsPerChunk: perChunk,
                            output: (outBase, outImage, outRow))
                return cover
            }
            let outputKey = outputPadding.map { 1 + $0.0 << 16 + $0.1 } ?? 0
            let coverKey = SIMD8(batch, oh, ow, planeP, wq, end ?? -1, perChunk, outputKey)
            let kept = covers.value(coverKey) { KeptCover(bytes: VectorCover.bytes(batch: batch, outHeight: oh, outWidth: ow), make) }
            let cover = kept?.cover ?? make(coverScratch)
            let chunks = cover.chunks
            let parts = work < threadWork ? 1 : min(max(threads, 1), RowPartitions.maxParts, max(chunks, outChannels))
            // One range per part; the part's index picks its accumulator chunk. Parts take chunks when
            // there are enough of them, else filters (a small batch on a small plane is one chunk).
            let byFilters = chunks < parts
            let (starts, blocks) = blocked ? (UnsafePointer(blockStart), channelBlocks) : (UnsafePointer(rowStart), 1)
            Parallel.run(parts: parts) { p in
                let acc = accumulators + p * self.accumulatorFloats
                let range = byFilters ? 0..<chunks : (chunks * p / parts)..<(chunks * (p + 1) / parts)
                let o0 = byFilters ? self.outChannels * p / parts : 0
                let o1 = byFilters ? self.outChannels * (p + 1) / parts : self.outChannels
                for c in range {
                    let v0 = c * perChunk, v1 = min(v0 + perChunk, cover.vectors)
                    let r0 = Int(cover.chunkRuns[c]), r1 = Int(cover.chunkRuns[c + 1])
                    // The next chunk's windows, from its first vector to its last one's reach.
                    var ahead = (from: 0, count: 0)
                    if c + 1 < range.upperBound {
                        let n0 = Int(cover.starts[v1]), n1 = Int(cover.starts[min(v1 + perChunk, cover.vectors) - 1])
                        ahead = (n0, n1 + 8 + span - n0)
                    }
                    let run = self.wide ? relief_conv_vectors_avx512 : relief_conv_vectors
                    run(starts + o0 * blocks, Int64(blocks), offsets, self.values, Int64(o1 - o0), source, bias.map { $0 + o0 },
                        cover.starts + v0, Int64(v1 - v0), acc, y + o0 * filterStride,
                        residual.map { $0 + o0 * filterStride }, Int64(filterStride), cover.from + r0,
                        cover.to + r0, cover.length + r0, Int64(r1 - r0), relu ? 1 : 0, Int64(ahead.from),
                        Int64(ahead.count), Int64(planes), Int64(channelP))
                }
            }
            return
        }
        let parts = work < threadWork ? 1 : min(max(threads, 1), RowPartitions.maxParts, chunks)
        Parallel.run(parts: parts) { p in
            let acc = accumulators + p * accumulatorFloats
            for c in (chunks * p / parts)..<(chunks * (p + 1) / parts) {
                let e0 = c * chunk, count = min(chunk, extended - e0)
                for o in 0..<self.outChannels {
                    acc.update(repeating: bias?[o] ?? 0, count: count)
                    for k in Int(self.rowStart[o])..<Int(self.rowStart[o + 1]) {
                        let offset = Int(self.plane[k]) * channelP + Int(self.shiftY[k]) * wq + Int(self.shiftX[k])
                        let n = min(count, readable - (offset + e0))
                        if n > 0 { Self.axpy(self.values[k], source + offset + e0, acc, count: n) }
                    }
                    // Keep the positions that are real outputs: row < oh, column < ow of each image.
                    let out = y + o * batch * oh * ow, add = residual.map { $0 + o * batch * oh * ow }
                    var e = e0
                    while e < e0 + count {
                        let b = e / planeP, r = e - b * planeP
                        let oy = r / wq, ox = r - oy * wq
                        let run = min(wq - ox, e0 + count - e)
                        if oy < oh && ox < ow {
                            let n = min(run, ow - ox)
                            let dst = out + (b * oh + oy) * ow + ox, src = acc + (e - e0)
                            if let add {
                                let res = add + (b * oh + oy) * ow + ox
                                for i in 0..<n { dst[i] = relu ? max(src[i] + res[i], 0) : src[i] + res[i] }
                            } else if relu {
                                for i in 0..<n { dst[i] = max(src[i], 0) }
                            } else {
                                dst.update(from: src, count: n)
                            }
                        }
                        e += run
                    }
                }
            }
        }
    }

    /// The convolution of `x` into `y`, plus `residual` (same layout and shape as `y`, not overlapping
    /// it: a residual addition fused into the writes) when given; with `relu`, max(0, ·) of that (a
    /// ReLU fused into the writes).
    ///
    /// `input` and `output` other than `.planar` need the batch-interleaved path (`interleaves`) and
    /// scratch: an interleaved input must carry this convolution's padding as its border, and an
    /// interleaved or pooled output takes no residual. `pooled` fuses a 2x2 max pooling of stride 2
    /// into the writes (`fusesPool`: the interleaved path, or planar row tiles): `y` then receives
    /// the pooled (oh / 2) x (ow / 2) output (oh and ow stay the convolution's), and convolution
    /// outputs no window reads are not computed.
    ///
    /// `.padded` layouts: an input in this convolution's own padding where `readsPadded`, an output
    /// where `writesPadded` (no residual, no pooling). The output's zeros are written too, unless
    /// `outputBordersZero` (the caller knows `y` holds this layout at this batch from an earlier
    /// call: only real outputs are ever written, so its zeros are still there).
    public func run(_ x: UnsafePointer<Float>, batch: Int, height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int,
                    bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int, scratch: UnsafeMutableRawPointer? = nil,
                    relu: Bool = false, residual: UnsafePointer<Float>? = nil,
                    input: ActivationLayout = .planar, output: ActivationLayout = .planar, pooled: Bool = false,
                    outputBordersZero: Bool = false) {
        if strips && !pooled, let scratch {
            precondition(input == .planar || (input == paddedInput && readsPadded(batch: batch, height: h, width: w)),
                         "the strip path reads planar inputs, or its aligned taps the row-padded layout")
            var outputRows: Int? = nil
            if case let .padded(py, _) = output {
                precondition(writesPadded(batch: batch, height: h, width: w, padding: output.padding) && residual == nil,
                             "the strip path writes rows of zeros alone, and no residual")
                outputRows = py
            } else {
                precondition(output == .planar, "the strip path writes planar or padded outputs")
            }
            runStrips(x, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: bias, into: y, threads: threads,
                      scratch: scratch, relu: relu, residual: residual, inputPadded: input != .planar, outputRows: outputRows,
                      outputBordersZero: outputBordersZero)
            return
        }
        if pooled && input == .planar && output == .planar && !interleaves(batch: batch, outHeight: oh, outWidth: ow) {
            precondition(scratch != nil, "pooled writes need scratch")
            runPlanes(x, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: bias, into: y, threads: threads,
                      scratch: scratch!, relu: relu, residual: residual, pooled: true)
            return
        }
        if input.isPadded || output.isPadded {
            let paddedInput = input == .padded(padY: padding.0, padX: padding.1)
            precondition(input == .planar || (paddedInput && readsPadded(batch: batch, height: h, width: w)),
                         "a padded input needs this convolution's own padding and a path that reads it in place")
            precondition(output == .planar || (output.isPadded && !pooled && residual == nil),
                         "with a padded layout the other is planar or padded, and a padded output takes no pooling or residual")
            var outputPadding: (Int, Int)? = nil
            if case let .padded(py, px) = output {
                precondition(writesPadded(batch: batch, height: h, width: w, padding: (py, px)), "a padded output this path cannot write")
                outputPadding = (py, px)
            }
            precondition(scratch != nil, "padded layouts need scratch")
            runPlanes(x, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: bias, into: y, threads: threads,
                      scratch: scratch!, relu: relu, residual: residual, inputPadded: paddedInput, outputPadding: outputPadding,
                      outputBordersZero: outputBordersZero)
            return
        }
        if input != .planar || output != .planar || pooled {
            precondition(scratch != nil && interleaves(batch: batch, outHeight: oh, outWidth: ow), "interleaved layouts need the interleaved path")
            precondition(input == .planar || input == .interleaved(padY: padding.0, padX: padding.1), "interleaved input without this padding")
            precondition((output == .planar && !pooled) || residual == nil, "an interleaved or pooled output takes no residual")
            runInterleaved(x, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: bias, into: y, threads: threads,
                           scratch: scratch!, relu: relu, residual: residual, input: input, output: output, pooled: pooled)
            return
        }
        if let scratch {
            runPlanes(x, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: bias, into: y, threads: threads,
                         scratch: scratch, relu: relu, residual: residual)
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
                if let residual {
                    let add = residual + o * batch * plane
                    for i in 0..<(batch * plane) { out[i] += add[i] }
                }
                if relu {
                    for i in 0..<(batch * plane) { out[i] = max(out[i], 0) }
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
