import CReliefSIMD
import Foundation
import ReliefFormat
import ReliefKernels

/// What a model costs to run, sparse plan against the same model run dense, per layer and whole.
public struct InferenceReport: Codable, Sendable {
    /// One weighted layer (or any node) at one batch size.
    public struct Layer: Codable, Sendable {
        public var name: String
        public var op: String
        public var weightShape: [Int]
        public var outputShape: [Int]
        public var nonzeros: Int
        public var density: Double
        public var kernel: String
        /// 2 · dense multiply-adds of the layer's product (what a dense kernel executes).
        public var denseFLOPs: Int
        /// 2 · multiply-adds the chosen kernel executes.
        public var executedFLOPs: Int
        /// Median seconds per inference of the batch.
        public var seconds: Double
        /// The same layer run by the dense kernel.
        public var denseSeconds: Double
        public var gflops: Double
        public var denseWeightBytes: Int
        public var residentWeightBytes: Int
    }

    /// One plan at one batch size and thread count.
    public struct Run: Codable, Sendable {
        public var plan: String
        public var batch: Int
        public var threads: Int
        public var medianMilliseconds: Double
        public var p99Milliseconds: Double
        /// Inputs per second at the median latency.
        public var throughput: Double
        public var residentWeightBytes: Int
        /// Examples per pass through the network (`InferenceSession.chunk`); nil in reports from
        /// before batches ran in chunks.
        public var chunk: Int?
        /// Median milliseconds of a whole batch at each chunk `InferenceSession.fastestChunk` tried
        /// (chunk as text); nil where nothing was tried (a batch of one, older reports).
        public var chunkMilliseconds: [String: Double]?
    }

    public var model: String
    public var fileBytes: Int
    public var threads: Int
    /// Per layer, for each batch size measured.
    public var layers: [String: [Layer]]
    public var runs: [Run]
    /// Dense float32 bytes of every weight and bias in the file.
    public var denseWeightBytes: Int
    /// Bytes the sparse plan keeps for weights and biases.
    public var residentWeightBytes: Int
    /// Peak resident memory of this process while the chosen plans ran (VmHWM, reset after the
    /// kernel and chunk choices, see `resetPeakResident`), bytes; 0 where /proc is missing.
    public var peakResidentBytes: Int
    /// The OpenBLAS kernels the dense plan ran on (`DenseBLAS.coreName`); nil in reports from before it was kept.
    public var denseKernels: String?

    /// Measures `model` at each batch size: the sparse plan (fastest kernel per layer) and the dense
    /// plan, each for at least `seconds` (and 20 runs), on `threads` threads. Each plan runs a batch
    /// in the chunk `InferenceSession.fastestChunk` finds fastest for it.
    public static func measure(_ model: RLFModel, fileBytes: Int, batches: [Int] = [1, 64], threads: Int = 1,
                               seconds: Double = 0.5, table: [KernelEntry] = KernelTable.builtIn,
                               sparsePolicy: ((Int) -> InferenceModel.KernelPolicy)? = nil) throws -> InferenceReport {
        var layers: [String: [Layer]] = [:]
        var runs: [Run] = []
        var resident = 0, dense = 0, peak = 0
        for batch in batches {
            let sparseChoice = try InferenceSession.fastestChunk(model, batch: batch, threads: threads, table: table,
                                                                 seconds: min(seconds, 0.5)) { sparsePolicy?($0) ?? .fastest(batch: $0) }
            let denseChoice = try InferenceSession.fastestChunk(model, batch: batch, threads: threads, table: table,
                                                                seconds: min(seconds, 0.5)) { _ in .forced("dense") }
            let sparse = sparseChoice.model
            // The choosers held every candidate plan at once; what running the chosen ones needs is the figure.
            resetPeakResident()
            var (sparseRun, sparseNodes) = try time(sparse, plan: "sparse", batch: batch, threads: threads, seconds: seconds, chunk: sparseChoice.chunk)
            var (denseRun, denseNodes) = try time(denseChoice.model, plan: "dense", batch: batch, threads: threads, seconds: seconds,
                                                  chunk: denseChoice.chunk)
            func tried(_ c: InferenceSession.ChunkChoice) -> [String: Double]? {
                c.medians.isEmpty ? nil : Dictionary(uniqueKeysWithValues: c.medians.map { (String($0.key), 1000 * $0.value) })
            }
            sparseRun.chunkMilliseconds = tried(sparseChoice)
            denseRun.chunkMilliseconds = tried(denseChoice)
            runs += [sparseRun, denseRun]
            peak = max(peak, peakResidentBytes())
            resident = sparseRun.residentWeightBytes
            dense = denseRun.residentWeightBytes
            var rows: [Layer] = []
            for (k, node) in sparse.nodes.enumerated() {
                switch node.operation {
                case let .linear(w), let .convolution(w, _):
                    let n = batch * node.pixels
                    // Against the file's whole matrix, whatever columns the kernel left out.
                    let denseMACs = w.kernel.rows * w.fileColumns * n
                    let executed = w.direct.map { _ in w.nonzeros * n } ?? w.kernel.multiplyAdds(n: n)
                    let biasBytes = 4 * (w.bias?.count ?? 0)
                    rows.append(Layer(name: node.name, op: node.op, weightShape: w.weightShape, outputShape: node.outputShape,
                                      nonzeros: w.nonzeros, density: Double(w.nonzeros) / Double(max(1, w.kernel.rows * w.fileColumns)),
                                      kernel: w.kernelName, denseFLOPs: 2 * denseMACs, executedFLOPs: 2 * executed,
                                      seconds: sparseNodes[k], denseSeconds: denseNodes[k],
                                      gflops: sparseNodes[k] > 0 ? 2 * Double(executed) / sparseNodes[k] / 1e9 : 0,
                                      denseWeightBytes: 4 * w.kernel.rows * w.fileColumns + biasBytes,
                                      residentWeightBytes: w.residentBytes + biasBytes))
                default:
                    // Operators without weights: their time, so the whole latency is accounted for.
                    rows.append(Layer(name: node.name, op: node.op, weightShape: [], outputShape: node.outputShape, nonzeros: 0, density: 0,
                                      kernel: (sparse.reluFusedInto[k] ?? sparse.additionFusedInto[k]
                                               ?? (sparse.fusesPool(k, batch: batch) ? sparse.poolFusedInto[k] : nil))
                                          .map { "fused into \(sparse.nodes[$0].name)" } ?? "-",
                                      denseFLOPs: 0, executedFLOPs: 0, seconds: sparseNodes[k], denseSeconds: denseNodes[k],
                                      gflops: 0, denseWeightBytes: 0, residentWeightBytes: 0))
                }
            }
            layers[String(batch)] = rows
        }
        return InferenceReport(model: model.metadata.architecture.name, fileBytes: fileBytes, threads: threads, layers: layers,
                               runs: runs, denseWeightBytes: dense, residentWeightBytes: resident, peakResidentBytes: peak,
                               denseKernels: "OpenBLAS " + DenseBLAS.coreName)
    }

    /// Latency of whole inferences and the median time of each node.
    static func time(_ model: InferenceModel, plan: String, batch: Int, threads: Int, seconds: Double, chunk: Int) throws -> (Run, [Double]) {
        let session = try InferenceSession(model: model, maxBatch: batch, threads: threads, chunk: chunk)
        let x = model.timingInputs(batch: batch)
        var y = [Float](repeating: 0, count: batch * model.outputCount)
        var latencies: [Double] = []
        var perNode: [[Double]] = Array(repeating: [], count: model.nodes.count)
        var total = 0.0, warm = 0
        while warm < 3 || latencies.count < 20 || total < seconds {
            let start = DispatchTime.now().uptimeNanoseconds
            try x.withUnsafeBufferPointer { (xp) throws(InferenceError) in
                try y.withUnsafeMutableBufferPointer { (yp) throws(InferenceError) in
                    try session.run(xp.baseAddress!, batch: batch, into: yp.baseAddress!, profile: warm >= 3)
                }
            }
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if warm < 3 { warm += 1; continue }
            latencies.append(t)
            total += t
            for k in perNode.indices { perNode[k].append(session.nodeSeconds[k]) }
            if latencies.count >= 100_000 { break }
        }
        // The timed runs above include the per-node clock reads; whole-model latency is measured
        // again without them.
        var plain: [Double] = []
        for _ in 0..<latencies.count {
            let start = DispatchTime.now().uptimeNanoseconds
            try x.withUnsafeBufferPointer { (xp) throws(InferenceError) in
                try y.withUnsafeMutableBufferPointer { (yp) throws(InferenceError) in
                    try session.run(xp.baseAddress!, batch: batch, into: yp.baseAddress!)
                }
            }
            plain.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let median = percentile(plain, 0.5)
        let resident = model.weightedLayers.reduce(0) { $0 + $1.layer.residentBytes + 4 * ($1.layer.bias?.count ?? 0) }
        let run = Run(plan: plan, batch: batch, threads: threads, medianMilliseconds: 1000 * median,
                      p99Milliseconds: 1000 * percentile(plain, 0.99), throughput: Double(batch) / median, residentWeightBytes: resident,
                      chunk: session.chunk)
        return (run, perNode.map { percentile($0, 0.5) })
    }

    static func percentile(_ v: [Double], _ q: Double) -> Double {
        guard !v.isEmpty else { return 0 }
        let s = v.sorted()
        return s[min(s.count - 1, Int((Double(s.count - 1) * q).rounded()))]
    }

    /// Returns freed heap memory to the system and restarts the peak resident set size from the
    /// current one (Linux: writing 5 to /proc/self/clear_refs); where that fails, the peak keeps
    /// counting from the process's start.
    public static func resetPeakResident() {
        relief_trim_heap()
        guard let f = fopen("/proc/self/clear_refs", "w") else { return }
        fputs("5", f)
        fclose(f)
    }

    /// Peak resident set size of this process (Linux `VmHWM`), in bytes.
    public static func peakResidentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }

    /// The report as Markdown tables.
    public var markdown: String {
        func bytes(_ b: Int) -> String { b >= 1 << 20 ? String(format: "%.2f MiB", Double(b) / 1048576) : String(format: "%.1f KiB", Double(b) / 1024) }
        var out = "# \(model): sparse plan against dense, \(threads) thread\(threads == 1 ? "" : "s")\n\n"
        out += "File \(bytes(fileBytes)); weights resident \(bytes(residentWeightBytes)) sparse vs \(bytes(denseWeightBytes)) dense "
        out += String(format: "(%.1fx smaller); peak resident memory of the process while the chosen plans ran %@.\n\n", Double(denseWeightBytes) / Double(max(1, residentWeightBytes)), bytes(peakResidentBytes))
        if let denseKernels { out += "The dense plan runs on \(denseKernels) kernels.\n\n" }
        out += "| plan | batch | examples per pass | median ms | p99 ms | inputs/s | speed-up vs dense |\n|---|---:|---:|---:|---:|---:|---:|\n"
        for r in runs {
            let dense = runs.first { $0.plan == "dense" && $0.batch == r.batch }
            out += String(format: "| %@ | %d | %@ | %.4f | %.4f | %.0f | %.2fx |\n", r.plan, r.batch, r.chunk.map(String.init) ?? "-",
                          r.medianMilliseconds, r.p99Milliseconds, r.throughput,
                          (dense?.medianMilliseconds ?? r.medianMilliseconds) / r.medianMilliseconds)
        }
        let tried = runs.filter { $0.chunkMilliseconds != nil }
        if !tried.isEmpty {
            out += "\nExamples per pass tried (median ms of the whole batch while choosing):\n\n"
            for r in tried {
                let cells = r.chunkMilliseconds!.sorted { Int($0.key)! > Int($1.key)! }.map { String(format: "%@: %.4f", $0.key, $0.value) }
                out += "- \(r.plan), batch \(r.batch): " + cells.joined(separator: ", ") + "\n"
            }
        }
        for batch in layers.keys.sorted(by: { Int($0)! < Int($1)! }) {
            out += "\nPer layer, batch \(batch):\n\n"
            out += "| layer | weight shape | nonzeros | density | kernel | dense MFLOPs | executed MFLOPs | µs | dense µs | speed-up | GFLOP/s | weight bytes dense | resident |\n"
            out += "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
            for l in layers[batch]! {
                if l.weightShape.isEmpty {
                    out += String(format: "| %@ (%@) | - | | | | | | %.1f | %.1f | | | | |\n", l.name, l.op, 1e6 * l.seconds, 1e6 * l.denseSeconds)
                    continue
                }
                out += String(format: "| %@ | %@ | %d | %.2f%% | %@ | %.3f | %.3f | %.1f | %.1f | %.2fx | %.2f | %@ | %@ |\n",
                              l.name, l.weightShape.map(String.init).joined(separator: "x"), l.nonzeros, 100 * l.density, l.kernel,
                              Double(l.denseFLOPs) / 1e6, Double(l.executedFLOPs) / 1e6, 1e6 * l.seconds, 1e6 * l.denseSeconds,
                              l.denseSeconds / max(l.seconds, 1e-12), l.gflops, bytes(l.denseWeightBytes), bytes(l.residentWeightBytes))
            }
        }
        return out
    }
}
