import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefData
import ReliefKernels
import ReliefPruning
import ReliefTraining

/// `relief-neurons`: whole-neuron pruning without retraining (Wolfe et al., arXiv 1701.04465).
@main
struct ReliefNeurons: ParsableCommand {
    /// First, OpenBLAS's vector kernels where it took older ones for this CPU (`DenseBLAS.useFasterCore`).
    static func main() {
        restartWithEnvironment("OPENBLAS_CORETYPE", DenseBLAS.useFasterCore())
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "relief-neurons",
        abstract: "Remove whole hidden neurons of a trained network without retraining (Wolfe et al.).",
        discussion: """
        Ranks the hidden neurons of the fully connected layers by the change in loss their removal causes, \
        measured on a seeded ranking set of training images: exactly (--estimate brute-force), or estimated to \
        first or second order. Algorithm 1 ranks once; algorithm 2 re-ranks after every removal. Stops at \
        --count or --fraction neurons, or before the ranking set's accuracy falls more than --max-drop \
        percentage points. Writes OUTPUT/checkpoint.safetensors (masks set: relief-export removes the neurons \
        physically, and relief-prune --from continues from it), OUTPUT/removals.jsonl and OUTPUT/result.json.
        """)

    @Option(help: "A relief-train or relief-prune checkpoint.") var from: String
    @Option(help: "brute-force, first-order or second-order.") var estimate = "brute-force"
    @Option(help: "1: rank once; 2: re-rank after each removal.") var algorithm = 2
    @Option(help: "Remove at most this many neurons.") var count: Int?
    @Option(help: "Remove at most this fraction of the hidden neurons.") var fraction: Double?
    @Option(name: .customLong("max-drop"), help: "Stop before the ranking-set accuracy drops more than this many percentage points.") var maxDrop: Double?
    @Option(name: .customLong("ranking-set"), help: "Training images ranked on (seeded).") var rankingSet = 1000
    @Option var seed: UInt64 = 1
    @Option(name: [.short, .long], help: "Output folder.") var output: String
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Data folder.") var data: String?
    @Flag(help: "Print the result as JSON.") var json = false

    struct Result: Codable {
        var estimate: String
        var algorithm: Int
        var hiddenNeurons: Int
        var removed: Int
        var removedFraction: Double
        var removedPerLayer: [String: Int]
        var rankingAccuracyBefore: Double
        var rankingAccuracyAfter: Double
        var testAccuracyBefore: Double
        var testAccuracyAfter: Double
        var seconds: Double
        var checkpoint: String
    }

    func validate() throws {
        guard NeuronPruner.Estimate(rawValue: estimate) != nil else { throw ValidationError("--estimate must be brute-force, first-order or second-order") }
        guard algorithm == 1 || algorithm == 2 else { throw ValidationError("--algorithm must be 1 or 2") }
        guard count != nil || fraction != nil || maxDrop != nil else { throw ValidationError("give a stop: --count, --fraction or --max-drop") }
        if let fraction { guard fraction > 0, fraction <= 1 else { throw ValidationError("--fraction must be in (0, 1]") } }
        if let maxDrop { guard maxDrop >= 0 else { throw ValidationError("--max-drop must be 0 or more") } }
        guard rankingSet >= 1 else { throw ValidationError("--ranking-set must be at least 1") }
    }

    func run() throws {
        let result = try reportingErrors { () throws -> Result in
            Parallel.setThreads(threads)
            let saved = try Checkpoint.read(path: from)
            let name = try DatasetCatalog.name(saved.config.dataset)
            let d = try DatasetCatalog(dataRoot: data).load(name)
            let model = try ModelZoo.make(saved.config.model, classes: d.train.classCount, seed: saved.config.seed)
            try saved.restore(into: model)
            let pipeline = InputPipeline.standard(for: name)
            let loader = BatchLoader(set: d.train, batchSize: min(rankingSet, d.train.count), pipeline: pipeline, shuffle: true, seed: seed &+ 0x5EED)
            let (x, labels) = loader.batch(0, order: loader.order(epoch: 0), epoch: 0, training: false)
            var config = saved.config
            config.epochs = 1
            let trainer = try Trainer(model: model, config: config, train: d.train, test: d.test, pipeline: pipeline)
            let testBefore = trainer.evaluate().accuracy
            let pruner = try NeuronPruner(model: model, data: x, labels: labels)
            let before = pruner.evaluate()
            let start = Date()
            let limit = [count, fraction.map { Int($0 * Double(pruner.hiddenNeurons)) }].compactMap { $0 }.min() ?? pruner.hiddenNeurons
            let bar = ProgressBar("removing neurons", total: max(1, limit), unit: "neurons")
            let removals = pruner.run(NeuronPruner.Estimate(rawValue: estimate)!, algorithm: algorithm == 1 ? .rankOnce : .rerank,
                                      stop: .init(count: count, fraction: fraction, maxAccuracyDrop: maxDrop.map { $0 / 100 })) { _ in bar.advance() }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            let after = pruner.evaluate()
            let testAfter = trainer.evaluate().accuracy
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let log = try removals.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
            try Data(log.utf8).write(to: URL(fileURLWithPath: output + "/removals.jsonl"), options: .atomic)
            let checkpointPath = output + "/checkpoint.safetensors"
            let record = EpochRecord(epoch: saved.epoch, learningRate: 0, trainLoss: 0, trainAccuracy: 0, testLoss: 0, testAccuracy: testAfter,
                                     seconds: seconds, imagesPerSecond: 0)
            try Checkpoint(model: model, optimizer: nil, config: saved.config, epoch: saved.epoch, history: saved.history + [record],
                           extraMetadata: ["neurons.estimate": estimate, "neurons.algorithm": String(algorithm), "neurons.removed": String(removals.count)])
                .write(to: checkpointPath)
            var perLayer: [String: Int] = [:]
            for r in removals { perLayer[r.layer, default: 0] += 1 }
            let result = Result(estimate: estimate, algorithm: algorithm, hiddenNeurons: pruner.hiddenNeurons, removed: removals.count,
                                removedFraction: Double(removals.count) / Double(pruner.hiddenNeurons), removedPerLayer: perLayer,
                                rankingAccuracyBefore: before.accuracy, rankingAccuracyAfter: after.accuracy,
                                testAccuracyBefore: testBefore, testAccuracyAfter: testAfter, seconds: seconds, checkpoint: checkpointPath)
            let pretty = JSONEncoder()
            pretty.outputFormatting = [.prettyPrinted, .sortedKeys]
            try pretty.encode(result).write(to: URL(fileURLWithPath: output + "/result.json"), options: .atomic)
            return result
        }
        if json { return try printJSON(result) }
        print(String(format: "removed %d of %d hidden neurons (%.1f%%) in %.1f s; test accuracy %.2f%% -> %.2f%%; checkpoint %@",
                     result.removed, result.hiddenNeurons, 100 * result.removedFraction, result.seconds,
                     100 * result.testAccuracyBefore, 100 * result.testAccuracyAfter, result.checkpoint))
    }
}
