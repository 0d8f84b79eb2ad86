import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefFormat
import ReliefKernels
import ReliefKernelsCHOLMOD
import ReliefRandom
import ReliefRuntime

/// `relief-bench kernels`: every kernel of the table on the shapes that matter, at several densities,
/// batch sizes and thread counts, each time as a ratio against dense OpenBLAS measured in the same run.
struct KernelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Every kernel against dense OpenBLAS: LeNet-300-100's layers and a VGG-style convolution.",
        discussion: """
        Shapes: LeNet-300-100's fc1 (300x784) and fc2 (100x300), with the batch as the product's columns, and a \
        VGG-style 3x3 convolution with 256 input and output channels on an 8x8 map after im2col (256x2304, \
        columns = batch x 64 pixels). Weights are seeded random at each density. Each cell is the median time per \
        call over samples (at least 5 and --seconds per kernel) taken in rounds, every kernel of the cell \
        once per round, so all of them run through the same stretches of a shared machine's speed; a \
        sample times a group of calls lasting at least 100 µs, so reading the clock does not count in \
        sub-microsecond cells, and a kernel whose one call lasts that long is first called once untimed, so a sample \
        finds the caches holding its own data rather than the previous kernel's. The table prints time per call, executed and dense-equivalent FLOPs, and \
        speed-up against dense OpenBLAS at the same shape, batch and threads.
        """)

    @Option(parsing: .upToNextOption, help: "Densities in percent.") var densities: [Double] = [100, 50, 20, 10, 5, 2, 1]
    @Option(parsing: .upToNextOption, help: "Batch sizes.") var batches: [Int] = [1, 64]
    @Option(parsing: .upToNextOption, help: "Thread counts.") var threads: [Int] = [1, 2]
    @Option(help: "Minimum seconds of measurement per kernel and cell.") var seconds = 0.05
    @Option(parsing: .upToNextOption, help: "Kernels to run (default: the whole table).") var kernels: [String] = []
    @Option(parsing: .upToNextOption, help: "Shapes: fc1, fc2, conv.") var shapes: [String] = ["fc1", "fc2", "conv"]
    @Flag(help: "Print JSON.") var json = false

    /// The convolution whole: im2col plus each matrix kernel, against the direct sparse convolution.
    struct ConvolutionRow: Codable {
        var batch: Int
        var threads: Int
        var density: Double
        var im2colMicroseconds: Double
        /// im2col + kernel, by kernel name; "direct" has no im2col.
        var totalMicroseconds: [String: Double]
        /// Absent when dense OpenBLAS was not among the kernels run.
        var directSpeedupOverDense: Double?
    }

    struct Row: Codable {
        var shape: String
        var rows: Int
        var columns: Int
        var n: Int
        var batch: Int
        var threads: Int
        var density: Double
        var kernel: String
        var microseconds: Double
        var executedMFLOPs: Double
        var denseMFLOPs: Double
        /// Absent when dense OpenBLAS was not among the kernels run (`--kernels`).
        var speedupOverDense: Double?
    }

    func run() throws {
        try reportingErrors {
            let table = (KernelTable.builtIn + [CHOLMODKernel.entry]).filter { kernels.isEmpty || kernels.contains($0.name) }
            let known: [String: (rows: Int, columns: Int, pixels: Int)] = ["fc1": (300, 784, 1), "fc2": (100, 300, 1), "conv": (256, 2304, 64)]
            var rows: [Row] = []
            var convolutionRows: [ConvolutionRow] = []
            let cells = shapes.count * densities.count * batches.count * threads.count
            let bar = ProgressBar("kernels", total: cells, unit: "cells")
            for shapeName in shapes {
                guard let shape = known[shapeName] else { throw ValidationError("unknown shape \(shapeName); known: fc1, fc2, conv") }
                for density in densities {
                    var g = SeededGenerator(seed: UInt64(shape.rows * 7919 + Int(density * 100)))
                    var gen = SeededGenerator(seed: UInt64(density * 100) &+ 77)
                    func g0(_ r: inout SeededGenerator) -> Float { r.normal() }
                    let w = RandomWeights.sparse(rows: shape.rows, columns: shape.columns, density: density / 100, std: 1, using: &g)
                    let m = CSRMatrix(rows: shape.rows, columns: shape.columns, dense: w)
                    let built = table.map { $0.make(m) }
                    for batch in batches {
                        let n = batch * shape.pixels
                        // 64-byte aligned, as the runtime's activations are (see `AlignedFloats`).
                        let x = AlignedFloats((0..<(shape.columns * n)).map { _ in g.normal() })
                        let y = AlignedFloats(count: shape.rows * n)
                        for t in threads {
                            // Every kernel of the cell is timed in the same rounds (see `interleavedTimes`).
                            // Scratch buffers live until every round has run.
                            var buffers: [UnsafeMutableRawPointer] = []
                            defer { buffers.forEach { $0.deallocate() } }
                            func buffer(_ bytes: Int) -> UnsafeMutableRawPointer {
                                buffers.append(.allocate(byteCount: max(bytes, 1), alignment: 64))
                                return buffers.last!
                            }
                            let scratch = buffer(built.map { $0.scratchBytes(n: n) }.max() ?? 1)
                            var bodies: [(String, () -> Void)] = built.map { kernel in
                                (kernel.name, { kernel.multiply(x.pointer, n: n, bias: nil, into: y.pointer, scratch: scratch, threads: t) })
                            }
                            if shapeName == "conv" {
                                // 256 channels of 8x8 (padding 1) through a 3x3 convolution: im2col, then each kernel; or direct.
                                let g = InferenceModel.Geometry(kernel: (3, 3), stride: (1, 1), padding: (1, 1))
                                let image = AlignedFloats((0..<(256 * batch * 64)).map { _ in g0(&gen) })
                                let cols = AlignedFloats(count: 2304 * n + Im2Col.extraFloats(channels: 256, batch: batch, height: 8, width: 8, geometry: g))
                                bodies.append(("im2col", {
                                    // Split between the threads as an inference splits it.
                                    Im2Col.fill(cols.pointer, from: image.pointer, channels: 256, batch: batch, height: 8, width: 8,
                                                geometry: g, outHeight: 8, outWidth: 8, threads: t)
                                }))
                                let direct = DirectSparseConvolution(m, inChannels: 256, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
                                let directScratch = buffer(direct.scratchBytes(batch: batch, height: 8, width: 8))
                                bodies.append(("direct", {
                                    direct.run(image.pointer, batch: batch, height: 8, width: 8, outHeight: 8, outWidth: 8,
                                               bias: nil, into: y.pointer, threads: t, scratch: directScratch)
                                }))
                                // The strip path, where this CPU runs it.
                                let strips = DirectSparseConvolution(m, inChannels: 256, kernel: (3, 3), stride: (1, 1), padding: (1, 1), strips: true)
                                if strips.strips {
                                    let stripScratch = buffer(strips.scratchBytes(batch: batch, height: 8, width: 8))
                                    bodies.append(("strips", {
                                        strips.run(image.pointer, batch: batch, height: 8, width: 8, outHeight: 8, outWidth: 8,
                                                   bias: nil, into: y.pointer, threads: t, scratch: stripScratch)
                                    }))
                                }
                            }
                            let times = Self.interleavedTimes(bodies, seconds: seconds)
                            if shapeName == "conv" {
                                let im2col = times["im2col"]!, directTime = times["direct"]!
                                var totals = Dictionary(uniqueKeysWithValues: built.map { ($0.name, 1e6 * (times[$0.name]! + im2col)) })
                                totals["direct"] = 1e6 * directTime
                                if let stripTime = times["strips"] { totals["strips"] = 1e6 * stripTime }
                                convolutionRows.append(ConvolutionRow(batch: batch, threads: t, density: density, im2colMicroseconds: 1e6 * im2col,
                                                                      totalMicroseconds: totals, directSpeedupOverDense: totals["dense"].map { $0 / (1e6 * directTime) }))
                            }
                            let dense = times["dense"]
                            for kernel in built {
                                rows.append(Row(shape: shapeName, rows: shape.rows, columns: shape.columns, n: n, batch: batch, threads: t,
                                                density: density, kernel: kernel.name, microseconds: 1e6 * times[kernel.name]!,
                                                executedMFLOPs: 2 * Double(kernel.multiplyAdds(n: n)) / 1e6,
                                                denseMFLOPs: 2 * Double(shape.rows * shape.columns * n) / 1e6,
                                                speedupOverDense: dense.map { $0 / times[kernel.name]! }))
                            }
                            bar.advance()
                        }
                    }
                }
            }
            bar.finish()
            let backends = Self.againstSuiteSparse(rows)
            struct Output: Codable {
                var denseKernels: String
                var kernels: [Row]; var convolutions: [ConvolutionRow]; var againstSuiteSparse: [BackendRow]
            }
            let denseKernels = "OpenBLAS " + DenseBLAS.coreName
            if json {
                try printJSON(Output(denseKernels: denseKernels, kernels: rows, convolutions: convolutionRows, againstSuiteSparse: backends))
                return
            }
            print("Dense baseline: \(denseKernels) kernels.\n")
            print("| shape | batch | threads | density | " + table.map(\.name).map { "\($0) µs (× vs dense)" }.joined(separator: " | ") + " | dense-equiv. MFLOPs | executed MFLOPs (sparse) |")
            print("|---|---:|---:|---:|" + String(repeating: "---:|", count: table.count + 2))
            var k = 0
            while k < rows.count {
                let group = rows[k..<(k + table.count)]
                let r = group.first!
                let cells = group.map { Self.microseconds($0.microseconds) + ($0.speedupOverDense.map { String(format: " (%.2f×)", $0) } ?? "") }
                let executed = group.first { $0.kernel == "csr" }?.executedMFLOPs ?? r.executedMFLOPs
                print("| \(r.shape) \(r.rows)x\(r.columns) | \(r.batch) | \(r.threads) | \(r.density)% | " + cells.joined(separator: " | ")
                      + String(format: " | %.3f | %.3f |", r.denseMFLOPs, executed))
                k += table.count
            }
            if !backends.isEmpty {
                print("\nThe fastest hand-written kernel of each cell against the SuiteSparse backends (their time over its; the issue's target is 5× at every density). Densities across, one row per shape, batch and threads.\n")
                let densities = backends.map(\.density).reduce(into: [Double]()) { if !$0.contains($1) { $0.append($1) } }
                print("| shape | batch | threads | " + densities.map { "\($0)%" }.joined(separator: " | ") + " | lowest |")
                print("|---|---:|---:|" + String(repeating: "---|", count: densities.count) + "---:|")
                var lines: [String] = []
                for b in backends where !lines.contains("\(b.shape) \(b.batch) \(b.threads)") {
                    lines.append("\(b.shape) \(b.batch) \(b.threads)")
                    let line = backends.filter { $0.shape == b.shape && $0.batch == b.batch && $0.threads == b.threads }
                    let cells = densities.map { d -> String in
                        guard let c = line.first(where: { $0.density == d }) else { return "" }
                        return "\(c.kernel) " + String(format: "%.1f×", c.speedup.values.min()!)
                    }
                    let lowest = line.flatMap { $0.speedup.values }.min()!
                    print("| \(b.shape) | \(b.batch) | \(b.threads) | " + cells.joined(separator: " | ") + String(format: " | %.1f× |", lowest))
                }
            }
            if !convolutionRows.isEmpty {
                print("\nThe VGG-style convolution whole (256 -> 256 channels, 3x3, 8x8 map): im2col plus each kernel, against the direct sparse convolution (and its strip path over a tap-shifted copy, where the CPU has AVX-512); speed-up of direct against im2col + dense OpenBLAS.\n")
                let names = table.map(\.name) + ["direct", "strips"]
                print("| batch | threads | density | im2col µs | " + names.map { "\($0) µs" }.joined(separator: " | ") + " | direct vs dense |")
                print("|---:|---:|---:|---:|" + String(repeating: "---:|", count: names.count + 1))
                for r in convolutionRows {
                    print("| \(r.batch) | \(r.threads) | \(r.density)% | " + Self.microseconds(r.im2colMicroseconds) + " | "
                          + names.map { Self.microseconds(r.totalMicroseconds[$0] ?? .nan) }.joined(separator: " | ")
                          + (r.directSpeedupOverDense.map { String(format: " | %.2f× |", $0) } ?? " | — |"))
                }
            }
        }
    }

    /// The fastest hand-written kernel of one cell against the SuiteSparse backends in the same cell.
    struct BackendRow: Codable {
        var shape: String
        var batch: Int
        var threads: Int
        var density: Double
        var kernel: String
        var microseconds: Double
        /// Backend time over the kernel's, by backend ("cxsparse", "cholmod"; those that ran).
        var speedup: [String: Double]
    }

    static let suiteSparseBackends = ["cxsparse", "cholmod"]

    /// Per cell (shape, batch, threads, density), the fastest kernel other than dense OpenBLAS and
    /// the SuiteSparse backends, and how many times faster it ran than each backend.
    static func againstSuiteSparse(_ rows: [Row]) -> [BackendRow] {
        var out: [BackendRow] = []
        var seen = Set<String>()
        for r in rows {
            let key = "\(r.shape) \(r.batch) \(r.threads) \(r.density)"
            guard seen.insert(key).inserted else { continue }
            let cell = rows.filter { "\($0.shape) \($0.batch) \($0.threads) \($0.density)" == key }
            guard let best = cell.filter({ $0.kernel != "dense" && !suiteSparseBackends.contains($0.kernel) }).min(by: { $0.microseconds < $1.microseconds })
            else { continue }
            var speedup: [String: Double] = [:]
            for b in cell where suiteSparseBackends.contains(b.kernel) { speedup[b.kernel] = b.microseconds / best.microseconds }
            guard !speedup.isEmpty else { continue }
            out.append(BackendRow(shape: r.shape, batch: r.batch, threads: r.threads, density: r.density, kernel: best.kernel,
                                  microseconds: best.microseconds, speedup: speedup))
        }
        return out
    }

    /// A time in µs for the tables: two decimals below 10 µs, where batch-1 cells live and one
    /// decimal would round 0.34 and 0.25 to the same figure.
    static func microseconds(_ t: Double) -> String { String(format: t < 10 ? "%.2f" : "%.1f", t) }

    /// Shortest stretch one sample times: a group of calls at least this long keeps the two clock
    /// reads around it (20-40 ns on these VMs, 17% of a 0.19 µs cell's samples under `perf`) out
    /// of the per-call time of sub-microsecond kernels.
    static let minimumSample = 100e-6

    /// Median seconds per call of each body, sampled in rounds: every round takes one sample of each
    /// body in turn, until each has at least 5 samples and `seconds` of calls. These shared machines
    /// change speed for stretches of seconds (one cell's times moved 2x between runs on 2026-12-07),
    /// so the kernels compared in a cell are measured through the same stretches rather than one
    /// after another; a sample times a group of calls lasting at least `minimumSample`. A kernel whose
    /// one call is that long is called once more, untimed, before each sample: the kernel before it in
    /// the round has just replaced the caches' contents, and a single timed call would count that
    /// against whichever kernel follows (`csr` on the convolution at batch 1 and 100% density took
    /// 2.08 ms a call right after dense OpenBLAS and 1.56 ms on its own).
    static func interleavedTimes(_ bodies: [(String, () -> Void)], seconds: Double) -> [String: Double] {
        func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
        let groups = bodies.map { _, body -> Int in
            // The warm-up call sizes the group; three more calls only where it was short (a slow
            // kernel's warm-up, seconds at batch 64, is enough to know it needs no grouping).
            var start = now()
            body()
            var once = Double(now() - start) / 1e9
            guard once < minimumSample else { return 1 }
            for _ in 0..<3 {
                start = now()
                body()
                once = min(once, Double(now() - start) / 1e9)
            }
            return max(1, min(Int(minimumSample / max(once, 1e-9)), 100_000))
        }
        var samples = [[Double]](repeating: [], count: bodies.count)
        var totals = [Double](repeating: 0, count: bodies.count)
        while samples.contains(where: { $0.count < 5 }) || totals.contains(where: { $0 < seconds }) {
            for (i, (_, body)) in bodies.enumerated() where samples[i].count < 5 || totals[i] < seconds {
                if groups[i] == 1 { body() }
                let start = now()
                for _ in 0..<groups[i] { body() }
                let t = Double(now() - start) / 1e9
                samples[i].append(t / Double(groups[i]))
                totals[i] += t
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(bodies, samples).map { ($0.0.0, $0.1.sorted()[$0.1.count / 2]) })
    }
}
