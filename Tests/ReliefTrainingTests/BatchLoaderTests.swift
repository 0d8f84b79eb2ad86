import ReliefData
import ReliefRandom
import ReliefTraining
import Testing

@Suite struct BatchLoaderTests {
    func cifarLike(_ n: Int) -> ImageSet {
        var g = SeededGenerator(seed: 12)
        return ImageSet(channels: 3, height: 32, width: 32, pixels: (0..<(n * 3072)).map { _ in UInt8(truncatingIfNeeded: g.next()) },
                        labels: (0..<n).map { UInt8($0 % 10) }, classCount: 10)
    }

    let pipeline = InputPipeline(mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3], augment: true)

    @Test func normalisationIsExactWithoutAugmentation() {
        let set = cifarLike(4)
        let loader = BatchLoader(set: set, batchSize: 4, pipeline: pipeline, shuffle: false, seed: 1)
        let (x, labels) = loader.batch(0, order: loader.order(epoch: 0), epoch: 0, training: false)
        #expect(labels == [0, 1, 2, 3])
        for i in stride(from: 0, to: x.count, by: 97) {
            let c = (i / 1024) % 3
            let expected = (Float(set.pixels[i]) / 255 - pipeline.mean[c]) / pipeline.std[c]
            #expect(abs(x.data[i] - expected) < 1e-5)
        }
    }

    /// Every augmented image is its original shifted by at most 4 pixels (zero padding), maybe mirrored.
    @Test func augmentationIsACropAndFlip() {
        let set = cifarLike(6)
        let loader = BatchLoader(set: set, batchSize: 6, pipeline: pipeline, shuffle: true, seed: 3)
        let order = loader.order(epoch: 2)
        let (x, _) = loader.batch(0, order: order, epoch: 2, training: true)
        let plain = loader.batch(0, order: order, epoch: 2, training: false).0
        var flips = 0
        for s in 0..<6 {
            let img = Array(x.data[(s * 3072)..<((s + 1) * 3072)])
            let orig = Array(plain.data[(s * 3072)..<((s + 1) * 3072)])
            var found = false
            for flip in [false, true] where !found {
                for dy in -4...4 where !found {
                    for dx in -4...4 where !found {
                        var match = true
                        outer: for c in 0..<3 {
                            let pad = -pipeline.mean[c] / pipeline.std[c]
                            for y in 0..<32 {
                                for xx in 0..<32 {
                                    let sy = y + dy, sxRaw = xx + dx
                                    let sx = flip ? 31 - sxRaw : sxRaw
                                    let expected = (sy >= 0 && sy < 32 && sxRaw >= 0 && sxRaw < 32) ? orig[(c * 32 + sy) * 32 + sx] : pad
                                    if abs(img[(c * 32 + y) * 32 + xx] - expected) > 1e-6 { match = false; break outer }
                                }
                            }
                        }
                        if match { found = true; if flip { flips += 1 } }
                    }
                }
            }
            #expect(found, "sample \(s) is not a crop-and-flip of its image (seed 3)")
        }
        // The same epoch and batch give the same augmentation; another epoch another.
        #expect(loader.batch(0, order: order, epoch: 2, training: true).0 == x)
        #expect(loader.batch(0, order: order, epoch: 3, training: true).0 != x)
        #expect(loader.order(epoch: 2) != loader.order(epoch: 3))
    }
}
