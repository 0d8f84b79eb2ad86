import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefFormat
import ReliefKernels
import ReliefKernelsCHOLMOD
import ReliefRuntime

/// `relief-bench model MODEL.rlf`: the runtime's report, sparse plan against the same model run dense.
struct ModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Latency, throughput and memory of an .rlf model: sparse plan against dense, per layer and whole.",
        discussion: """
        For each batch size, the sparse plan (the fastest kernel per layer, timed at load, then convolutions on im2col tried direct on the whole network) and the same model run \
        with dense OpenBLAS kernels are each run for --seconds, each in the chunk of examples per pass through the network (the whole batch, 16, 4 or 1) \
        that measured fastest for it; the report gives per layer shape, nonzeros, density, \
        kernel, dense and executed FLOPs, time, GFLOP/s and weight bytes, and for the whole model median and 99th \
        percentile latency, throughput, file size, resident weight bytes and the peak resident memory of the process while the chosen plans ran \
        (the choosing, which holds every candidate at once, left out).
        """)

    @Argument(help: "The .rlf model.") var model: String
    @Option(parsing: .upToNextOption, help: "Batch sizes.") var batches: [Int] = [1, 64]
    @Option(parsing: .upToNextOption, help: "Thread counts.") var threads: [Int] = [1]
    @Option(help: "Seconds of measurement per plan, batch size and thread count.") var seconds = 1.0
    @Option(help: "A kernel for every layer of the sparse plan instead of the fastest.") var kernel: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard !batches.isEmpty, batches.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--batches must be at least 1") }
        guard !threads.isEmpty, threads.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--threads must be at least 1") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let file = try RLFReader.read(path: model)
            let size = (try FileManager.default.attributesOfItem(atPath: model)[.size] as? Int) ?? 0
            var reports: [InferenceReport] = []
            for t in threads {
                let policy: ((Int) -> InferenceModel.KernelPolicy)? = kernel.map { k in { _ in .forced(k) } }
                reports.append(try InferenceReport.measure(file.model, fileBytes: size, batches: batches, threads: t, seconds: seconds,
                                                           table: KernelTable.builtIn + [CHOLMODKernel.entry], sparsePolicy: policy))
            }
            if json { try printJSON(reports) } else { print(reports.map(\.markdown).joined(separator: "\n")) }
        }
    }
}
