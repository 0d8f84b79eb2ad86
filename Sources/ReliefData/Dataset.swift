import Foundation

/// The data sets Relief knows by name.
public enum DatasetName: String, CaseIterable, Sendable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    case cifar10
    case cifar100

    /// The classes' names as the data set's documentation gives them (CIFAR-100: generic names
    /// unless its `fine_label_names.txt` is present, see `DatasetCatalog.load`).
    public var classNames: [String] {
        switch self {
        case .mnist: (0...9).map(String.init)
        case .fashionMNIST: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        case .cifar10: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        case .cifar100: (0..<100).map { "class-\($0)" }
        }
    }
}

/// A named data set's training and test splits.
public struct Dataset: Sendable {
    public var name: DatasetName
    public var train: ImageSet
    public var test: ImageSet
    public var classNames: [String]

    public init(name: DatasetName, train: ImageSet, test: ImageSet, classNames: [String]) {
        self.name = name
        self.train = train
        self.test = test
        self.classNames = classNames
    }
}

/// Where data sets live and how to load them by name.
///
/// MNIST, CIFAR-10 and CIFAR-100 are looked up under the data folder (`$RELIEF_DATA`, default
/// `./data`); Fashion-MNIST first there, then where Debian's `dataset-fashion-mnist` installs it.
public struct DatasetCatalog: Sendable {
    public var dataRoot: String
    public var systemRoot: String

    public init(dataRoot: String? = nil, systemRoot: String = "/usr/share/datasets") {
        self.dataRoot = dataRoot ?? ProcessInfo.processInfo.environment["RELIEF_DATA"] ?? "data"
        self.systemRoot = systemRoot
    }

    /// Looks up a name, accepting a few spellings (`fashion_mnist`, `CIFAR-10`).
    public static func name(_ text: String) throws(DataError) -> DatasetName {
        let key = text.lowercased().replacingOccurrences(of: "_", with: "-")
        let aliases: [String: DatasetName] = ["fashionmnist": .fashionMNIST, "cifar-10": .cifar10, "cifar-100": .cifar100]
        guard let name = DatasetName(rawValue: key) ?? aliases[key] else {
            throw .unknownDataset(text, known: DatasetName.allCases.map(\.rawValue))
        }
        return name
    }

    /// Loads both splits of a data set.
    public func load(_ name: DatasetName) throws(DataError) -> Dataset {
        switch name {
        case .mnist:
            let dir = try folder(for: name, candidates: ["\(dataRoot)/mnist"], probe: "train-images-idx3-ubyte",
                                 remedy: "Install it with: python3 tools/fetch_mnist.py (or tools/setup.sh).")
            return try idxDataset(name, dir, classNames: name.classNames)
        case .fashionMNIST:
            let dir = try folder(for: name, candidates: ["\(dataRoot)/fashion-mnist", "\(systemRoot)/fashion-mnist"],
                                 probe: "train-images-idx3-ubyte",
                                 remedy: "Install it with: apt-get install dataset-fashion-mnist (or tools/setup.sh).")
            return try idxDataset(name, dir, classNames: name.classNames)
        case .cifar10:
            let dir = try folder(for: name, candidates: ["\(dataRoot)/cifar-10-batches-bin"], probe: "test_batch.bin",
                                 remedy: cifarRemedy("CIFAR-10 binary version", "cifar-10-batches-bin"))
            let train = try CIFARFile.read(paths: (1...5).map { "\(dir)/data_batch_\($0).bin" }, variant: .cifar10)
            let test = try CIFARFile.read(paths: ["\(dir)/test_batch.bin"], variant: .cifar10)
            let names = classNames(file: "\(dir)/batches.meta.txt", count: 10, fallback: name.classNames)
            return Dataset(name: name, train: train, test: test, classNames: names)
        case .cifar100:
            let dir = try folder(for: name, candidates: ["\(dataRoot)/cifar-100-binary"], probe: "test.bin",
                                 remedy: cifarRemedy("CIFAR-100 binary version", "cifar-100-binary"))
            let train = try CIFARFile.read(paths: ["\(dir)/train.bin"], variant: .cifar100)
            let test = try CIFARFile.read(paths: ["\(dir)/test.bin"], variant: .cifar100)
            let names = classNames(file: "\(dir)/fine_label_names.txt", count: 100, fallback: name.classNames)
            return Dataset(name: name, train: train, test: test, classNames: names)
        }
    }

    private func cifarRemedy(_ what: String, _ folder: String) -> String {
        "No copy can be downloaded on this machine; put the \(what) in \(dataRoot)/\(folder)/."
    }

    private func folder(for name: DatasetName, candidates: [String], probe: String, remedy: String) throws(DataError) -> String {
        for dir in candidates where locate("\(dir)/\(probe)") != nil { return dir }
        throw .datasetMissing(dataset: name.rawValue, path: candidates.joined(separator: " or "), remedy: remedy)
    }

    /// The file itself or its `.gz` twin.
    private func locate(_ path: String) -> String? {
        [path, path + ".gz"].first { FileManager.default.fileExists(atPath: $0) }
    }

    private func idxDataset(_ name: DatasetName, _ dir: String, classNames: [String]) throws(DataError) -> Dataset {
        func file(_ base: String) -> String { locate("\(dir)/\(base)") ?? "\(dir)/\(base)" }
        let train = try ImageSet.fromIDX(images: file("train-images-idx3-ubyte"), labels: file("train-labels-idx1-ubyte"),
                                         height: 28, width: 28, classCount: 10)
        let test = try ImageSet.fromIDX(images: file("t10k-images-idx3-ubyte"), labels: file("t10k-labels-idx1-ubyte"),
                                        height: 28, width: 28, classCount: 10)
        return Dataset(name: name, train: train, test: test, classNames: classNames)
    }

    private func classNames(file: String, count: Int, fallback: [String]) -> [String] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return fallback }
        let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return names.count == count ? names : fallback
    }
}
