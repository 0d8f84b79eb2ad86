import ReliefKernels

/// The window of a pooling layer: square `kernel`, `stride` (the kernel by default), `padding`.
public struct PoolWindow: Sendable, Equatable {
    public let kernel: Int, stride: Int, padding: Int

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
    }

    /// [C, H, W] → [C, H′, W′].
    public func outputShape(for s: [Int]) -> [Int] {
        [s[0], (s[1] + 2 * padding - kernel) / stride + 1, (s[2] + 2 * padding - kernel) / stride + 1]
    }
}

/// A layer that pools over a `PoolWindow` (max or average).
public protocol WindowPooling: Layer {
    var window: PoolWindow { get }
}

extension WindowPooling {
    public var kernel: Int { window.kernel }
    public var stride: Int { window.stride }
    public var padding: Int { window.padding }
    public func outputShape(for inputShape: [Int]) -> [Int] { window.outputShape(for: inputShape) }
}

/// Max pooling over windows of `kernel` with `stride` and implicit −∞ padding (PyTorch semantics).
public final class MaxPool2d: WindowPooling {
    public let name: String
    public let window: PoolWindow
    private var argmax: [Int32] = []
    private var inputShape: [Int] = []

    public init(name: String, kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.name = name
        window = PoolWindow(kernel: kernel, stride: stride, padding: padding)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let o = outputShape(for: [c, h, w])
        let (oh, ow) = (o[1], o[2])
        var y = [Float](repeating: 0, count: n * c * oh * ow)
        var arg = [Int32](repeating: 0, count: y.count)
        let (kernel, stride, padding) = (kernel, stride, padding)
        x.data.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                arg.withUnsafeMutableBufferPointer { ap in
                    let (xb, yb, ab) = (xp.baseAddress!, yp.baseAddress!, ap.baseAddress!)
                    Parallel.forEachChunk(n * c, minimumPerThread: 16) { planes in
                        for plane in planes {
                            let base = xb + plane * h * w
                            if padding == 0 && kernel == 2 && stride == 2 {
                                // The common 2x2 pool, unrolled (ties go to the first element, as in PyTorch;
                                // unlike PyTorch a NaN is not guaranteed to win here).
                                for oy in 0..<oh {
                                    let top = base + 2 * oy * w, bottom = top + w
                                    let k0 = (plane * oh + oy) * ow
                                    for ox in 0..<ow {
                                        let a = top[2 * ox], b = top[2 * ox + 1], c = bottom[2 * ox], d = bottom[2 * ox + 1]
                                        let upper = b > a ? b : a, upperAt = b > a ? 1 : 0
                                        let lower = d > c ? d : c, lowerAt = d > c ? w + 1 : w
                                        let bottomWins = lower > upper
                                        yb[k0 + ox] = bottomWins ? lower : upper
                                        ab[k0 + ox] = Int32(2 * oy * w + 2 * ox + (bottomWins ? lowerAt : upperAt))
                                    }
                                }
                                continue
                            }
                            if padding == 0 {
                                // Every window lies inside the input: no bounds checks.
                                for oy in 0..<oh {
                                    for ox in 0..<ow {
                                        let origin = oy * stride * w + ox * stride
                                        var best = base[origin], at = origin
                                        for i in 0..<kernel {
                                            let row = origin + i * w
                                            for j in 0..<kernel {
                                                // Branch-free select (the comparison is a coin flip to the predictor).
                                                // A NaN input wins and then stays, as in PyTorch.
                                                let v = base[row + j]
                                                let take = !(v <= best) && best == best
                                                best = take ? v : best
                                                at = take ? row + j : at
                                            }
                                        }
                                        let k = (plane * oh + oy) * ow + ox
                                        yb[k] = best
                                        ab[k] = Int32(at)
                                    }
                                }
                                continue
                            }
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    var best = -Float.infinity, at = -1
                                    for i in 0..<kernel {
                                        let yy = oy * stride - padding + i
                                        if yy < 0 || yy >= h { continue }
                                        for j in 0..<kernel {
                                            let xx = ox * stride - padding + j
                                            if xx < 0 || xx >= w { continue }
                                            let v = base[yy * w + xx]
                                            if v > best || at < 0 || v.isNaN { best = v; at = yy * w + xx }
                                        }
                                    }
                                    let k = (plane * oh + oy) * ow + ox
                                    yb[k] = best
                                    ab[k] = Int32(at)
                                }
                            }
                        }
                    }
                }
            }
        }
        if training {
            argmax = arg
            inputShape = x.shape
        }
        return Tensor(shape: [n, c, oh, ow], data: y)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let (h, w) = (inputShape[2], inputShape[3])
        let per = dy.shape[2] * dy.shape[3]
        var dx = [Float](repeating: 0, count: inputShape.reduce(1, *))
        for k in dy.data.indices {
            let plane = k / per
            dx[plane * h * w + Int(argmax[k])] += dy.data[k]
        }
        return Tensor(shape: inputShape, data: dx)
    }
}

/// Average pooling; padding counts as zeros in the average (PyTorch's count_include_pad=True).
public final class AvgPool2d: WindowPooling {
    public let name: String
    public let window: PoolWindow
    private var inputShape: [Int] = []

    public init(name: String, kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.name = name
        window = PoolWindow(kernel: kernel, stride: stride, padding: padding)
    }

    /// Calls `body(outputIndex, inputIndex)` for every window element inside the input.
    private func windows(_ shape: [Int], _ body: (Int, Int) -> Void) {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let o = outputShape(for: [c, h, w])
        for plane in 0..<(n * c) {
            for oy in 0..<o[1] {
                for ox in 0..<o[2] {
                    let k = (plane * o[1] + oy) * o[2] + ox
                    for i in 0..<kernel {
                        let yy = oy * stride - padding + i
                        if yy < 0 || yy >= h { continue }
                        for j in 0..<kernel {
                            let xx = ox * stride - padding + j
                            if xx >= 0 && xx < w { body(k, plane * h * w + yy * w + xx) }
                        }
                    }
                }
            }
        }
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { inputShape = x.shape }
        let o = outputShape(for: Array(x.shape.dropFirst()))
        var y = [Float](repeating: 0, count: x.shape[0] * o.reduce(1, *))
        let scale = 1 / Float(kernel * kernel)
        windows(x.shape) { k, i in y[k] += x.data[i] * scale }
        return Tensor(shape: [x.shape[0]] + o, data: y)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        var dx = [Float](repeating: 0, count: inputShape.reduce(1, *))
        let scale = 1 / Float(kernel * kernel)
        windows(inputShape) { k, i in dx[i] += dy.data[k] * scale }
        return Tensor(shape: inputShape, data: dx)
    }
}

/// Mean over each channel's H × W: [N, C, H, W] → [N, C].
public final class GlobalAvgPool2d: Layer {
    public let name: String
    private var inputShape: [Int] = []
    public init(name: String) { self.name = name }

    public func outputShape(for s: [Int]) -> [Int] { [s[0]] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { inputShape = x.shape }
        let planes = x.shape[0] * x.shape[1], size = x.shape[2] * x.shape[3]
        var y = [Float](repeating: 0, count: planes)
        for p in 0..<planes {
            var s: Float = 0
            for i in 0..<size { s += x.data[p * size + i] }
            y[p] = s / Float(size)
        }
        return Tensor(shape: [x.shape[0], x.shape[1]], data: y)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let size = inputShape[2] * inputShape[3]
        var dx = [Float](repeating: 0, count: inputShape.reduce(1, *))
        for p in dy.data.indices {
            let g = dy.data[p] / Float(size)
            for i in 0..<size { dx[p * size + i] = g }
        }
        return Tensor(shape: inputShape, data: dx)
    }
}
