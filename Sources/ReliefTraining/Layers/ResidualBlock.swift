/// The CIFAR ResNet basic block: conv3x3(stride)–BN–ReLU–conv3x3–BN, plus the shortcut, then ReLU.
/// When the block changes stride or width, the shortcut is "option A": every `stride`-th pixel,
/// with the new channels zero-padded equally on both sides (He et al., 2016).
public final class ResidualBlock: Layer {
    public let name: String
    public let conv1: Conv2d, bn1: BatchNorm2d, relu1: ReLU, conv2: Conv2d, bn2: BatchNorm2d, relu2: ReLU
    public let inChannels: Int, outChannels: Int, stride: Int
    /// Per output channel, 1 or 0: NNrelief's residual rule closes the shortcut of a channel whose
    /// shortcut carries too little of the block's output. All ones unless pruned.
    public let shortcutGate: Parameter
    private var inputShape: [Int] = []

    public init(name: String, inChannels: Int, outChannels: Int, stride: Int) {
        precondition((outChannels - inChannels) % 2 == 0, "option A needs an even channel difference")
        self.name = name
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        conv1 = Conv2d(name: name + ".conv1", inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride, padding: 1, bias: false)
        bn1 = BatchNorm2d(name: name + ".bn1", channels: outChannels)
        relu1 = ReLU(name: name + ".relu1")
        conv2 = Conv2d(name: name + ".conv2", inChannels: outChannels, outChannels: outChannels, kernel: 3, stride: 1, padding: 1, bias: false)
        bn2 = BatchNorm2d(name: name + ".bn2", channels: outChannels)
        relu2 = ReLU(name: name + ".relu2")
        shortcutGate = Parameter(name: name + ".shortcut_gate", kind: .gate, shape: [outChannels],
                                 value: [Float](repeating: 1, count: outChannels))
    }

    public var parameters: [Parameter] { conv1.parameters + bn1.parameters + conv2.parameters + bn2.parameters + [shortcutGate] }

    /// Whether some shortcut channel is closed.
    public var hasClosedShortcut: Bool { shortcutGate.value.contains { $0 != 1 } }

    /// Multiplies each channel of a `[N, C, H, W]` tensor by its gate (a no-op while all are open).
    public func gated(_ t: Tensor) -> Tensor {
        guard hasClosedShortcut else { return t }
        var t = t
        let (n, c) = (t.shape[0], t.shape[1])
        let plane = t.exampleSize / c
        for s in 0..<n {
            for ch in 0..<c where shortcutGate.value[ch] != 1 {
                let g = shortcutGate.value[ch]
                for p in 0..<plane { t.data[(s * c + ch) * plane + p] *= g }
            }
        }
        return t
    }

    public var hasProjection: Bool { stride != 1 || inChannels != outChannels }

    public func outputShape(for s: [Int]) -> [Int] {
        [outChannels, (s[1] - 1) / stride + 1, (s[2] - 1) / stride + 1]
    }

    /// Option A: subsample by `stride` and zero-pad channels.
    public func shortcut(_ x: Tensor) -> Tensor {
        guard hasProjection else { return x }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = ((h - 1) / stride + 1, (w - 1) / stride + 1)
        let pad = (outChannels - c) / 2
        var y = [Float](repeating: 0, count: n * outChannels * oh * ow)
        for s in 0..<n {
            for ch in 0..<c {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        y[((s * outChannels + ch + pad) * oh + oy) * ow + ox] = x.data[((s * c + ch) * h + oy * stride) * w + ox * stride]
                    }
                }
            }
        }
        return Tensor(shape: [n, outChannels, oh, ow], data: y)
    }

    func shortcutBackward(_ dy: Tensor) -> Tensor {
        guard hasProjection else { return dy }
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (oh, ow) = (dy.shape[2], dy.shape[3])
        let pad = (outChannels - c) / 2
        var dx = [Float](repeating: 0, count: inputShape.reduce(1, *))
        for s in 0..<n {
            for ch in 0..<c {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        dx[((s * c + ch) * h + oy * stride) * w + ox * stride] = dy.data[((s * outChannels + ch + pad) * oh + oy) * ow + ox]
                    }
                }
            }
        }
        return Tensor(shape: inputShape, data: dx)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { inputShape = x.shape }
        var branch = conv1.forward(x, training: training)
        branch = bn1.forward(branch, training: training)
        branch = relu1.forward(branch, training: training)
        branch = conv2.forward(branch, training: training)
        branch = bn2.forward(branch, training: training)
        let short = gated(shortcut(x))
        for i in branch.data.indices { branch.data[i] += short.data[i] }
        return relu2.forward(branch, training: training)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let d = relu2.backward(dy)
        var g = bn2.backward(d)
        g = conv2.backward(g)
        g = relu1.backward(g)
        g = bn1.backward(g)
        var dx = conv1.backward(g)
        let ds = shortcutBackward(gated(d))
        for i in dx.data.indices { dx.data[i] += ds.data[i] }
        return dx
    }
}
