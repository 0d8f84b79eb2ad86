import Foundation
import ReliefFormat
import ReliefONNX
import ReliefRandom
import ReliefRuntime
import Testing

/// ONNX in and out: PyTorch-exported models imported and run against PyTorch's outputs, Relief
/// models exported and imported back unchanged, and bad files as clear errors.
@Suite struct ONNXTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixture(_ name: String) throws -> (onnx: [UInt8], batch: Int, x: [Float], y: [Float]) {
        let onnx = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent(name + ".onnx")))
        let io = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent(name + ".io")))
        func u32(_ o: Int) -> Int { Int(io[o]) | Int(io[o + 1]) << 8 | Int(io[o + 2]) << 16 | Int(io[o + 3]) << 24 }
        let (b, nIn, nOut) = (u32(0), u32(4), u32(8))
        let floats = stride(from: 12, to: io.count, by: 4).map { Float(bitPattern: UInt32(u32($0))) }
        try #require(floats.count == b * (nIn + nOut), "fixture \(name): \(floats.count) floats for batch \(b) of \(nIn) in, \(nOut) out")
        return (onnx, b, Array(floats[0..<(b * nIn)]), Array(floats[(b * nIn)...]))
    }

    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0 : .infinity
    }

    @Test(arguments: ["small_cnn", "residual"])
    func pytorchExportsImportAndMatchPyTorch(name: String) throws {
        let f = try Self.fixture(name)
        let model = try ONNXModel.decode(f.onnx).reliefModel(toolVersion: "tests")
        // Through the writer and the validating reader, as relief-export does.
        let file = try RLFReader.read(bytes: try RLFWriter().encode(model))
        for policy in [InferenceModel.KernelPolicy.forced("dense"), .forced("csr"), .forced("direct")] {
            let y = try InferenceSession(model: try InferenceModel(file.model, policy: policy), maxBatch: f.batch).run(f.x, batch: f.batch)
            #expect(Self.maxError(y, f.y) < 1e-4, "\(name), \(policy)")
        }
    }

    /// Relief → ONNX → Relief: the same graph, the same weights, the same outputs.
    @Test func exportThenImportGivesTheSameModel() throws {
        for name in ["small_cnn", "residual"] {
            let f = try Self.fixture(name)
            let original = try ONNXModel.decode(f.onnx).reliefModel(toolVersion: "tests")
            let bytes = try ONNXModel(exporting: original, producerVersion: "tests").encoded()
            let decoded = try ONNXModel.decode(bytes)
            #expect(decoded.opsetVersion == 13 && decoded.producerName == "relief")
            let back = try decoded.reliefModel(toolVersion: "tests")
            for t in original.tensors {
                #expect(back.tensors.contains { $0.shape == t.shape && $0.denseValues() == t.denseValues() }, "\(name): \(t.name)")
            }
            let a = try InferenceSession(model: try InferenceModel(original, policy: .forced("csr")), maxBatch: f.batch).run(f.x, batch: f.batch)
            let b = try InferenceSession(model: try InferenceModel(back, policy: .forced("csr")), maxBatch: f.batch).run(f.x, batch: f.batch)
            #expect(a == b, "\(name)")
        }
    }

    /// Relief's own graph features survive the trip: option-A shortcuts (Slice + Pad), softmax, global pooling.
    @Test func shortcutsAndSoftmaxRoundTrip() throws {
        var g = SeededGenerator(seed: 5)
        let w = (0..<(8 * 4 * 9)).map { _ in g.normal() }
        let layers = [
            RLFMetadata.Layer(name: "conv", op: .conv2d, inputs: ["input"], outputShape: [8, 4, 4], weight: "conv.weight", stride: [2, 2], padding: [1, 1]),
            RLFMetadata.Layer(name: "short", op: .shortcut, inputs: ["input"], outputShape: [8, 4, 4], stride: [2, 2], outChannels: 8),
            RLFMetadata.Layer(name: "add", op: .add, inputs: ["conv", "short"], outputShape: [8, 4, 4]),
            RLFMetadata.Layer(name: "gap", op: .globalavgpool2d, inputs: ["add"], outputShape: [8]),
            RLFMetadata.Layer(name: "soft", op: .softmax, inputs: ["gap"], outputShape: [8]),
        ]
        let model = RLFModel(metadata: RLFMetadata(architecture: .init(name: "block", input: .init(shape: [4, 8, 8], normalization: .unitBytes), layers: layers, output: "soft"),
                                                   provenance: .init(method: "test", toolVersion: "tests")),
                             tensors: [RLFTensor(name: "conv.weight", shape: [8, 4, 3, 3], values: w)])
        let back = try ONNXModel.decode(try ONNXModel(exporting: model, producerVersion: "t").encoded()).reliefModel(normalization: .unitBytes, toolVersion: "t")
        #expect(back.metadata.architecture.layers.map(\.op) == ["conv2d", "shortcut", "add", "globalavgpool2d", "softmax"])
        let x = (0..<(2 * 4 * 64)).map { _ in g.unit() }
        let a = try InferenceSession(model: try InferenceModel(model, policy: .forced("csr")), maxBatch: 2).run(x, batch: 2)
        let b = try InferenceSession(model: try InferenceModel(back, policy: .forced("csr")), maxBatch: 2).run(x, batch: 2)
        #expect(a == b)
    }

    @Test func badFilesAndUnsupportedOperatorsAreClearErrors() throws {
        let f = try Self.fixture("small_cnn")
        // Every truncation is an error, never a crash.
        for cut in stride(from: 1, to: f.onnx.count, by: 97) {
            do {
                let m = try ONNXModel.decode(Array(f.onnx.prefix(cut)))
                _ = try? m.reliefModel(toolVersion: "t")
            } catch {
                #expect(!"\(error)".isEmpty)
            }
        }
        #expect(throws: ONNXError.self) { try ONNXModel.decode([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
        var model = try ONNXModel.decode(f.onnx)
        model.graph.nodes[1].opType = "LeakyRelu"
        #expect(throws: ONNXError.unsupportedOperator("LeakyRelu", node: model.graph.nodes[1].name)) { try model.reliefModel(toolVersion: "t") }
    }
}
