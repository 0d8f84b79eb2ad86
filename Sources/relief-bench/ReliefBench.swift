import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefKernels
import ReliefFormat
import ReliefRandom

/// `relief-bench`: benchmarks. `model` (the default) measures an .rlf model sparse against dense,
/// `kernels` every kernel of the table against dense OpenBLAS, `encoding` the .rlf encodings, `train` the trainer.
@main
struct ReliefBench: ParsableCommand {
    /// First, OpenBLAS's vector kernels where it took older ones for this CPU (`DenseBLAS.useFasterCore`).
    static func main() {
        restartWithEnvironment("OPENBLAS_CORETYPE", DenseBLAS.useFasterCore())
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "relief-bench",
        abstract: "Benchmarks: a model sparse against dense, the kernels, the .rlf encodings, training.",
        subcommands: [ModelBench.self, KernelBench.self, SynthBench.self, EncodingBench.self, TrainBench.self],
        defaultSubcommand: ModelBench.self)
}

struct EncodingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoding",
        abstract: "Bytes per nonzero of each .rlf encoding, and decode throughput, on random sparse layers.",
        discussion: """
        Layers hold normal weights (std 0.05) at uniformly random positions, seeded. For each shape and \
        density it writes the layer with each encoding forced and with the writer's own choice, and reports \
        bytes on disk per nonzero. Decode throughput reads the writer's file (checksums, decompression, \
        validation, decoding) of the tensor's section, and divides the bytes of the decoded weights (values \
        plus indices as held in memory) by the median time; "file read" times reading the whole file (header, \
        metadata JSON and graph checks too). memcpy of the same bytes, measured in the same run, is the baseline.
        """)

    @Option(help: "Densities in percent.")
    var densities: [Double] = [1, 2, 5, 10, 50]

    @Option(help: "Layer shapes as ROWSxCOLUMNS.")
    var shapes: [String] = ["300x784", "500x800", "512x4608"]

    @Option(help: "Timed repetitions of each decode.")
    var repetitions = 15

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "zstd compression level of the writer.")
    var level: Int32 = RLFWriter().compressionLevel

    @Flag(help: "Print JSON.")
    var json = false

    struct Row: Codable {
        var shape: String
        var densityPercent: Double
        var nnz: Int
        var bytesPerNonzero: [String: Double]
        var chosen: String
        var decodedBytes: Int
        /// Decoding the tensor's section alone: checksum, zstd, validation, decoding.
        var decodeGBps: Double
        /// Reading the whole file: also header, table, metadata JSON, graph validation.
        var fileReadGBps: Double
        var memcpyGBps: Double
        var decodeVsMemcpy: Double
    }

    func run() throws {
        var rows: [Row] = []
        let parsedShapes = try shapes.map { text -> (Int, Int) in
            let parts = text.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else { throw ValidationError("shape \(text) is not ROWSxCOLUMNS") }
            return (parts[0], parts[1])
        }
        let progress = ProgressBar("encoding bench", total: parsedShapes.count * densities.count, unit: "layers")
        var g = SeededGenerator(seed: seed)
        for (r, c) in parsedShapes {
            for d in densities {
                let values = RandomWeights.sparse(rows: r, columns: c, density: d / 100, using: &g)
                let tensor = RLFTensor(name: "w", shape: [r, c], values: values)
                let model = Self.model(tensor)
                var perNonzero: [String: Double] = [:]
                let nnz = tensor.nnz
                for encoding in TensorEncoding.allCases {
                    let bytes = try RLFWriter(allowedEncodings: [encoding], compressionLevel: level).encode(model)
                    perNonzero[encoding.description] = Self.tensorBytes(bytes) / Double(max(nnz, 1))
                }
                let chosenBytes = try RLFWriter(allowedEncodings: Set(TensorEncoding.allCases), compressionLevel: level).encode(model)
                perNonzero["chosen"] = Self.tensorBytes(chosenBytes) / Double(max(nnz, 1))
                let file = try RLFReader.read(bytes: chosenBytes)
                let decoded = file.tensors[0].residentBytes
                let decodeSeconds = Self.median(repetitions) { _ = try? RLFReader.decodeTensor(0, of: file, bytes: chosenBytes) }
                let readSeconds = Self.median(repetitions) { _ = try? RLFReader.read(bytes: chosenBytes) }
                let source = [UInt8](repeating: 1, count: decoded)
                var sink = [UInt8](repeating: 0, count: decoded)
                let copySeconds = Self.median(repetitions) {
                    source.withUnsafeBytes { s in sink.withUnsafeMutableBytes { $0.copyMemory(from: s) } }
                }
                let decodeRate = Double(decoded) / decodeSeconds / 1e9
                let copyRate = Double(decoded) / copySeconds / 1e9
                rows.append(Row(shape: "\(r)x\(c)", densityPercent: d, nnz: nnz, bytesPerNonzero: perNonzero,
                                chosen: file.records[0].encoding.description, decodedBytes: decoded,
                                decodeGBps: decodeRate, fileReadGBps: Double(decoded) / readSeconds / 1e9, memcpyGBps: copyRate, decodeVsMemcpy: decodeRate / copyRate))
                progress.advance()
            }
        }
        progress.finish()
        if json { return try printJSON(rows) }
        print("Bytes on disk per nonzero (float32 values, zstd where it helps), and decode throughput")
        print("| shape | density | nnz | dense | csr | bitmask | writer's choice | chosen | decoded MB | decode GB/s | file read GB/s | memcpy GB/s | decode/memcpy |")
        print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
        for row in rows {
            let b = row.bytesPerNonzero
            func f(_ x: Double?) -> String { x.map { String(format: "%.2f", $0) } ?? "-" }
            print("| \(row.shape) | \(row.densityPercent)% | \(row.nnz) | \(f(b["dense"])) | \(f(b["csr"])) | \(f(b["bitmask"])) | \(f(b["chosen"])) | \(row.chosen) | \(String(format: "%.2f", Double(row.decodedBytes) / 1e6)) | \(String(format: "%.2f", row.decodeGBps)) | \(String(format: "%.2f", row.fileReadGBps)) | \(String(format: "%.2f", row.memcpyGBps)) | \(String(format: "%.3f", row.decodeVsMemcpy)) |")
        }
    }

    /// A one-layer model holding `tensor`, so the file is a complete, valid `.rlf`.
    static func model(_ tensor: RLFTensor) -> RLFModel {
        let (r, c) = (tensor.shape[0], tensor.shape[1])
        let arch = RLFMetadata.Architecture(
            name: "bench", input: .init(shape: [c], normalization: .unitBytes),
            layers: [.init(name: "fc", op: .linear, inputs: ["input"], outputShape: [r], weight: "w")], output: "fc")
        return RLFModel(metadata: .init(architecture: arch, provenance: .init(method: "random", toolVersion: ReliefVersion.current)),
                        tensors: [tensor])
    }

    /// Stored bytes of the (only) tensor section of a file.
    static func tensorBytes(_ file: [UInt8]) -> Double {
        let f = try! RLFReader.read(bytes: file)
        return Double(f.sections[2].storedSize)
    }

    /// Median wall time of `body` over `n` runs, after one warm-up.
    static func median(_ n: Int, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<max(n, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times[times.count / 2]
    }
}
