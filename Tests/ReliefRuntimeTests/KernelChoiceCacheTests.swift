import Foundation
import ReliefFormat
import ReliefRuntime
import Testing

/// Cached kernel choices are reused only by the same model, machine and build.
@Suite struct KernelChoiceCacheTests {
    static func model(rows: Int) -> RLFModel {
        let layers = [RLFMetadata.Layer(name: "fc", op: .linear, inputs: ["input"], outputShape: [rows], weight: "fc.weight")]
        return RLFModel(metadata: RLFMetadata(architecture: .init(name: "mlp", input: .init(shape: [4], normalization: .unitBytes),
                                                                 layers: layers, output: "fc"),
                                              provenance: .init(method: "test", toolVersion: "tests")),
                        tensors: [RLFTensor(name: "fc.weight", shape: [rows, 4], values: [Float](repeating: 1, count: rows * 4))])
    }

    @Test func aCacheFromAnotherModelOrBuildIsIgnored() throws {
        let signature = KernelChoiceCache.signature(of: Self.model(rows: 3))
        // The running build is part of it, and it is stable within the build.
        let build = try #require(signature.split(separator: ";").last)
        #expect(build.hasPrefix("build:") && build != "build:unknown", "\(signature)")
        #expect(signature == KernelChoiceCache.signature(of: Self.model(rows: 3)))
        #expect(signature != KernelChoiceCache.signature(of: Self.model(rows: 2)))

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("relief-cache-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var cache = KernelChoiceCache(signature: signature, choices: ["1": ["fc": "csr"]])
        try cache.save(path: path)
        #expect(KernelChoiceCache.load(path: path, signature: signature).choices["1"]?["fc"] == "csr")
        // The same file as an older build wrote it: its choices are dropped.
        cache.signature = signature.replacingOccurrences(of: String(build), with: "build:1@1")
        try cache.save(path: path)
        #expect(KernelChoiceCache.load(path: path, signature: signature).choices.isEmpty)
    }
}
