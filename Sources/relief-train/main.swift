import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefData
import ReliefKernels
import ReliefTraining

/// `relief-train`: trains a model of the zoo on a data set, with checkpoints and resumption.
@main
struct ReliefTrain: ParsableCommand {
    /// First, OpenBLAS's vector kernels where it took older ones for this CPU (`DenseBLAS.useFasterCore`).
    static func main() {
        restartWithEnvironment("OPENBLAS_CORETYPE", DenseBLAS.useFasterCore())
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "relief-train",
        abstract: "Train a model from the zoo on a data set.",
        discussion: """
        Writes into the output folder: checkpoint.safetensors after every epoch (weights, masks, optimiser \
        state and history; PyTorch's safetensors loader reads it), log.jsonl or log.csv with one line per \
        epoch, and result.json at the end. With --resume an interrupted run continues from its checkpoint.
        Models: \(ModelZoo.names.joined(separator: ", ")).
        """)

    @Option(help: "Model name.") var model: String
    @Option(help: "Data set: mnist, fashion-mnist, cifar10, cifar100.") var dataset: String
    @Option(help: "Epochs to train in all.") var epochs: Int
    @Option(name: .customLong("batch-size"), help: "Images per batch.") var batchSize = 120
    @Option(help: "adam or sgd.") var optimizer: String = "adam"
    @Option(name: .customLong("lr"), help: "Learning rate.") var learningRate: Float = 1e-3
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Option(name: .customLong("weight-decay"), help: "L2 weight decay.") var weightDecay: Float = 5e-4
    @Option(parsing: .upToNextOption, help: "Epochs (0-based) at which the learning rate is multiplied by --gamma.") var milestones: [Int] = []
    @Option(help: "Learning-rate factor at each milestone.") var gamma: Float = 0.1
    @Option(help: "Random seed (initialisation, shuffling, dropout, augmentation).") var seed: UInt64 = 1
    @Option(help: "Worker threads (OpenBLAS itself runs single-threaded inside them).") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .customLong("train-limit"), help: "Train on the first N images only (0: all).") var trainLimit = 0
    @Option(name: [.short, .long], help: "Output folder (default runs/MODEL-DATASET).") var output: String?
    @Option(name: .customLong("log-format"), help: "jsonl or csv.") var logFormat = "jsonl"
    @Option(help: "Data folder (default: $RELIEF_DATA or ./data).") var data: String?
    @Flag(help: "Continue from the output folder's checkpoint.") var resume = false
    @Flag(help: "Start over even if the output folder holds a run.") var force = false
    @Flag(help: "Print the result as JSON on standard output.") var json = false

    struct Result: Codable {
        var model: String
        var dataset: String
        var epochs: Int
        var testAccuracy: Double
        var bestTestAccuracy: Double
        var secondsPerEpoch: Double
        var checkpoint: String
        var history: [EpochRecord]
    }

    func run() throws {
        let result = try reportingErrors { () throws -> Result in
            guard ["jsonl", "csv"].contains(logFormat) else { throw TrainingError.invalidOption("--log-format must be jsonl or csv") }
            guard let kind = TrainingConfig.OptimizerKind(rawValue: optimizer) else {
                throw TrainingError.invalidOption("--optimizer must be adam or sgd, found \(optimizer)")
            }
            Parallel.setThreads(threads)
            let name = try DatasetCatalog.name(dataset)
            _ = try ModelZoo.inputShape(of: model)   // an unknown model fails before the data loads
            let folder = output ?? "runs/\(model)-\(name.rawValue)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let checkpointPath = folder + "/checkpoint.safetensors"
            let logPath = folder + "/log." + logFormat

            var config = TrainingConfig(model: model, dataset: name.rawValue, epochs: epochs)
            config.batchSize = batchSize
            config.optimizer = kind
            config.learningRate = learningRate
            config.momentum = momentum
            config.weightDecay = weightDecay
            config.milestones = milestones
            config.gamma = gamma
            config.seed = seed
            config.trainLimit = trainLimit

            if !resume && !force && FileManager.default.fileExists(atPath: folder + "/checkpoint.safetensors") {
                throw ValidationError("\(folder) already holds a run: --resume to continue it, --force to start over, or choose another -o")
            }
            var checkpoint: Checkpoint?
            if resume {
                guard FileManager.default.fileExists(atPath: checkpointPath) else {
                    throw TrainingError.checkpointUnreadable(path: checkpointPath, reason: "no checkpoint to resume from")
                }
                let saved = try Checkpoint.read(path: checkpointPath)
                var comparable = saved.config
                comparable.epochs = config.epochs
                guard comparable == config else {
                    throw TrainingError.checkpointMismatch(reason: "it was made with other settings; resume with the same options (only --epochs may grow)")
                }
                checkpoint = saved
            }
            let d = try DatasetCatalog(dataRoot: data).load(name)
            let net = try ModelZoo.make(model, classes: d.train.classCount, seed: seed)
            let trainer = try Trainer(model: net, config: config, train: d.train, test: d.test, pipeline: .standard(for: name))
            if let checkpoint {
                try trainer.resume(from: checkpoint)
                printError("resuming \(model) on \(name.rawValue) after epoch \(trainer.completedEpochs)")
            } else {
                try? FileManager.default.removeItem(atPath: logPath)
            }
            if logFormat == "csv", !FileManager.default.fileExists(atPath: logPath) {
                try Self.append("epoch,learning_rate,train_loss,train_accuracy,test_loss,test_accuracy,seconds,images_per_second\n", to: logPath)
            }
            while trainer.completedEpochs < epochs {
                let images = trainer.train.set.count
                let bar = ProgressBar("epoch \(trainer.completedEpochs + 1)/\(epochs)", total: images, unit: "images")
                let record = trainer.runEpoch { done, _, loss, accuracy in
                    bar.info = String(format: "loss %.4f acc %.2f%%", loss, 100 * accuracy)
                    bar.advance(by: min(done * trainer.train.batchSize, images) - bar.done)
                }
                bar.finish()
                printError(String(format: "epoch %d: train loss %.4f, train accuracy %.2f%%, test loss %.4f, test accuracy %.2f%%, %.1f s, %.0f images/s",
                                  record.epoch, record.trainLoss, 100 * record.trainAccuracy, record.testLoss,
                                  100 * record.testAccuracy, record.seconds, record.imagesPerSecond))
                try trainer.checkpoint().write(to: checkpointPath)
                try Self.append(Self.logLine(record, format: logFormat), to: logPath)
            }
            let history = trainer.history
            let result = Result(model: model, dataset: name.rawValue, epochs: epochs,
                                testAccuracy: history.last?.testAccuracy ?? 0,
                                bestTestAccuracy: history.map(\.testAccuracy).max() ?? 0,
                                secondsPerEpoch: history.map(\.seconds).reduce(0, +) / Double(max(history.count, 1)),
                                checkpoint: checkpointPath, history: history)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: folder + "/result.json"), options: .atomic)
            return result
        }
        if json { return try printJSON(result) }
        print(String(format: "%@ on %@: test accuracy %.2f%% after %d epochs (best %.2f%%), %.1f s per epoch; checkpoint %@",
                     result.model, result.dataset, 100 * result.testAccuracy, result.epochs, 100 * result.bestTestAccuracy,
                     result.secondsPerEpoch, result.checkpoint))
    }

    static func logLine(_ r: EpochRecord, format: String) throws -> String {
        if format == "csv" {
            return "\(r.epoch),\(r.learningRate),\(r.trainLoss),\(r.trainAccuracy),\(r.testLoss),\(r.testAccuracy),\(r.seconds),\(r.imagesPerSecond)\n"
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(r), as: UTF8.self) + "\n"
    }

    static func append(_ line: String, to path: String) throws {
        if let handle = FileHandle(forWritingAtPath: path) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
        } else {
            try Data(line.utf8).write(to: URL(fileURLWithPath: path))
        }
    }
}
