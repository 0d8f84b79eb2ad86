import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefData
import ReliefFormat

/// `relief-data`: data set summaries, and a nearest-centroid model that exercises the `.rlf` round trip.
@main
struct ReliefDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relief-data",
        abstract: "Inspect the data sets and round-trip a real model through the .rlf format.",
        subcommands: [Summary.self, Centroid.self])
}

struct DatasetOptions: ParsableArguments {
    @Option(name: .long, help: "Data folder (default: $RELIEF_DATA or ./data).")
    var data: String?
}

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load data sets and print their sizes, shapes, class balance and mean pixel.")

    @Option(name: .long, parsing: .upToNextOption,
            help: "Data sets: \(DatasetName.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dataset: [String] = ["mnist", "fashion-mnist"]

    @OptionGroup var options: DatasetOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct SplitSummary: Codable {
        var examples: Int
        var shape: [Int]
        var classHistogram: [Int]
        var channelMeans: [Double]
    }
    struct DatasetSummary: Codable {
        var name: String
        var classNames: [String]
        var train: SplitSummary
        var test: SplitSummary
    }

    func run() throws {
        let catalog = DatasetCatalog(dataRoot: options.data)
        let summaries = try reportingErrors {
            try dataset.map { text in
                let d = try catalog.load(try DatasetCatalog.name(text))
                func split(_ s: ImageSet) -> SplitSummary {
                    SplitSummary(examples: s.count, shape: [s.channels, s.height, s.width],
                                 classHistogram: s.labelHistogram(), channelMeans: s.channelMeans())
                }
                return DatasetSummary(name: d.name.rawValue, classNames: d.classNames, train: split(d.train), test: split(d.test))
            }
        }
        if json { return try printJSON(summaries) }
        for s in summaries {
            print("\(s.name): \(s.train.examples) training and \(s.test.examples) test images of \(s.train.shape), \(s.classNames.count) classes")
            print("  classes: \(s.classNames.joined(separator: ", "))")
            print("  training examples per class: \(s.train.classHistogram)")
            print("  test examples per class:     \(s.test.classHistogram)")
            print("  mean pixel (0-1): train \(s.train.channelMeans.map { String(format: "%.4f", $0) }), test \(s.test.channelMeans.map { String(format: "%.4f", $0) })")
        }
    }
}

struct Centroid: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a nearest-centroid classifier, write it as .rlf, read it back and check both agree.",
        discussion: """
        The classifier is one linear layer (class means as weights), so it needs no training engine. The \
        command writes it atomically, reads the file back, checks every weight is identical bit for bit \
        and that the read-back model makes the same test-set predictions, and exits 2 if anything differs.
        """)

    @Option(name: .long, help: "Data set: mnist or fashion-mnist.")
    var dataset = "mnist"

    @Option(name: [.short, .long], help: "Where to write the model.")
    var output: String

    @OptionGroup var options: DatasetOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Result: Codable {
        var dataset: String
        var output: String
        var testAccuracy: Double
        var readBackAccuracy: Double
        var identicalWeights: Bool
        var identicalPredictions: Bool
        var fileBytes: UInt64
        var denseBytes: Int
        var encodings: [String: String]
    }

    func run() throws {
        let result = try reportingErrors { () throws -> Result in
            let name = try DatasetCatalog.name(dataset)
            let d = try DatasetCatalog(dataRoot: options.data).load(name)
            let classifier = NearestCentroid(fitting: d.train)
            let predictions = classifier.predict(d.test)
            let accuracy = classifier.accuracy(on: d.test)
            let model = Self.model(classifier, dataset: d, accuracy: accuracy)
            try RLFWriter().write(model, to: output)

            let file = try RLFReader.read(path: output)
            let identical = model.tensors.allSatisfy { t in file.model.tensor(named: t.name).map(t.sameContents) ?? false }
            let weights = file.model.tensor(named: "fc.weight")!.denseValues()
            let biases = file.model.tensor(named: "fc.bias")!.denseValues()
            let reread = NearestCentroid(weights: weights, biases: biases)
            let rereadPredictions = reread.predict(d.test)
            let result = Result(dataset: name.rawValue, output: output, testAccuracy: accuracy,
                                readBackAccuracy: reread.accuracy(on: d.test), identicalWeights: identical,
                                identicalPredictions: rereadPredictions == predictions, fileBytes: file.header.fileSize,
                                denseBytes: model.tensors.reduce(0) { $0 + 4 * $1.count },
                                encodings: Dictionary(uniqueKeysWithValues: file.records.map { ($0.name, $0.encoding.description) }))
            guard identical, result.identicalPredictions else {
                throw ValidationError("the model read back from \(output) differs from the one written")
            }
            return result
        }
        if json { return try printJSON(result) }
        print("nearest-centroid on \(result.dataset): test accuracy \(String(format: "%.2f%%", 100 * result.testAccuracy))")
        print("wrote \(result.output): \(result.fileBytes) bytes (dense float32 weights: \(result.denseBytes) bytes); encodings \(result.encodings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))")
        print("read back: weights identical bit for bit, same predictions on all test images, accuracy \(String(format: "%.2f%%", 100 * result.readBackAccuracy))")
    }

    static func model(_ c: NearestCentroid, dataset: Dataset, accuracy: Double) -> RLFModel {
        let s = dataset.train
        let layers: [RLFMetadata.Layer] = [
            .init(name: "flatten", op: .flatten, inputs: ["input"], outputShape: [c.features]),
            .init(name: "fc", op: .linear, inputs: ["flatten"], outputShape: [c.classes], weight: "fc.weight", bias: "fc.bias"),
        ]
        let architecture = RLFMetadata.Architecture(
            name: "nearest-centroid", input: .init(shape: [s.channels, s.height, s.width], normalization: .unitBytes),
            layers: layers, output: "fc", classNames: dataset.classNames)
        let provenance = RLFMetadata.Provenance(method: "nearest-centroid", dataset: dataset.name.rawValue, accuracy: accuracy,
                                                toolVersion: ReliefVersion.current,
                                                notes: "class means of the training images; no training run")
        return RLFModel(metadata: RLFMetadata(architecture: architecture, provenance: provenance), tensors: [
            RLFTensor(name: "fc.weight", shape: [c.classes, c.features], values: c.weights),
            RLFTensor(name: "fc.bias", shape: [c.classes], values: c.biases),
        ])
    }
}
