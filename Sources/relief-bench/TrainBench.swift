import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefData
import ReliefKernels
import ReliefTraining

/// Seconds per training epoch, Relief against PyTorch measured in the same run, plus where Relief's time goes.
struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Seconds per MNIST training epoch of Relief and of PyTorch, side by side, as ratios.",
        discussion: """
        Both train the same models with Adam (lr 1e-3, weight decay 5e-4), batch --batch-size, on --threads \
        threads, for --epochs epochs each, and report the fastest epoch. PyTorch runs bench/pytorch_epoch.py \
        (needs torch: pip install torch==2.13.0+cpu). --no-pytorch measures Relief alone. A table of \
        Relief's time per layer (forward and backward) follows.
        """)

    @Option(parsing: .upToNextOption, help: "Models.") var models = ["lenet-300-100", "lenet-5"]
    @Option(help: "Epochs per model (the fastest counts).") var epochs = 1
    @Option(name: .customLong("batch-size")) var batchSize = 120
    @Option(help: "Threads for both.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Data folder.") var data: String?
    @Option(help: "Python interpreter for the PyTorch side.") var python = "python3"
    @Flag(name: .customLong("no-pytorch"), help: "Skip PyTorch.") var noPyTorch = false
    @Flag(help: "Print JSON.") var json = false

    struct Row: Codable {
        var model: String
        var reliefSeconds: Double
        var pytorchSeconds: Double?
        var ratio: Double?
        var layers: [LayerTime]
    }
    struct LayerTime: Codable {
        var layer: String
        var forwardMilliseconds: Double
        var backwardMilliseconds: Double
    }

    func run() throws {
        let rows = try reportingErrors { () throws -> [Row] in
            Parallel.setThreads(threads)
            let d = try DatasetCatalog(dataRoot: data).load(.mnist)
            var pytorch: [String: Double] = [:]
            if !noPyTorch {
                pytorch = try Self.pytorch(python: python, models: models, epochs: epochs, batchSize: batchSize, threads: threads,
                                           data: data ?? ProcessInfo.processInfo.environment["RELIEF_DATA"] ?? "data")
            }
            return try models.map { name in
                var config = TrainingConfig(model: name, dataset: "mnist", epochs: epochs)
                config.batchSize = batchSize
                let model = try ModelZoo.make(name, seed: 1)
                let trainer = try Trainer(model: model, config: config, train: d.train, test: d.test, pipeline: .standard(for: .mnist))
                var best = Double.infinity
                for e in 0..<epochs {
                    let bar = ProgressBar("\(name) epoch \(e + 1)/\(epochs)", total: trainer.train.batchCount, unit: "batches")
                    best = min(best, trainer.runEpoch { _, _, _, _ in bar.advance() }.seconds)
                    bar.finish()
                }
                let layers = Self.layerTimes(model, trainer: trainer, batches: 50)
                let torch = pytorch[name]
                return Row(model: name, reliefSeconds: best, pytorchSeconds: torch, ratio: torch.map { best / $0 }, layers: layers)
            }
        }
        if json { return try printJSON(rows) }
        print("Seconds per MNIST training epoch (batch \(batchSize), \(threads) threads, Adam), fastest of \(epochs)")
        print("| model | Relief s | PyTorch s | Relief/PyTorch |")
        print("|---|---:|---:|---:|")
        for r in rows {
            print("| \(r.model) | \(String(format: "%.2f", r.reliefSeconds)) | \(r.pytorchSeconds.map { String(format: "%.2f", $0) } ?? "-") | \(r.ratio.map { String(format: "%.2f", $0) } ?? "-") |")
        }
        for r in rows {
            print("\nRelief, \(r.model), milliseconds per batch of \(batchSize) (median of 50 batches):")
            print("| layer | forward | backward |")
            print("|---|---:|---:|")
            for l in r.layers {
                print("| \(l.layer) | \(String(format: "%.3f", l.forwardMilliseconds)) | \(String(format: "%.3f", l.backwardMilliseconds)) |")
            }
        }
    }

    /// Median forward and backward time of each layer over `batches` training batches.
    static func layerTimes(_ model: Sequential, trainer: Trainer, batches: Int) -> [LayerTime] {
        var forward = [[Double]](repeating: [], count: model.layers.count)
        var backward = forward
        let order = trainer.train.order(epoch: 99)
        for b in 0..<min(batches, trainer.train.batchCount) {
            var (h, labels) = trainer.train.batch(b, order: order, epoch: 99, training: true)
            for (i, layer) in model.layers.enumerated() {
                let t = DispatchTime.now().uptimeNanoseconds
                h = layer.forward(h, training: true)
                forward[i].append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            }
            var g = SoftmaxCrossEntropy.lossAndGradient(logits: h, labels: labels).gradient
            for (i, layer) in model.layers.enumerated().reversed() {
                let t = DispatchTime.now().uptimeNanoseconds
                g = layer.backward(g)
                backward[i].append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6)
            }
        }
        func median(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.sorted()[xs.count / 2] }
        return model.layers.enumerated().map { i, l in LayerTime(layer: l.name, forwardMilliseconds: median(forward[i]), backwardMilliseconds: median(backward[i])) }
    }

    static func pytorch(python: String, models: [String], epochs: Int, batchSize: Int, threads: Int, data: String) throws -> [String: Double] {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bench/pytorch_epoch.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script, "--data", data, "--threads", "\(threads)", "--epochs", "\(epochs)", "--batch-size", "\(batchSize)", "--models"] + models
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ValidationError("bench/pytorch_epoch.py failed (is torch installed? pip install torch==2.13.0+cpu); use --no-pytorch to skip it")
        }
        var result: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            if let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let m = obj["model"] as? String, let s = obj["secondsPerEpoch"] as? Double { result[m] = s }
        }
        return result
    }
}
