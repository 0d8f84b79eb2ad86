import ReliefData
import ReliefRandom

/// How images become network inputs: bytes scaled by 1/255 (PyTorch's ToTensor), then per-channel
/// `(x − mean) / std`, and for CIFAR-style training a random 4-pixel-padded crop and horizontal flip.
public struct InputPipeline: Sendable, Codable, Equatable {
    public var mean: [Float]
    public var std: [Float]
    public var augment: Bool

    public init(mean: [Float], std: [Float], augment: Bool) {
        self.mean = mean
        self.std = std
        self.augment = augment
    }

    /// The authors' choices: MNIST-style sets as plain [0, 1] pixels; CIFAR normalised and augmented.
    public static func standard(for dataset: DatasetName) -> InputPipeline {
        switch dataset {
        case .mnist, .fashionMNIST: InputPipeline(mean: [0], std: [1], augment: false)
        case .cifar10: InputPipeline(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616], augment: true)
        case .cifar100: InputPipeline(mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762], augment: true)
        }
    }
}

/// Mini-batches of one split: shuffled by a seed and the epoch (so a resumed run sees the same
/// order), normalised, optionally augmented.
public struct BatchLoader {
    public let set: ImageSet
    public let batchSize: Int
    public let pipeline: InputPipeline
    public let shuffle: Bool
    public let seed: UInt64

    public init(set: ImageSet, batchSize: Int, pipeline: InputPipeline, shuffle: Bool, seed: UInt64) {
        self.set = set
        self.batchSize = batchSize
        self.pipeline = pipeline
        self.shuffle = shuffle
        self.seed = seed
    }

    public var batchCount: Int { (set.count + batchSize - 1) / batchSize }

    /// The example order of an epoch.
    public func order(epoch: Int) -> [Int] {
        var indices = Array(0..<set.count)
        if shuffle {
            var g = SeededGenerator(seed: seed &* 0x9E37_79B9 &+ UInt64(epoch))
            indices.shuffle(using: &g)
        }
        return indices
    }

    /// Batch `b` of an epoch given that epoch's order; `training` turns augmentation on.
    public func batch(_ b: Int, order: [Int], epoch: Int, training: Bool) -> (Tensor, [Int]) {
        let start = b * batchSize, end = min(start + batchSize, set.count)
        let (c, h, w) = (set.channels, set.height, set.width)
        let size = set.imageSize
        var data = [Float](repeating: 0, count: (end - start) * size)
        var labels: [Int] = []
        labels.reserveCapacity(end - start)
        var g = SeededGenerator(seed: seed &+ UInt64(epoch) &* 1_000_003 &+ UInt64(b))
        let scale: [Float] = (0..<c).map { 1 / (255 * pipeline.std[pipeline.std.count == 1 ? 0 : $0]) }
        let shift: [Float] = (0..<c).map { pipeline.mean[pipeline.mean.count == 1 ? 0 : $0] / pipeline.std[pipeline.std.count == 1 ? 0 : $0] }
        set.pixels.withUnsafeBufferPointer { pixels in
            data.withUnsafeMutableBufferPointer { out in
                for (slot, index) in order[start..<end].enumerated() {
                    labels.append(Int(set.labels[index]))
                    let src = index * size, dst = slot * size
                    let augment = training && pipeline.augment
                    if !augment {
                        // No crop or flip: a straight scale-and-shift of each channel.
                        let plane = h * w
                        for ch in 0..<c {
                            let (sc, sh) = (scale[ch], shift[ch])
                            let s = src + ch * plane, d = dst + ch * plane
                            for i in 0..<plane { out[d + i] = Float(pixels[s + i]) * sc - sh }
                        }
                        continue
                    }
                    let dy = augment ? Int(g.next() % 9) - 4 : 0, dx = augment ? Int(g.next() % 9) - 4 : 0
                    let flip = augment && g.next() % 2 == 1
                    for ch in 0..<c {
                        for y in 0..<h {
                            for x in 0..<w {
                                let sy = y + dy, sxRaw = x + dx
                                let sx = flip ? w - 1 - sxRaw : sxRaw
                                let value: Float = (sy >= 0 && sy < h && sxRaw >= 0 && sxRaw < w)
                                    ? Float(pixels[src + (ch * h + sy) * w + sx]) * scale[ch] - shift[ch]
                                    : -shift[ch]   // zero padding in pixel space
                                out[dst + (ch * h + y) * w + x] = value
                            }
                        }
                    }
                }
            }
        }
        return (Tensor(shape: [end - start, c, h, w], data: data), labels)
    }
}
