import Foundation
import ReliefData
import ReliefRandom
import Testing

@Suite struct DatasetTests {
    /// A fake MNIST-shaped folder with `n` train and test images of random pixels and labels.
    func makeIDXFolder(_ root: String, name: String, n: Int, seed: UInt64, labelLimit: UInt8 = 10) throws {
        var g = SeededGenerator(seed: seed)
        let dir = root + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for split in ["train", "t10k"] {
            let pixels = (0..<(n * 784)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            let labels = (0..<n).map { _ in UInt8(g.next() % UInt64(labelLimit)) }
            try Data(IDXArray(dimensions: [n, 28, 28], bytes: pixels).serialized()).write(to: URL(fileURLWithPath: "\(dir)/\(split)-images-idx3-ubyte"))
            try Data(IDXArray(dimensions: [n], bytes: labels).serialized()).write(to: URL(fileURLWithPath: "\(dir)/\(split)-labels-idx1-ubyte"))
        }
    }

    @Test func loadsGeneratedIDXDataSet() throws {
        let root = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeIDXFolder(root, name: "mnist", n: 50, seed: 3)
        let d = try DatasetCatalog(dataRoot: root, systemRoot: root + "/none").load(.mnist)
        #expect(d.train.count == 50 && d.test.count == 50)
        #expect(d.train.labelHistogram().reduce(0, +) == 50)
        #expect(d.train.image(49).count == 784)
    }

    @Test func missingDataSetNamesTheInstallCommand() {
        let catalog = DatasetCatalog(dataRoot: "/nonexistent", systemRoot: "/nonexistent")
        let mnist = dataError { _ = try catalog.load(.mnist) }
        #expect(mnist.map(caseName) == "datasetMissing")
        #expect(mnist?.description.contains("python3 tools/fetch_mnist.py") == true)
        #expect(dataError { _ = try catalog.load(.fashionMNIST) }?.description.contains("apt-get install dataset-fashion-mnist") == true)
        #expect(dataError { _ = try catalog.load(.cifar10) }.map(caseName) == "datasetMissing")
        #expect(dataError { _ = try DatasetCatalog.name("imagenet") }.map(caseName) == "unknownDataset")
        #expect((try? DatasetCatalog.name("Fashion_MNIST")) == .fashionMNIST)
    }

    @Test func mislabelledAndMismatchedFilesAreRefused() throws {
        let root = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try makeIDXFolder(root, name: "mnist", n: 20, seed: 4, labelLimit: 200)
        let catalog = DatasetCatalog(dataRoot: root)
        #expect(dataError { _ = try catalog.load(.mnist) }.map(caseName) == "labelOutOfRange")
        // Labels for a different number of images.
        try makeIDXFolder(root, name: "mnist", n: 20, seed: 5)
        try Data(IDXArray(dimensions: [19], bytes: [UInt8](repeating: 1, count: 19)).serialized())
            .write(to: URL(fileURLWithPath: root + "/mnist/train-labels-idx1-ubyte"))
        #expect(dataError { _ = try catalog.load(.mnist) } == .countMismatch(images: 20, labels: 19))
        // Images of the wrong size.
        try Data(IDXArray(dimensions: [20, 32, 32], bytes: [UInt8](repeating: 1, count: 20 * 1024)).serialized())
            .write(to: URL(fileURLWithPath: root + "/mnist/train-images-idx3-ubyte"))
        #expect(dataError { _ = try catalog.load(.mnist) }.map(caseName) == "unexpectedShape")
    }

    @Test func cifarBinaryFiles() throws {
        var g = SeededGenerator(seed: 8)
        func records(_ n: Int, labelBytes: Int, labelLimit: UInt64) -> [UInt8] {
            var out: [UInt8] = []
            for _ in 0..<n {
                for _ in 0..<labelBytes { out.append(UInt8(g.next() % labelLimit)) }
                out += (0..<3072).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            }
            return out
        }
        let ten = records(7, labelBytes: 1, labelLimit: 10)
        let set = try CIFARFile.parse(ten, variant: .cifar10, path: "x")
        #expect(set.count == 7 && set.channels == 3 && set.labels[3] == ten[3 * 3073])
        #expect(Array(set.image(6)) == Array(ten[(6 * 3073 + 1)..<(7 * 3073)]))
        #expect(dataError { _ = try CIFARFile.parse(Array(ten.dropLast()), variant: .cifar10, path: "x") }.map(caseName) == "cifarLengthMismatch")
        var badLabel = ten
        badLabel[3073] = 10
        #expect(dataError { _ = try CIFARFile.parse(badLabel, variant: .cifar10, path: "x") }
            == .labelOutOfRange(path: "x", index: 1, label: 10, classes: 10))
        let hundred = records(5, labelBytes: 2, labelLimit: 20)
        let fine = try CIFARFile.parse(hundred, variant: .cifar100, path: "y")
        #expect(fine.classCount == 100 && fine.labels[2] == hundred[2 * 3074 + 1])

        // A whole CIFAR-10 folder through the catalog.
        let root = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = root + "/cifar-10-batches-bin"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in (1...5).map({ "data_batch_\($0).bin" }) + ["test_batch.bin"] {
            try Data(records(4, labelBytes: 1, labelLimit: 10)).write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        }
        let d = try DatasetCatalog(dataRoot: root).load(.cifar10)
        #expect(d.train.count == 20 && d.test.count == 4 && d.classNames.count == 10)
    }

    @Test func nearestCentroidIsExact() {
        // Two classes of 1x2x1 "images": means (64, 0) and (0, 192) in bytes.
        let set = ImageSet(channels: 1, height: 2, width: 1, pixels: [0, 0, 128, 0, 0, 192, 0, 192], labels: [0, 0, 1, 1], classCount: 2)
        let c = NearestCentroid(fitting: set)
        #expect(c.weights == [0.25, 0, 0, 0.75])
        #expect(c.biases == [-0.03125, -0.28125])
        #expect(c.predict(ImageSet(channels: 1, height: 2, width: 1, pixels: [200, 0, 0, 100], labels: [0, 1], classCount: 2)) == [0, 1])
    }
}

/// Tests on the real data sets; skipped, with the reason shown, when they are not installed.
@Suite struct RealDataSetTests {
    static let catalog = DatasetCatalog()
    static func installed(_ name: DatasetName) -> Bool { (try? catalog.load(name)) != nil }

    @Test(.enabled(if: installed(.mnist), "MNIST is not installed: run python3 tools/fetch_mnist.py"))
    func mnistIsCanonical() throws {
        let d = try Self.catalog.load(.mnist)
        #expect(d.train.count == 60_000 && d.test.count == 10_000)
        #expect(d.train.labelHistogram() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        #expect(Array(d.train.labels.prefix(8)) == [5, 0, 4, 1, 9, 2, 1, 3])
        // The nearest-centroid classifier is a real model: far above chance on the test set.
        #expect(NearestCentroid(fitting: d.train).accuracy(on: d.test) > 0.8)
    }

    @Test(.enabled(if: installed(.fashionMNIST), "Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist"))
    func fashionMNISTIsCanonical() throws {
        let d = try Self.catalog.load(.fashionMNIST)
        #expect(d.train.count == 60_000 && d.test.count == 10_000)
        #expect(d.train.labelHistogram() == [Int](repeating: 6000, count: 10))
        #expect(d.test.labelHistogram() == [Int](repeating: 1000, count: 10))
    }
}
