import Foundation
import ReliefFormat
import Testing

/// End-to-end tests of the built command-line tools, run as separate processes.
@Suite struct CommandLineTests {
    /// The folder of the running test binary, where SwiftPM puts the package's executables too.
    static let binaries: URL = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent()
    }()
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Run {
        var status: Int32
        var reason: Process.TerminationReason
        var stdout: String
        var stderr: String
    }

    /// Runs a built tool; `environment` adds to (or with nil values removes from) this process's.
    static func run(_ tool: String, _ arguments: [String], environment: [String: String?] = [:]) throws -> Run {
        let p = Process()
        p.executableURL = binaries.appendingPathComponent(tool)
        p.arguments = arguments
        if !environment.isEmpty {
            var merged = ProcessInfo.processInfo.environment
            for (name, value) in environment { merged[name] = value }
            p.environment = merged
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, reason: p.terminationReason,
                   stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static let tools = ["relief-train", "relief-prune", "relief-export", "relief-infer", "relief-inspect", "relief-bench", "relief-data", "relief-neurons"]

    @Test(arguments: tools)
    func helpWorks(tool: String) throws {
        let r = try Self.run(tool, ["--help"])
        #expect(r.status == 0, "\(tool) --help: \(r.stderr)")
        #expect(r.stdout.contains("USAGE: \(tool)"))
    }

    @Test func inspectGoodFileAsTextAndJSON() throws {
        let path = Self.root.appendingPathComponent("formats/corpus/good/mlp-mixed.rlf").path
        let text = try Self.run("relief-inspect", [path])
        #expect(text.status == 0)
        #expect(text.stdout.contains("Tensors:") && text.stdout.contains("fc1.weight") && text.stdout.contains("csr"))
        let json = try Self.run("relief-inspect", [path, "--json"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let tensors = object?["tensors"] as? [[String: Any]]
        #expect(tensors?.count == 3)
        #expect(tensors?.first?["encoding"] as? String == "csr")
        #expect((object?["header"] as? [String: Any])?["version"] as? String == "1.0")
    }

    /// Every broken file: a clear one-line error and exit code 2, never a crash.
    @Test func inspectRefusesEveryBrokenFile() throws {
        let dir = Self.root.appendingPathComponent("formats/corpus/bad")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".rlf") }.sorted()
        #expect(files.count > 50)
        for file in files {
            let r = try Self.run("relief-inspect", [dir.appendingPathComponent(file).path])
            #expect(r.reason == .exit && r.status == 2, "\(file): status \(r.status), \(r.stderr)")
            #expect(r.stderr.hasPrefix("error: "), "\(file)")
        }
        let missing = try Self.run("relief-inspect", ["/nonexistent/model.rlf"])
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent/model.rlf"))
    }

    /// A fake MNIST folder: twenty 28x28 images per split, class k a bright band at row 2k.
    func makeToyMNIST() throws -> String {
        let dir = NSTemporaryDirectory() + "relief-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/mnist", withIntermediateDirectories: true)
        for split in ["train", "t10k"] {
            var pixels = [UInt8](repeating: 0, count: 20 * 784)
            var labels: [UInt8] = []
            for i in 0..<20 {
                let k = i % 10
                labels.append(UInt8(k))
                for c in 0..<28 { pixels[i * 784 + 2 * k * 28 + c] = 200 }
            }
            try Data(idx([20, 28, 28], pixels)).write(to: URL(fileURLWithPath: "\(dir)/mnist/\(split)-images-idx3-ubyte"))
            try Data(idx([20], labels)).write(to: URL(fileURLWithPath: "\(dir)/mnist/\(split)-labels-idx1-ubyte"))
        }
        return dir
    }

    @Test func trainResumeAndRefuse() throws {
        let dir = try makeToyMNIST()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/run"
        let common = ["--model", "lenet-300-100", "--dataset", "mnist", "--data", dir, "-o", out, "--batch-size", "5", "--threads", "1"]
        let first = try Self.run("relief-train", common + ["--epochs", "1", "--json"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("epoch 1/1 [") && first.stderr.contains("loss"))
        #expect(FileManager.default.fileExists(atPath: out + "/checkpoint.safetensors"))
        let log = try String(contentsOfFile: out + "/log.jsonl", encoding: .utf8)
        #expect(log.split(separator: "\n").count == 1)

        let again = try Self.run("relief-train", common + ["--epochs", "1"])
        #expect(again.status == 2 && again.stderr.contains("already holds a run"))
        let resumed = try Self.run("relief-train", common + ["--epochs", "2", "--resume", "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming lenet-300-100 on mnist after epoch 1"))
        let result = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any]
        #expect((result?["history"] as? [Any])?.count == 2)
        #expect(try String(contentsOfFile: out + "/log.jsonl", encoding: .utf8).split(separator: "\n").count == 2)

        // Resuming with other settings, from a corrupt checkpoint, or from none, is refused.
        let changed = try Self.run("relief-train", common + ["--epochs", "3", "--resume", "--lr", "0.1"])
        #expect(changed.status == 2 && changed.stderr.contains("other settings"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: out + "/checkpoint.safetensors"))
        let corrupt = try Self.run("relief-train", common + ["--epochs", "3", "--resume"])
        #expect(corrupt.status == 2 && corrupt.stderr.contains("corrupt"))
        let none = try Self.run("relief-train", ["--model", "lenet-5", "--dataset", "mnist", "--data", dir, "-o", dir + "/empty", "--epochs", "1", "--resume"])
        #expect(none.status == 2 && none.stderr.contains("no checkpoint"))

        let model = try Self.run("relief-train", ["--model", "alexnet", "--dataset", "mnist", "--epochs", "1", "-o", dir + "/x"])
        #expect(model.status == 2 && model.stderr.contains("unknown model alexnet") && model.stderr.contains("lenet-5"))
        let data = try Self.run("relief-train", ["--model", "lenet-5", "--dataset", "imagenet", "--epochs", "1", "-o", dir + "/x"])
        #expect(data.status == 2 && data.stderr.contains("unknown data set imagenet"))
        let epochs = try Self.run("relief-train", common + ["--epochs", "0", "--force"])
        #expect(epochs.status == 2 && epochs.stderr.contains("--epochs"))
    }

    @Test func pruneResumeAndExport() throws {
        let dir = try makeToyMNIST()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = try Self.run("relief-train", ["--model", "lenet-300-100", "--dataset", "mnist", "--data", dir, "-o", dir + "/t",
                                                  "--epochs", "3", "--batch-size", "5", "--threads", "1"])
        #expect(train.status == 0, "\(train.stderr)")
        let common = ["--model", "lenet-300-100", "--dataset", "mnist", "--data", dir, "--from", dir + "/t/checkpoint.safetensors",
                      "--retrain-epochs", "1", "--batch-size", "5", "--pruning-set", "20", "-o", dir + "/p", "--threads", "1"]
        let first = try Self.run("relief-prune", common + ["--iterations", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("iteration 1:") && first.stdout.contains("| 1 |"))
        let again = try Self.run("relief-prune", common + ["--iterations", "1"])
        #expect(again.status == 2 && again.stderr.contains("already holds a run"))
        let resumed = try Self.run("relief-prune", common + ["--iterations", "2", "--resume", "--json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming after iteration 1"))
        let result = try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any]
        let history = result?["history"] as? [[String: Any]]
        #expect(history?.count == 3)
        let fractions = history?.compactMap { $0["remainingFraction"] as? Double } ?? []
        #expect(fractions.count == 3 && fractions[2] < fractions[1] && fractions[1] < 1)
        let changed = try Self.run("relief-prune", common + ["--iterations", "3", "--alpha-fc", "0.5", "--resume"])
        #expect(changed.status == 2 && changed.stderr.contains("other settings"))

        let export = try Self.run("relief-export", [dir + "/p/iteration-2.safetensors", "-o", dir + "/m.rlf", "--check", "--data", dir, "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(export.stdout.utf8)) as? [String: Any]
        let check = summary?["check"] as? [String: Any]
        #expect(check?["samePredictions"] as? Int == 20)
        let file = try RLFReader.read(path: dir + "/m.rlf")
        #expect(file.metadata.provenance.method == "relief" && file.metadata.provenance.iterations == 2)
        // The same schedule from a YAML recipe; a misspelt key is refused.
        let yaml = "model: lenet-300-100\ndataset: mnist\niterations: 1\nretrainEpochs: 1\nbatchSize: 5\npruningSetSize: 20\n"
        try yaml.write(toFile: dir + "/r.yaml", atomically: true, encoding: .utf8)
        let fromYAML = try Self.run("relief-prune", ["--recipe", dir + "/r.yaml", "--data", dir, "--from", dir + "/t/checkpoint.safetensors",
                                                     "-o", dir + "/y", "--threads", "1", "--json"])
        #expect(fromYAML.status == 0, "\(fromYAML.stderr)")
        try (yaml + "alpha_fc: 0.9\n").write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
        let badYAML = try Self.run("relief-prune", ["--recipe", dir + "/bad.yaml", "--data", dir, "-o", dir + "/z"])
        #expect(badYAML.status == 2 && badYAML.stderr.contains("unknown key alpha_fc"), "\(badYAML.stderr)")

        // Retraining stopped by the gradient criterion (a huge ε: one epoch of three), resumed from the logged F₀;
        // an unknown criterion is refused.
        let icp = ["--model", "lenet-300-100", "--dataset", "mnist", "--data", dir, "--from", dir + "/t/checkpoint.safetensors",
                   "--retrain-epochs", "3", "--batch-size", "5", "--pruning-set", "20", "-o", dir + "/g", "--threads", "1",
                   "--stop-criterion", "gradient", "--stop-epsilon", "1e9"]
        let stopped = try Self.run("relief-prune", icp + ["--iterations", "1"])
        #expect(stopped.status == 0 && stopped.stderr.contains("1 epochs"), "\(stopped.stderr)")
        let stoppedResumed = try Self.run("relief-prune", icp + ["--iterations", "2", "--resume", "--json"])
        #expect(stoppedResumed.status == 0, "\(stoppedResumed.stderr)")
        let icpHistory = (try JSONSerialization.jsonObject(with: Data(stoppedResumed.stdout.utf8)) as? [String: Any])?["history"] as? [[String: Any]]
        #expect(icpHistory?.compactMap { $0["epochs"] as? Int } == [1, 1])
        #expect((icpHistory?.first?["flow"] as? [Double])?.count == 3)
        let unknown = try Self.run("relief-prune", icp + ["--stop-criterion", "sometimes", "-o", dir + "/u"])
        #expect(unknown.status == 2 && unknown.stderr.contains("information"), "\(unknown.stderr)")

        // ONNX out and back in: the same predictions through relief-infer.
        let onnx = try Self.run("relief-export", [dir + "/m.rlf", "-o", dir + "/m.onnx"])
        #expect(onnx.status == 0, "\(onnx.stderr)")
        let back = try Self.run("relief-export", [dir + "/m.onnx", "-o", dir + "/back.rlf"])
        #expect(back.status == 0, "\(back.stderr)")
        let images = dir + "/mnist/t10k-images-idx3-ubyte"
        let a = try Self.run("relief-infer", [dir + "/m.rlf", images, "--no-cache"])
        let b = try Self.run("relief-infer", [dir + "/back.rlf", images, "--no-cache"])
        #expect(a.status == 0 && !a.stdout.isEmpty && a.stdout == b.stdout, "\(a.stderr) \(b.stderr)")

        // Whole-neuron pruning of the trained network, then export.
        let neurons = try Self.run("relief-neurons", ["--from", dir + "/t/checkpoint.safetensors", "--data", dir, "--count", "10",
                                                      "--ranking-set", "20", "-o", dir + "/n", "--json", "--threads", "1"])
        #expect(neurons.status == 0, "\(neurons.stderr)")
        let neuronResult = try JSONSerialization.jsonObject(with: Data(neurons.stdout.utf8)) as? [String: Any]
        #expect(neuronResult?["removed"] as? Int == 10 && neuronResult?["hiddenNeurons"] as? Int == 400)
        let trimmed = try Self.run("relief-export", [dir + "/n/checkpoint.safetensors", "-o", dir + "/n.rlf", "--check", "--data", dir])
        #expect(trimmed.status == 0, "\(trimmed.stderr)")
        let hidden = try RLFReader.read(path: dir + "/n.rlf").tensors.filter { $0.name.hasSuffix(".bias") }.map(\.count)
        #expect(hidden.dropLast().reduce(0, +) <= 390, "\(hidden)")

        let missing = try Self.run("relief-export", [dir + "/none.safetensors", "-o", dir + "/x.rlf"])
        #expect(missing.status == 2 && missing.stderr.contains("no such file"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.rlf"))
    }

    @Test func centroidRoundTripOnGeneratedData() throws {
        let dir = try makeToyMNIST()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/m.rlf"
        let r = try Self.run("relief-data", ["centroid", "--data", dir, "-o", out, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(result?["identicalWeights"] as? Bool == true)
        #expect(result?["identicalPredictions"] as? Bool == true)
        #expect(result?["testAccuracy"] as? Double == 1.0)
        let file = try RLFReader.read(path: out)
        #expect(file.metadata.provenance.method == "nearest-centroid")
        #expect(try Self.run("relief-inspect", [out]).status == 0)

        let missing = try Self.run("relief-data", ["summary", "--data", dir + "/none", "--dataset", "mnist"])
        #expect(missing.status == 2 && missing.stderr.contains("tools/fetch_mnist.py"))
        let unknown = try Self.run("relief-data", ["summary", "--dataset", "imagenet"])
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown data set imagenet"))
    }

    func idx(_ dims: [Int], _ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { out += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return out + bytes
    }
}
