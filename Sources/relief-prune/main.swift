import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefData
import ReliefKernels
import ReliefPruning
import ReliefTraining

/// `relief-prune`: iterative NNrelief pruning (or a baseline) with retraining, checkpoints and resumption.
@main
struct ReliefPrune: ParsableCommand {
    /// First, OpenBLAS's vector kernels where it took older ones for this CPU (`DenseBLAS.useFasterCore`).
    static func main() {
        restartWithEnvironment("OPENBLAS_CORETYPE", DenseBLAS.useFasterCore())
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "relief-prune",
        abstract: "Prune a model iteratively with NNrelief or a baseline, retraining after each step.",
        discussion: """
        Starts from a trained checkpoint (--from, as written by relief-train) or trains first (--pretrain-epochs). \
        Each iteration prunes, optionally rewinds surviving weights to their initial values, retrains for \
        --retrain-epochs keeping the best epoch, and writes iteration-K.safetensors and a line of log.jsonl \
        (remaining weights per layer and in total, accuracy, seconds) into the output folder. --resume continues \
        a stopped run. --recipe reads every setting from a JSON or YAML (.yaml, .yml) file, keys as in recipe.json, which every run writes; missing keys take their defaults.
        Methods: relief, magnitude (per layer), magnitude-global, random. Residual networks (resnet-*) get the residual rule: per channel, the weaker of a block's branch and shortcut is cut.
        """)

    @Option(help: "Model name.") var model: String?
    @Option(help: "Data set.") var dataset: String?
    @Option(help: "relief, magnitude, magnitude-global or random.") var method: String = "relief"
    @Option(help: "Prune-retrain iterations.") var iterations = 1
    @Option(name: .customLong("retrain-epochs")) var retrainEpochs = 1
    @Option(name: .customLong("alpha-conv"), help: "NNrelief's α for convolutions (default: 0.9 LeNet, 0.95 VGG and ResNet).") var alphaConvolution: Double?
    @Option(name: .customLong("alpha-fc"), help: "NNrelief's α for fully connected layers (default: 0.95 LeNet and VGG, 0.99 ResNet).") var alphaLinear: Double?
    @Option(name: .customLong("conv-rule"), help: "paper, mean-map or mean-map-l1.") var convolutionRule = "paper"
    @Option(name: .customLong("keep-fraction"), help: "Baselines: fraction of remaining weights kept per iteration.") var keepFraction = 0.5
    @Option(help: "Baselines: prune to the remaining weights of each iteration of another run (its folder or log.jsonl), for comparisons at equal remaining weights.") var match: String?
    @Flag(help: "Rewind surviving weights to their initial values before retraining (with magnitude-global: iterative magnitude pruning, the lottery-ticket procedure).") var rewind = false
    @Option(name: .customLong("pruning-set"), help: "Training images in the pruning set.") var pruningSetSize = 1000
    @Option(help: "adam or sgd (default: sgd for ResNets, adam otherwise).") var optimizer: String?
    @Option(name: .customLong("lr"), help: "Learning rate (default: 0.1 for ResNets, 1e-3 otherwise).") var learningRate: Float?
    @Option var momentum: Float = 0.9
    @Option(name: .customLong("weight-decay")) var weightDecay: Float = 5e-4
    @Option(parsing: .upToNextOption) var milestones: [Int] = []
    @Option var gamma: Float = 0.1
    @Option(name: .customLong("batch-size")) var batchSize = 120
    @Option var seed: UInt64 = 1
    @Option(name: .customLong("train-limit")) var trainLimit = 0
    @Option(name: .customLong("stop-criterion"), help: "When retraining stops: fixed (--retrain-epochs), or information / gradient: Information Consistent Pruning, as soon as the network's flow is within --stop-epsilon of the dense network's (at the latest after --retrain-epochs).")
    var stopCriterion = "fixed"
    @Option(name: .customLong("stop-epsilon"), help: "ε of the information / gradient stop criterion: retraining stops once ‖F_t − F_0‖₂ < ε.")
    var stopEpsilon = 1.0
    @Option(help: "A JSON or YAML recipe file; replaces the options above.") var recipe: String?
    @Option(help: "A relief-train checkpoint to start from.") var from: String?
    @Option(name: .customLong("pretrain-epochs"), help: "Without --from: train this long first.") var pretrainEpochs = 0
    @Option(name: [.short, .long], help: "Output folder (default runs/prune-MODEL-DATASET-METHOD).") var output: String?
    @Option(help: "Worker threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Data folder.") var data: String?
    @Flag(help: "Continue a stopped run in the output folder.") var resume = false
    @Flag(help: "Start over even if the output folder holds a run.") var force = false
    @Flag(help: "Print the result as JSON.") var json = false

    func makeRecipe() throws -> PruningRecipe {
        if let path = recipe { return try PruningRecipe.load(path: path) }
        guard let model, let dataset else { throw ValidationError("--model and --dataset are required (or --recipe)") }
        var r = PruningRecipe(model: model, dataset: dataset)
        guard let m = PruningRecipe.Method(rawValue: method) else { throw ValidationError("unknown method \(method); known: relief, magnitude, magnitude-global, random") }
        guard let rule = ReliefScores.ConvolutionRule(rawValue: convolutionRule) else { throw ValidationError("unknown --conv-rule \(convolutionRule)") }
        let opt = try optimizer.map { o in
            guard let k = TrainingConfig.OptimizerKind(rawValue: o) else { throw ValidationError("--optimizer must be adam or sgd") }
            return k
        } ?? r.optimizer
        r.method = m
        r.iterations = iterations
        r.retrainEpochs = retrainEpochs
        r.alphaConvolution = alphaConvolution ?? r.alphaConvolution
        r.alphaLinear = alphaLinear ?? r.alphaLinear
        r.convolutionRule = rule
        r.keepFraction = keepFraction
        if let match {
            let path = match.hasSuffix(".jsonl") ? match : match + "/log.jsonl"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("cannot read \(path) for --match") }
            let records = try text.split(separator: "\n").map { try JSONDecoder().decode(IterationRecord.self, from: Data($0.utf8)) }
            let targets = records.filter { $0.iteration >= 1 }.sorted { $0.iteration < $1.iteration }.map(\.remainingFraction)
            guard !targets.isEmpty else { throw ValidationError("\(path) records no pruning iteration to match") }
            r.targetFractions = targets
        }
        r.rewind = rewind
        r.pruningSetSize = pruningSetSize
        r.optimizer = opt
        r.learningRate = learningRate ?? r.learningRate
        r.momentum = momentum
        r.weightDecay = weightDecay
        r.milestones = milestones
        r.gamma = gamma
        r.batchSize = batchSize
        r.seed = seed
        r.trainLimit = trainLimit
        guard let criterion = StopCriterion(rawValue: stopCriterion) else {
            throw ValidationError("unknown --stop-criterion \(stopCriterion); known: \(StopCriterion.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        r.stopCriterion = criterion
        r.stopEpsilon = stopEpsilon
        return r
    }

    struct Result: Codable {
        var recipe: PruningRecipe
        var history: [IterationRecord]
        var finalCheckpoint: String
    }

    func run() throws {
        let result = try reportingErrors { () throws -> Result in
            Parallel.setThreads(threads)
            let recipe = try makeRecipe()
            try recipe.validate()
            let datasetName = try DatasetCatalog.name(recipe.dataset)
            _ = try ModelZoo.inputShape(of: recipe.model)
            let folder = output ?? "runs/prune-\(recipe.model)-\(datasetName.rawValue)-\(recipe.method.rawValue)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]

            if !resume && !force && FileManager.default.fileExists(atPath: folder + "/recipe.json") {
                throw ValidationError("\(folder) already holds a run: --resume to continue it, --force to start over, or choose another -o")
            }
            var history: [IterationRecord] = []
            if resume {
                guard let saved = FileManager.default.contents(atPath: folder + "/recipe.json"),
                      let savedRecipe = try? JSONDecoder().decode(PruningRecipe.self, from: saved) else {
                    throw PruningError.stateMismatch("\(folder) holds no recipe.json of an earlier run")
                }
                var comparable = savedRecipe
                comparable.iterations = recipe.iterations
                guard comparable == recipe else { throw PruningError.stateMismatch("the run in \(folder) used other settings (only the iteration count may grow)") }
                let log = (try? String(contentsOfFile: folder + "/log.jsonl", encoding: .utf8)) ?? ""
                history = try log.split(separator: "\n").map { try JSONDecoder().decode(IterationRecord.self, from: Data($0.utf8)) }
                guard !history.isEmpty else { throw PruningError.stateMismatch("\(folder)/log.jsonl records no iteration") }
            }
            try encoder.encode(recipe).write(to: URL(fileURLWithPath: folder + "/recipe.json"), options: .atomic)

            let d = try DatasetCatalog(dataRoot: data).load(datasetName)
            let net = try ModelZoo.make(recipe.model, classes: d.train.classCount, seed: recipe.seed)
            let initial = Dictionary(uniqueKeysWithValues: net.parameters.map { ($0.name, $0.value) })
            if let last = history.last {
                try Checkpoint.read(path: folder + "/iteration-\(last.iteration).safetensors").restore(into: net)
                printError("resuming after iteration \(last.iteration): \(String(format: "%.2f%%", 100 * last.remainingFraction)) of weights, accuracy \(String(format: "%.2f%%", 100 * last.accuracy))")
            } else if let from {
                try Checkpoint.read(path: from).restore(into: net)
            } else if pretrainEpochs > 0 {
                var config = recipe.trainingConfig
                config.epochs = pretrainEpochs
                let trainer = try Trainer(model: net, config: config, train: d.train, test: d.test, pipeline: .standard(for: datasetName))
                for e in 0..<pretrainEpochs {
                    let bar = ProgressBar("pretrain \(e + 1)/\(pretrainEpochs)", total: trainer.train.batchCount, unit: "batches")
                    let r = trainer.runEpoch { _, _, _, _ in bar.advance() }
                    bar.finish()
                    printError(String(format: "pretrain epoch %d: test accuracy %.2f%%", r.epoch, 100 * r.testAccuracy))
                }
            } else {
                throw ValidationError("start from a trained model: --from CHECKPOINT, or --pretrain-epochs N")
            }
            let pruning = try IterativePruning(recipe: recipe, model: net, dataset: d, initialValues: initial)
            if recipe.stopCriterion != .fixed, let first = history.first {
                guard let flow = first.flow else { throw PruningError.stateMismatch("\(folder)/log.jsonl holds no dense-network flow for the stop criterion") }
                pruning.referenceFlow = flow
            }
            if history.isEmpty {
                let start = try pruning.currentRecord(iteration: 0)
                history = [start]
                try Self.record(start, pruning: pruning, history: history, folder: folder)
            }
            while history.count <= recipe.iterations {
                let k = history.count
                let bar = ProgressBar("iteration \(k)/\(recipe.iterations)", total: max(recipe.retrainEpochs, 1), unit: "epochs")
                let record = try pruning.runIteration(k) { _, done, count, accuracy in
                    bar.info = String(format: "acc %.2f%%", 100 * accuracy)
                    if done == count { bar.advance() }
                }
                bar.finish()
                history.append(record)
                try Self.record(record, pruning: pruning, history: history, folder: folder)
                printError(String(format: "iteration %d: %.3f%% of weights remain (%d of %d), accuracy %.2f%% after pruning, %.2f%% after retraining, %d epochs, %.1f s",
                                  k, 100 * record.remainingFraction, record.remainingWeights, record.totalWeights,
                                  100 * record.prunedAccuracy, 100 * record.accuracy, record.epochs ?? 0, record.seconds)
                           + (record.flowDistances.map { "; ‖F − F₀‖ per epoch: " + $0.map { String(format: "%.4g", $0) }.joined(separator: ", ") } ?? ""))
            }
            let result = Result(recipe: recipe, history: history, finalCheckpoint: folder + "/iteration-\(history.last!.iteration).safetensors")
            try encoder.encode(result).write(to: URL(fileURLWithPath: folder + "/result.json"), options: .atomic)
            return result
        }
        if json { return try printJSON(result) }
        print("| iteration | remaining weights | accuracy after pruning | accuracy after retraining | epochs | seconds |")
        print("|---:|---:|---:|---:|---:|---:|")
        for r in result.history {
            print(String(format: "| %d | %.3f%% | %.2f%% | %.2f%% | %d | %.1f |", r.iteration, 100 * r.remainingFraction,
                         100 * r.prunedAccuracy, 100 * r.accuracy, r.epochs ?? 0, r.seconds))
        }
        print("final checkpoint: \(result.finalCheckpoint)")
    }

    static func record(_ r: IterationRecord, pruning: IterativePruning, history: [IterationRecord], folder: String) throws {
        try pruning.checkpoint(iteration: r.iteration, history: history).write(to: folder + "/iteration-\(r.iteration).safetensors")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = String(decoding: try encoder.encode(r), as: UTF8.self) + "\n"
        let path = folder + "/log.jsonl"
        if r.iteration == 0 { try? FileManager.default.removeItem(atPath: path) }
        if let h = FileHandle(forWritingAtPath: path) {
            defer { try? h.close() }
            try h.seekToEnd()
            try h.write(contentsOf: Data(line.utf8))
        } else {
            try Data(line.utf8).write(to: URL(fileURLWithPath: path))
        }
    }
}
