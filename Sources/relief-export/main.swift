import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefData
import ReliefExport
import ReliefFormat
import ReliefKernels
import ReliefONNX
import ReliefRuntime
import ReliefTraining

/// `relief-export`: a trained or pruned checkpoint to a compact `.rlf` model.
@main
struct ReliefExportCommand: ParsableCommand {
    /// First, OpenBLAS's vector kernels where it took older ones for this CPU (`DenseBLAS.useFasterCore`).
    static func main() {
        restartWithEnvironment("OPENBLAS_CORETYPE", DenseBLAS.useFasterCore())
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "relief-export",
        abstract: "Export a checkpoint as an .rlf (or ONNX) model; convert between .rlf and ONNX.",
        discussion: """
        Folds batch norm into the convolution before it, drops dropout, removes neurons and filters that can no \
        longer affect the output (with the matching inputs of the next layer), lets the writer pick each tensor's \
        encoding, and records provenance (method, α, iterations, data set, accuracy). --check then reads the file \
        back, runs it with the sparse runtime (relief-infer's engine) on the whole test set beside the checkpoint, and fails unless every prediction is the same \
        and every logit within 1e-4.

        ONNX: an output ending in .onnx (or --format onnx) writes a standard ONNX file (opset 13, dense weights \
        with the pruned zeros, symbolic batch) of the checkpoint or of an .rlf INPUT; an .onnx INPUT (for example \
        a model trained and pruned in PyTorch and exported with torch.onnx.export) is imported into an .rlf file, \
        with --input-scale, --mean and --std giving the normalisation of raw inputs. Operators without a Relief \
        equivalent are an error that names them.
        """)

    @Argument(help: "A checkpoint (.safetensors), an .rlf model, or an .onnx model.") var checkpoint: String
    @Option(name: [.short, .long], help: "The file to write (.rlf or .onnx).") var output: String
    @Option(help: "rlf or onnx (default: from the output's extension).") var format: String?
    @Option(name: .customLong("input-scale"), help: "ONNX import: raw input scale.") var inputScale: Float = 1.0 / 255
    @Option(parsing: .upToNextOption, help: "ONNX import: per-channel (or one) mean.") var mean: [Float] = [0]
    @Option(parsing: .upToNextOption, help: "ONNX import: per-channel (or one) standard deviation.") var std: [Float] = [1]
    @Flag(help: "Compare the exported model with the checkpoint on the test set.") var check = false
    @Option(help: "Data folder (for --check).") var data: String?
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Print the summary as JSON.") var json = false

    struct Summary: Codable {
        var output: String
        var model: String
        var parameters: Int
        var denseBytes: Int
        var exportedParameters: Int
        var exportedNonzeros: Int
        var fileBytes: UInt64
        var encodings: [String: String]
        var check: Check?
    }
    struct Check: Codable {
        var images: Int
        var samePredictions: Int
        var maxLogitDifference: Double
        var accuracy: Double
    }

    var outputIsONNX: Bool { (format ?? (output.lowercased().hasSuffix(".onnx") ? "onnx" : "rlf")) == "onnx" }

    func validate() throws {
        if let format, format != "rlf", format != "onnx" { throw ValidationError("--format must be rlf or onnx") }
        guard inputScale > 0, std.allSatisfy({ $0 > 0 }) else { throw ValidationError("--input-scale and --std must be positive") }
    }

    /// Writes `bytes` atomically: a temporary file beside the target, then a rename.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// .rlf ↔ ONNX without a checkpoint.
    func convert() throws {
        try reportingErrors {
            if checkpoint.lowercased().hasSuffix(".onnx") {
                guard !outputIsONNX else { throw ValidationError("the input is already ONNX; write an .rlf file") }
                guard let data = FileManager.default.contents(atPath: checkpoint) else { throw ValidationError("cannot read \(checkpoint)") }
                let onnx = try ONNXModel.decode([UInt8](data))
                let model = try onnx.reliefModel(normalization: .init(scale: inputScale, mean: mean, std: std), toolVersion: ReliefVersion.current)
                try RLFWriter().write(model, to: output)
                let file = try RLFReader.read(path: output)
                print("imported \(checkpoint) (\(onnx.graph.nodes.count) ONNX nodes, producer \(onnx.producerName)) as \(output): "
                      + "\(file.metadata.architecture.layers.count) layers, \(file.tensors.reduce(0) { $0 + $1.nnz }) nonzero weights, \(file.header.fileSize) bytes")
            } else {
                guard outputIsONNX else { throw ValidationError("\(checkpoint) is already an .rlf model; write an .onnx file") }
                let file = try RLFReader.read(path: checkpoint)
                let bytes = try ONNXModel(exporting: file.model, producerVersion: ReliefVersion.current).encoded()
                try Self.writeAtomically(bytes, to: output)
                print("wrote \(output): \(bytes.count) bytes of ONNX (dense weights) from \(checkpoint) (\(file.header.fileSize) bytes)")
            }
        }
    }

    func run() throws {
        if checkpoint.lowercased().hasSuffix(".onnx") || checkpoint.lowercased().hasSuffix(".rlf") { return try convert() }
        let summary = try reportingErrors { () throws -> Summary in
            Parallel.setThreads(threads)
            let saved = try Checkpoint.read(path: checkpoint)
            let name = try DatasetCatalog.name(saved.config.dataset)
            let model = try ModelZoo.make(saved.config.model, classes: name.classNames.count, seed: saved.config.seed)
            try saved.restore(into: model)
            let provenance = Self.provenance(saved, dataset: name)
            let exported = try ModelExport.export(model, classNames: name.classNames, pipeline: .standard(for: name), provenance: provenance)
            let rlfPath = outputIsONNX ? output + ".tmp.rlf" : output
            try RLFWriter().write(exported, to: rlfPath)
            let file = try RLFReader.read(path: rlfPath)
            if outputIsONNX {
                try? FileManager.default.removeItem(atPath: rlfPath)
                try Self.writeAtomically(try ONNXModel(exporting: exported, producerVersion: ReliefVersion.current).encoded(), to: output)
            }
            var summary = Summary(output: output, model: saved.config.model,
                                  parameters: model.prunableParameters.reduce(0) { $0 + $1.count },
                                  denseBytes: 4 * model.prunableParameters.reduce(0) { $0 + $1.count },
                                  exportedParameters: file.tensors.reduce(0) { $0 + $1.count },
                                  exportedNonzeros: file.tensors.reduce(0) { $0 + $1.nnz },
                                  fileBytes: file.header.fileSize,
                                  encodings: Dictionary(uniqueKeysWithValues: file.records.map { ($0.name, $0.encoding.description) }))
            if check {
                let d = try DatasetCatalog(dataRoot: data).load(name)
                summary.check = try Self.compare(model, with: InferenceModel(file.model, policy: .fastest(batch: 500)), on: d.test, pipeline: .standard(for: name))
                let c = summary.check!
                guard c.samePredictions == c.images, c.maxLogitDifference <= 1e-4 else {
                    throw ValidationError("the exported model differs from the checkpoint: \(c.images - c.samePredictions) predictions differ, largest logit difference \(c.maxLogitDifference)")
                }
            }
            return summary
        }
        if json { return try printJSON(summary) }
        print("wrote \(summary.output): \(summary.fileBytes) bytes; \(summary.model) has \(summary.parameters) weights and biases (\(summary.denseBytes) bytes dense float32), \(summary.exportedParameters) after removing dead units, \(summary.exportedNonzeros) nonzero")
        print("encodings: " + summary.encodings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        if let c = summary.check {
            print(String(format: "check: %d of %d test predictions identical, largest logit difference %.2e, accuracy %.2f%%",
                         c.samePredictions, c.images, c.maxLogitDifference, 100 * c.accuracy))
        }
    }

    static func provenance(_ c: Checkpoint, dataset: DatasetName) -> RLFMetadata.Provenance {
        let accuracy = c.history.last?.testAccuracy
        if let text = c.file.metadata["pruning.recipe"],
           let recipe = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
            let method = recipe["method"] as? String ?? "relief"
            let alpha = method == "relief" ? ["conv": recipe["alphaConvolution"] as? Double ?? 0, "fc": recipe["alphaLinear"] as? Double ?? 0] : nil
            return .init(method: method, alpha: alpha, iterations: Int(c.file.metadata["pruning.iteration"] ?? ""),
                         dataset: dataset.rawValue, accuracy: accuracy, toolVersion: ReliefVersion.current)
        }
        return .init(method: "trained", dataset: dataset.rawValue, accuracy: accuracy, toolVersion: ReliefVersion.current,
                     notes: "dense training checkpoint, epoch \(c.epoch)")
    }

    /// The checkpoint's forward pass against the exported file run by the sparse runtime.
    static func compare(_ a: Sequential, with b: InferenceModel, on set: ImageSet, pipeline: InputPipeline) throws -> Check {
        let loader = BatchLoader(set: set, batchSize: 500, pipeline: pipeline, shuffle: false, seed: 0)
        let session = try InferenceSession(model: b, maxBatch: 500)
        let order = loader.order(epoch: 0)
        var same = 0, correct = 0
        var maxDiff = 0.0
        for batch in 0..<loader.batchCount {
            let (x, labels) = loader.batch(batch, order: order, epoch: 0, training: false)
            let ya = a.forward(x, training: false)
            let yb = Tensor(shape: ya.shape, data: try session.run(x.data, batch: x.batch))
            for (u, v) in zip(ya.data, yb.data) { maxDiff = max(maxDiff, Double(abs(u - v))) }
            let pa = SoftmaxCrossEntropy.predictions(ya), pb = SoftmaxCrossEntropy.predictions(yb)
            same += zip(pa, pb).filter { $0 == $1 }.count
            correct += zip(pb, labels).filter { $0 == $1 }.count
        }
        return Check(images: set.count, samePredictions: same, maxLogitDifference: maxDiff, accuracy: Double(correct) / Double(max(set.count, 1)))
    }
}
