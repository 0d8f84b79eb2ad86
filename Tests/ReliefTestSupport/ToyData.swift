import Foundation
import ReliefData
import ReliefRandom

/// Small separable data for tests that train: 28x28 images in which class k is a bright band at
/// row 2k over background noise, so a few epochs learn it.
public enum ToyData {
    public static func bands(count: Int, seed: UInt64) -> ImageSet {
        var g = SeededGenerator(seed: seed)
        var pixels = [UInt8](repeating: 0, count: count * 784)
        var labels: [UInt8] = []
        for i in 0..<count {
            let k = Int(g.next() % 10)
            labels.append(UInt8(k))
            for p in 0..<784 { pixels[i * 784 + p] = UInt8(g.next() % 40) }
            for c in 0..<28 { pixels[i * 784 + 2 * k * 28 + c] = 200 }
        }
        return ImageSet(channels: 1, height: 28, width: 28, pixels: pixels, labels: labels, classCount: 10)
    }

    /// A training and a test split of `bands`, named as MNIST so the MNIST pipeline applies.
    public static func dataset(train: Int = 300, test: Int = 100, seed: UInt64) -> Dataset {
        Dataset(name: .mnist, train: bands(count: train, seed: seed), test: bands(count: test, seed: seed + 1),
                classNames: DatasetName.mnist.classNames)
    }

    /// A fresh temporary folder.
    public static func temporaryFolder() -> String {
        let path = NSTemporaryDirectory() + "relief-tests-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
