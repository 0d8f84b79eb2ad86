import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefData
import ReliefFormat
import ReliefKernels
import ReliefRuntime

/// `relief-infer`: runs an .rlf model on inputs from a file with the sparse runtime.
@main
struct ReliefInfer: ParsableCommand {
    /// First, OpenBLAS's vector kernels where it took older ones for this CPU (`DenseBLAS.useFasterCore`).
    static func main() {
        restartWithEnvironment("OPENBLAS_CORETYPE", DenseBLAS.useFasterCore())
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "relief-infer",
        abstract: "Runs an .rlf model on the inputs in a file with the sparse runtime.",
        discussion: """
        INPUTS is raw examples at the model's input shape (uint8 by default, --dtype f32 for little-endian \
        float32 values already multiplied by the model's scale), an IDX image file (plain or gzip'd) or a binary \
        PGM image (P5); see formats/inputs.md. Inputs are normalised with the model's metadata. For each input \
        it prints the predicted class and the top-k probabilities (softmax of the outputs).

        Each layer runs on the fastest kernel for its shape, density and the batch size, timed on this machine \
        when the model is loaded (then each convolution put on im2col is tried direct on the whole network) \
        and cached beside it in MODEL.kernels.json (--no-cache: neither read nor write it); --kernel \
        forces one kernel for every layer. A batch runs through the network in chunks of examples (the whole \
        batch, 16, 4 or 1), the chunk measured fastest and cached likewise unless --chunk sets it \
        (with --kernel: the whole batch). --report measures the model (sparse plan against dense, \
        batch 1 and 64) and prints a per-layer report. --labels takes an IDX label file and prints the accuracy.

        Exit codes: 0 success; 2 a bad, missing or corrupt model or input file; 64 a usage error.
        """)

    @Argument(help: "The .rlf model.") var model: String
    @Argument(help: "The inputs: raw, IDX or PGM.") var inputs: String?
    @Option(help: "Raw inputs: u8 or f32.") var dtype: String = "u8"
    @Option(name: .customLong("top-k"), help: "Probabilities printed per input.") var topK = 3
    @Option(help: "A kernel for every layer (\(KernelTable.builtIn.map(\.name).joined(separator: ", ")); direct or strips: convolutions without im2col, strips on a tap-shifted copy where the stride is 1 and the CPU has AVX-512), or auto.") var kernel = "auto"
    @Option(name: .customLong("batch-size"), help: "Inputs run together.") var batchSize = 64
    @Option(help: "Examples per pass through the network (default: measured; the whole batch with --kernel).") var chunk: Int?
    @Option(help: "Threads per product.") var threads = 1
    @Option(help: "IDX labels of the inputs: print the accuracy.") var labels: String?
    @Option(help: "At most this many inputs (0: all).") var limit = 0
    @Flag(help: "Measure the model and print a per-layer report (Markdown; JSON with --json).") var report = false
    @Option(name: .customLong("report-seconds"), help: "Seconds of measurement per plan and batch size.") var reportSeconds = 0.5
    @Option(name: .customLong("outputs"), help: "Also write every input's raw outputs (logits) to this file: little-endian float32, one row per input.") var outputsPath: String?
    @Flag(name: .customLong("no-cache"), help: "Neither read nor write the kernel-choice cache.") var noCache = false
    @Flag(help: "Print the result as JSON.") var json = false

    struct Prediction: Codable {
        var index: Int
        var predicted: Int
        var label: String?
        var top: [Candidate]
    }

    struct Candidate: Codable {
        var index: Int
        var label: String?
        var probability: Float
    }

    struct Output: Codable {
        var model: String
        var inputs: Int
        var source: String
        var kernels: [String: String]
        /// Examples per pass through the network.
        var chunk: Int
        var predictions: [Prediction]
        var accuracy: Double?
    }

    func validate() throws {
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        if let chunk, chunk < 1 { throw ValidationError("--chunk must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard limit >= 0 else { throw ValidationError("--limit must be 0 or more") }
        guard InferenceInput.RawType(rawValue: dtype) != nil else { throw ValidationError("--dtype must be u8 or f32") }
        guard report || inputs != nil else { throw ValidationError("give INPUTS, or --report") }
    }

    func run() throws {
        try reportingErrors {
            // CHOLMOD (GPL, and a long chain of shared libraries to load) stays out of this command;
            // relief-bench has it.
            let table = KernelTable.builtIn
            let file = try RLFReader.read(path: model)
            if report {
                let size = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
                let policy: ((Int) -> InferenceModel.KernelPolicy)? = kernel == "auto" ? nil : { _ in .forced(kernel) }
                let r = try InferenceReport.measure(file.model, fileBytes: size, threads: threads, seconds: reportSeconds,
                                                    table: table, sparsePolicy: policy)
                if json { try printJSON(r) } else { print(r.markdown) }
                if inputs == nil { return }
            }
            guard let inputs else { return }
            let shape = file.metadata.architecture.input.shape
            let decoded = try InferenceInput.read(path: inputs, shape: shape, normalization: file.metadata.architecture.input.normalization,
                                                  raw: InferenceInput.RawType(rawValue: dtype)!)
            let count = limit > 0 ? min(limit, decoded.count) : decoded.count
            let batch = min(batchSize, count)

            // Kernel choice: forced, cached, or measured now (then cached).
            let cachePath = KernelChoiceCache.path(for: model)
            var cache = KernelChoiceCache(signature: KernelChoiceCache.signature(of: file.model))
            if !noCache { cache = KernelChoiceCache.load(path: cachePath, signature: cache.signature) }
            // Chunk: given, cached, measured now with each candidate's kernels (then cached), or the whole batch.
            func policy(_ c: Int) -> InferenceModel.KernelPolicy {
                kernel == "auto" ? .fastest(batch: c, cached: cache.choices[String(c)] ?? [:]) : .forced(kernel)
            }
            let runtime: InferenceModel, passes: Int
            if let fixed = chunk.map({ min($0, batch) }) ?? (kernel == "auto" ? cache.chunks?[String(batch)] : batch) {
                (runtime, passes) = (try InferenceModel(file.model, policy: policy(fixed), table: table), fixed)
            } else {
                let choice = try InferenceSession.fastestChunk(file.model, batch: batch, threads: threads, table: table, policy: policy)
                (runtime, passes) = (choice.model, choice.chunk)
            }
            if kernel == "auto" && !noCache {
                var updated = cache
                updated.choices[String(passes)] = runtime.kernelChoices
                if chunk == nil { updated.chunks = (updated.chunks ?? [:]).merging([String(batch): passes]) { $1 } }
                if updated != cache {
                    do { try updated.save(path: cachePath) } catch { printError("note: could not cache kernel choices in \(cachePath): \(error)") }
                }
            }

            var truth: [UInt8]? = nil
            if let labels {
                let l = try IDXArray.read(path: labels)
                guard l.dimensions.count == 1, l.dimensions[0] >= count else {
                    throw InferenceError.badInput(labels, expected: "IDX labels for at least \(count) inputs", found: "dimensions \(l.dimensions)")
                }
                truth = l.bytes
            }

            let session = try InferenceSession(model: runtime, maxBatch: batch, threads: threads, chunk: passes)
            let outputs = runtime.outputCount, size = runtime.inputCount
            var logits = [Float](repeating: 0, count: batch * outputs)
            var predictions: [Prediction] = []
            var raw: [Float] = []
            var correct = 0
            var start = 0
            while start < count {
                let b = min(batch, count - start)
                try decoded.values.withUnsafeBufferPointer { (xp) throws(InferenceError) in
                    try logits.withUnsafeMutableBufferPointer { (yp) throws(InferenceError) in
                        try session.run(xp.baseAddress! + start * size, batch: b, into: yp.baseAddress!)
                    }
                }
                if outputsPath != nil { raw += logits[0..<(b * outputs)] }
                for e in 0..<b {
                    let row = Array(logits[(e * outputs)..<((e + 1) * outputs)])
                    let m = row.max() ?? 0
                    let exps = row.map { Foundation.exp($0 - m) }
                    let sum = exps.reduce(0, +)
                    let ranked = exps.indices.sorted { exps[$0] > exps[$1] || (exps[$0] == exps[$1] && $0 < $1) }
                    let names = runtime.classNames
                    func label(_ k: Int) -> String? { names.isEmpty ? nil : names[k] }
                    let top = ranked.prefix(topK).map { Candidate(index: $0, label: label($0), probability: exps[$0] / sum) }
                    predictions.append(Prediction(index: start + e, predicted: ranked[0], label: label(ranked[0]), top: top))
                    if let truth, Int(truth[start + e]) == ranked[0] { correct += 1 }
                }
                start += b
            }
            if let outputsPath {
                var bytes = [UInt8]()
                bytes.reserveCapacity(4 * raw.count)
                for v in raw { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
                try Data(bytes).write(to: URL(fileURLWithPath: outputsPath), options: .atomic)
            }
            let accuracy = truth == nil ? nil : Double(correct) / Double(max(count, 1))
            if json {
                try printJSON(Output(model: runtime.name, inputs: count, source: decoded.source.rawValue, kernels: runtime.kernelChoices, chunk: passes,
                                     predictions: predictions, accuracy: accuracy))
            } else {
                var lines: [String] = []
                for p in predictions {
                    let top = p.top.map { c in "\(c.label ?? String(c.index)) \(String(format: "%.4f", c.probability))" }.joined(separator: ", ")
                    lines.append("\(p.index): \(p.label ?? String(p.predicted))  (\(top))")
                }
                if let accuracy { lines.append(String(format: "accuracy %.2f%% (%d of %d)", 100 * accuracy, correct, count)) }
                print(lines.joined(separator: "\n"))
            }
        }
    }
}
