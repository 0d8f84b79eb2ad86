import CReliefSIMD

/// How a batch of activations of per-example shape `[C, H, W]` sits in memory between two layers.
public enum ActivationLayout: Sendable, Equatable {
    /// `[C][B][H·W]`: the runtime's usual layout (feature-major, see `InferenceModel`).
    case planar
    /// `[⌈B/8⌉][C][H + 2·padY][W + 2·padX][8]`: one AVX vector is one pixel of 8 images, each
    /// channel's plane per group of 8 images surrounded by a zero border of padY rows and padX
    /// columns. Group-major: a chunk of one group's pixels finds all its channels' windows close
    /// together (channel planes a few KiB apart rather than a few hundred KiB, which on 2x2 maps
    /// mapped 32 channels' windows onto a handful of L1 sets), and a weight's offset into the
    /// layout does not depend on the batch. The batch-interleaved direct convolution reads it as is
    /// (with its own padding as the border) and can write it, so consecutive layers need no
    /// transpose between them; lanes of images past the batch in the last group hold finite values
    /// that no real output reads.
    case interleaved(padY: Int, padX: Int)
    /// `[C][padded planes of B images]`, the whole-plane direct convolution's own input layout with
    /// shared padding (`DirectSparseConvolution.readsPadded`): per channel, padY zero rows, then
    /// each image's rows of padX zeros and its W values, each image followed by padY zero rows, then
    /// one more zero row; eight zero floats after the last channel. A convolution whose only reader
    /// is such a convolution writes it directly (`writesPadded`), so the reader copies nothing.
    case padded(padY: Int, padX: Int)

    /// Whether this is the batch-interleaved layout.
    public var isInterleaved: Bool {
        if case .interleaved = self { return true }
        return false
    }

    /// Whether this is the padded planar layout.
    public var isPadded: Bool {
        if case .padded = self { return true }
        return false
    }

    /// Floats the layout takes for `channels` channels of `height` x `width` and a batch of `batch`.
    public func floats(channels: Int, batch: Int, height: Int, width: Int) -> Int {
        switch self {
        case .planar: return channels * batch * height * width
        case let .interleaved(py, px): return channels * ((batch + 7) / 8 * 8) * (height + 2 * py) * (width + 2 * px)
        case let .padded(py, px):
            return channels * Self.paddedChannelFloats(batch: batch, height: height, width: width, padY: py, padX: px) + Self.paddedSlack
        }
    }

    /// Zeros after the last channel of a padded layout: a vector holding a last real value reads up
    /// to 7 floats past it, and the strip path's aligned taps, reading the layout in place, up to 63
    /// (into lanes never stored).
    public static let paddedSlack = 64

    /// The border of a padded layout (rows, columns); (0, 0) for the others.
    public var padding: (Int, Int) {
        if case let .padded(py, px) = self { return (py, px) }
        return (0, 0)
    }

    /// Floats of one channel of the padded layout (its channel stride).
    public static func paddedChannelFloats(batch: Int, height: Int, width: Int, padY: Int, padX: Int) -> Int {
        (padY + batch * (height + padY) + 1) * (width + padX)
    }

    /// The C description of an interleaved layout (nil for planar).
    public func describe(channels: Int, batch: Int, height: Int, width: Int) -> relief_interleaved_layout? {
        guard case let .interleaved(py, px) = self else { return nil }
        let row = width + 2 * px, plane = (height + 2 * py) * row * 8
        return relief_interleaved_layout(channel_stride: Int64(plane), group_floats: Int64(channels * plane), row: Int64(row),
                                         pad_y: Int64(py), pad_x: Int64(px))
    }

    /// Calls `body` with a pointer to the C description (null for planar), for the C kernels.
    public func withDescription<R>(channels: Int, batch: Int, height: Int, width: Int,
                                   _ body: (UnsafePointer<relief_interleaved_layout>?) -> R) -> R {
        guard var d = describe(channels: channels, batch: batch, height: height, width: width) else { return body(nil) }
        return withUnsafePointer(to: &d) { body($0) }
    }

    /// Where image b's pixel (y, x) of channel c sits in this layout (the plain rule the kernels
    /// follow; tests and conversions use it).
    public func index(channel c: Int, image b: Int, y: Int, x: Int, channels: Int, batch: Int, height: Int, width: Int) -> Int {
        switch self {
        case .planar: return ((c * batch + b) * height + y) * width + x
        case let .interleaved(py, px):
            let row = width + 2 * px
            return (((b / 8 * channels + c) * (height + 2 * py) + y + py) * row + x + px) * 8 + b % 8
        case let .padded(py, px):
            let stride = Self.paddedChannelFloats(batch: batch, height: height, width: width, padY: py, padX: px)
            return c * stride + (py + b * (height + py) + y) * (width + px) + px + x
        }
    }

    /// Whether float `n` of an interleaved layout is border (never a pixel: zero in a valid
    /// activation); false for the other layouts.
    public func isBorder(_ n: Int, height: Int, width: Int) -> Bool {
        guard case let .interleaved(py, px) = self else { return false }
        let row = width + 2 * px, pixel = n / 8 % ((height + 2 * py) * row), r = pixel / row, q = pixel % row
        return r < py || r >= py + height || q < px || q >= px + width
    }

    /// `planar` (`[C][B][H·W]`) rewritten in this layout: borders and the lanes of missing images zero.
    public func pack(_ planar: [Float], channels: Int, batch: Int, height: Int, width: Int) -> [Float] {
        precondition(planar.count == channels * batch * height * width, "planar input of the wrong size")
        var out = [Float](repeating: 0, count: floats(channels: channels, batch: batch, height: height, width: width))
        for c in 0..<channels {
            for b in 0..<batch {
                for y in 0..<height {
                    for x in 0..<width {
                        out[index(channel: c, image: b, y: y, x: x, channels: channels, batch: batch, height: height, width: width)] =
                            planar[((c * batch + b) * height + y) * width + x]
                    }
                }
            }
        }
        return out
    }

    /// The real pixels of `values` (in this layout) as `[C][B][H·W]`.
    public func unpack(_ values: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int) -> [Float] {
        var out = [Float](repeating: 0, count: channels * batch * height * width)
        for c in 0..<channels {
            for b in 0..<batch {
                for y in 0..<height {
                    for x in 0..<width {
                        out[((c * batch + b) * height + y) * width + x] =
                            values[index(channel: c, image: b, y: y, x: x, channels: channels, batch: batch, height: height, width: width)]
                    }
                }
            }
        }
        return out
    }
}
