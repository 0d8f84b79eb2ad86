import Foundation
import ReliefFormat
import ReliefKernels
import Testing

/// `relief-infer` and `relief-bench model` end to end, on a small model written here: a linear
/// 784 → 10 layer with a ReLU in front and seeded weights, whose predictions are computed by hand.
@Suite struct InferCommandTests {
    let folder: URL
    let modelPath: String
    let weights: [Float]
    let bias: [Float]

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("relief-infer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var state: UInt64 = 12345
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
        // 90% of the weights zero, so the file holds a sparse tensor.
        weights = (0..<(10 * 784)).map { i in i % 10 == 0 ? next() : 0 }
        bias = (0..<10).map { _ in next() }
        let layers = [
            RLFMetadata.Layer(name: "flatten", op: .flatten, inputs: ["input"], outputShape: [784]),
            RLFMetadata.Layer(name: "fc", op: .linear, inputs: ["flatten"], outputShape: [10], weight: "fc.weight", bias: "fc.bias"),
        ]
        let metadata = RLFMetadata(architecture: .init(name: "tiny", input: .init(shape: [1, 28, 28], normalization: .init(scale: 1.0 / 255, mean: [0.5], std: [0.25])),
                                                       layers: layers, output: "fc", classNames: (0..<10).map { "class\($0)" }),
                                   provenance: .init(method: "test", toolVersion: "tests"))
        modelPath = folder.appendingPathComponent("tiny.rlf").path
        try RLFWriter().write(RLFModel(metadata: metadata, tensors: [
            RLFTensor(name: "fc.weight", shape: [10, 784], values: weights),
            RLFTensor(name: "fc.bias", shape: [10], values: bias),
        ]), to: modelPath)
    }

    /// The class the model predicts for raw bytes, computed here.
    func expected(_ image: [UInt8]) -> Int {
        let x = image.map { (Float($0) / 255 - 0.5) / 0.25 }
        let y = (0..<10).map { o in bias[o] + (0..<784).reduce(Float(0)) { $0 + weights[o * 784 + $1] * x[$1] } }
        return y.indices.max { y[$0] < y[$1] }!
    }

    func images(_ count: Int, seed: UInt8) -> [[UInt8]] {
        (0..<count).map { k in (0..<784).map { i in UInt8(truncatingIfNeeded: (i &* 37 &+ k &* 101 &+ Int(seed) &* 7) % 256) } }
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func idx(_ images: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 8, 3]
        for d in [images.count, 28, 28] { out += [UInt8(d >> 24), UInt8((d >> 16) & 255), UInt8((d >> 8) & 255), UInt8(d & 255)] }
        return out + images.flatMap { $0 }
    }

    @Test func rawIDXAndPGMInputsGiveTheExpectedClasses() throws {
        let batch = images(5, seed: 1)
        let raw = try write(batch.flatMap { $0 }, "five.bin")
        let logitsPath = folder.appendingPathComponent("logits.f32").path
        let r = try CommandLineTests.run("relief-infer", [modelPath, raw, "--json", "--no-cache", "--outputs", logitsPath])
        let logits = try [UInt8](Data(contentsOf: URL(fileURLWithPath: logitsPath)))
        #expect(logits.count == 5 * 10 * 4)
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let predictions = object?["predictions"] as? [[String: Any]] ?? []
        #expect(predictions.count == 5)
        for (k, p) in predictions.enumerated() {
            #expect(p["predicted"] as? Int == expected(batch[k]), "example \(k)")
            #expect(p["label"] as? String == "class\(expected(batch[k]))")
            let top = p["top"] as? [[String: Any]] ?? []
            #expect(top.count == 3)
        }
        // The same images as an IDX file, with labels that make 3 of 5 right.
        let idxPath = try write(idx(batch), "five.idx")
        var labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 5]
        labels += batch.enumerated().map { k, image in UInt8(k < 3 ? expected(image) : (expected(image) + 1) % 10) }
        let labelPath = try write(labels, "labels.idx")
        let text = try CommandLineTests.run("relief-infer", [modelPath, idxPath, "--labels", labelPath, "--kernel", "csr"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("accuracy 60.00% (3 of 5)"))
        // One image as PGM, with a comment in its header.
        let pgm = try write(Array("P5\n# a comment\n28 28\n255\n".utf8) + batch[2], "one.pgm")
        let one = try CommandLineTests.run("relief-infer", [modelPath, pgm, "--top-k", "1", "--kernel", "bitmask"])
        #expect(one.status == 0 && one.stdout.hasPrefix("0: class\(expected(batch[2]))"), "\(one.stdout) \(one.stderr)")
        // float32 inputs already scaled: the same predictions.
        let floats = batch[0].flatMap { withUnsafeBytes(of: (Float($0) / 255).bitPattern.littleEndian, Array.init) }
        let f32 = try write(floats, "one.f32")
        let viaFloat = try CommandLineTests.run("relief-infer", [modelPath, f32, "--dtype", "f32", "--top-k", "1"])
        #expect(viaFloat.status == 0 && viaFloat.stdout.hasPrefix("0: class\(expected(batch[0]))"), "\(viaFloat.stdout) \(viaFloat.stderr)")
    }

    @Test func kernelChoicesAreCachedBesideTheModel() throws {
        let raw = try write(images(1, seed: 3).flatMap { $0 }, "one.bin")
        let cache = modelPath + ".kernels.json"
        try? FileManager.default.removeItem(atPath: cache)
        let first = try CommandLineTests.run("relief-infer", [modelPath, raw])
        #expect(first.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cache))) as? [String: Any]
        let choices = (object?["choices"] as? [String: [String: String]])?["1"]
        #expect(choices?["fc"] != nil)
        let second = try CommandLineTests.run("relief-infer", [modelPath, raw])
        #expect(second.stdout == first.stdout)
    }

    /// A batch of 6 runs in the chunk measured fastest (6, 4 or 1 examples per pass), cached with the
    /// kernels chosen for that chunk and read back; --chunk sets it; the predictions never change.
    @Test func chunksAreMeasuredCachedAndCanBeSet() throws {
        let raw = try write(images(6, seed: 9).flatMap { $0 }, "six.bin")
        let cache = modelPath + ".kernels.json"
        try? FileManager.default.removeItem(atPath: cache)
        func predictions(_ extra: [String]) throws -> (chunk: Int, predicted: [Int]) {
            let r = try CommandLineTests.run("relief-infer", [modelPath, raw, "--json", "--batch-size", "6"] + extra)
            #expect(r.status == 0, "\(extra): \(r.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let predicted = (object?["predictions"] as? [[String: Any]])?.compactMap { $0["predicted"] as? Int } ?? []
            return (object?["chunk"] as? Int ?? -1, predicted)
        }
        let measured = try predictions([])
        #expect([6, 4, 1].contains(measured.chunk) && measured.predicted.count == 6, "\(measured)")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cache))) as? [String: Any]
        #expect((object?["chunks"] as? [String: Int])?["6"] == measured.chunk)
        #expect((object?["choices"] as? [String: [String: String]])?[String(measured.chunk)]?["fc"] != nil)
        #expect(try predictions([]) == measured)
        for chunk in ["1", "4", "6"] {
            let set = try predictions(["--chunk", chunk])
            #expect(set.chunk == Int(chunk) && set.predicted == measured.predicted, "--chunk \(chunk): \(set)")
        }
        let zero = try CommandLineTests.run("relief-infer", [modelPath, raw, "--chunk", "0"])
        #expect(zero.status == 64 && zero.stderr.contains("--chunk must be at least 1"), "\(zero.stderr)")
    }

    @Test func badModelsAndInputsAreClearErrors() throws {
        let good = try write(images(1, seed: 4).flatMap { $0 }, "good.bin")
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: modelPath)))
        let truncated = try write(Array(bytes.prefix(bytes.count - 7)), "truncated.rlf")
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        let corrupt = try write(flipped, "corrupt.rlf")
        let cases: [([String], String)] = [
            ([truncated, good], "truncated"),
            ([corrupt, good], "corrupt"),
            ([modelPath, try write([1, 2, 3], "short.bin")], "multiple of 784 bytes"),
            ([modelPath, try write([], "empty.bin")], "holds no input"),
            ([modelPath, try write(Array(repeating: 0, count: 784), "zeros.f32"), "--dtype", "f32"], "multiple of 3136 bytes"),
            ([modelPath, try write(Array("P5 27 28 255\n".utf8) + Array(repeating: 0, count: 27 * 28), "wrong.pgm")], "28x28"),
            ([modelPath, try write(Array("P5 28 28 255\n".utf8) + Array(repeating: 0, count: 100), "short.pgm")], "784 pixel bytes"),
            ([modelPath, try write([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 27, 0, 0, 0, 28] + Array(repeating: 0, count: 27 * 28), "wrong.idx")], "IDX images of 28x28"),
            ([modelPath, good, "--kernel", "fastest"], "unknown kernel fastest"),
            ([modelPath, folder.appendingPathComponent("missing.bin").path], "no such file"),
            ([folder.appendingPathComponent("missing.rlf").path, good], "No such file"),
        ]
        for (arguments, message) in cases {
            let r = try CommandLineTests.run("relief-infer", arguments)
            #expect(r.reason == .exit && r.status == 2, "\(arguments): status \(r.status), \(r.stderr)")
            #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(message), "\(arguments): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        let usage = try CommandLineTests.run("relief-infer", [modelPath])
        #expect(usage.status == 64)
    }

    @Test func reportAndModelBenchmark() throws {
        let r = try CommandLineTests.run("relief-infer", [modelPath, "--report", "--report-seconds", "0.01", "--json"],
                                         environment: ["OPENBLAS_CORETYPE": nil])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let runs = object?["runs"] as? [[String: Any]] ?? []
        #expect(Set(runs.compactMap { $0["plan"] as? String }) == ["sparse", "dense"])
        #expect(Set(runs.compactMap { $0["batch"] as? Int }) == [1, 64])
        let all = (object?["layers"] as? [String: [[String: Any]]])?["64"] ?? []
        // flatten and fc: every node is timed; fc carries the weights.
        #expect(all.map { $0["name"] as? String } == ["flatten", "fc"])
        let layers = all.filter { ($0["weightShape"] as? [Int])?.isEmpty == false }
        #expect(layers.count == 1 && layers[0]["nonzeros"] as? Int == weights.filter { $0 != 0 }.count)
        #expect(layers[0]["denseFLOPs"] as? Int == 2 * 7840 * 64)
        // The dense plan's OpenBLAS kernels are this CPU's vector ones: the command switches OpenBLAS
        // to them where it took the CPU for an older one (`DenseBLAS.useFasterCore`).
        let core = (object?["denseKernels"] as? String)?.replacingOccurrences(of: "OpenBLAS ", with: "")
        #expect(core != nil && DenseBLAS.fasterCoreType(core: core!, environment: [:]) == nil, "dense kernels: \(core ?? "none")")
        // The same where the switch in place is unavailable (the command restarts itself instead).
        let restarted = try CommandLineTests.run("relief-infer", [modelPath, "--report", "--report-seconds", "0.01", "--json"],
                                                 environment: ["OPENBLAS_CORETYPE": nil, "RELIEF_BLAS_SWITCH": "restart"])
        let restartedObject = try JSONSerialization.jsonObject(with: Data(restarted.stdout.utf8)) as? [String: Any]
        let restartedCore = (restartedObject?["denseKernels"] as? String)?.replacingOccurrences(of: "OpenBLAS ", with: "")
        #expect(restarted.status == 0 && restartedCore == core, "restarted: \(restartedCore ?? "none"), \(restarted.stderr)")
        let bench = try CommandLineTests.run("relief-bench", ["model", modelPath, "--seconds", "0.01", "--batches", "1", "8"])
        #expect(bench.status == 0 && bench.stdout.contains("| sparse | 8 |") && bench.stdout.contains("Per layer, batch 8"), "\(bench.stderr)")
    }

    /// `relief-bench kernels --json` without dense OpenBLAS among the kernels: the rows carry no
    /// speed-up over dense (JSON has no NaN; this run used to fail with an encoding error).
    @Test func kernelBenchmarkWithoutDenseLeavesTheSpeedupOut() throws {
        let r = try CommandLineTests.run("relief-bench", ["kernels", "--json", "--shapes", "fc2", "--densities", "5", "--batches", "1",
                                                          "--threads", "1", "--seconds", "0.001", "--kernels", "csr", "cxsparse"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let rows = object?["kernels"] as? [[String: Any]] ?? []
        #expect(rows.map { $0["kernel"] as? String } == ["csr", "cxsparse"])
        for row in rows {
            #expect(row["speedupOverDense"] == nil)
            #expect((row["microseconds"] as? Double ?? 0) > 0)
        }
        let table = try CommandLineTests.run("relief-bench", ["kernels", "--shapes", "conv", "--densities", "5", "--batches", "1",
                                                              "--threads", "1", "--seconds", "0.001", "--kernels", "csr"])
        #expect(table.status == 0 && table.stdout.contains("| — |"), "\(table.stderr)")
    }

    /// `relief-bench kernels --json`: per cell, the fastest kernel other than dense and the
    /// SuiteSparse backends, and each backend's time over its, taken from the same run's rows.
    @Test func kernelBenchmarkComparesTheFastestKernelWithSuiteSparse() throws {
        let r = try CommandLineTests.run("relief-bench", ["kernels", "--json", "--shapes", "fc2", "--densities", "5", "100", "--batches", "1",
                                                          "--threads", "1", "--seconds", "0.001", "--kernels", "dense", "csr", "sell8", "cxsparse", "cholmod"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let rows = object?["kernels"] as? [[String: Any]] ?? []
        let cells = object?["againstSuiteSparse"] as? [[String: Any]] ?? []
        #expect(rows.count == 2 * 5 && cells.count == 2)
        for cell in cells {
            let density = cell["density"] as? Double
            let times = Dictionary(uniqueKeysWithValues: rows.filter { $0["density"] as? Double == density }.map { ($0["kernel"] as! String, $0["microseconds"] as! Double) })
            let best = ["csr", "sell8"].min { times[$0]! < times[$1]! }!
            #expect(cell["kernel"] as? String == best)
            let speedup = cell["speedup"] as? [String: Double] ?? [:]
            #expect(Set(speedup.keys) == ["cxsparse", "cholmod"])
            for (backend, ratio) in speedup { #expect(abs(ratio - times[backend]! / times[best]!) < 1e-9 * ratio) }
        }
    }
}
