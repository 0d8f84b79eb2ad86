import Foundation
import ReliefFormat

/// Kernel choices measured for one model on one kind of machine, kept beside the model
/// (`model.rlf.kernels.json`) so later loads skip the timing. A cache written for another model,
/// machine or build of Relief is ignored (a new build may have faster kernels, so old choices go).
public struct KernelChoiceCache: Codable, Sendable, Equatable {
    /// Identifies the model's weighted layers (names, shapes, nonzeros), the machine (CPU model, cores)
    /// and the build of the running program (its executable's size and modification time).
    public var signature: String
    /// Batch size (as text) → layer name → kernel name.
    public var choices: [String: [String: String]]
    /// Batch size (as text) → examples per pass through the network measured fastest for it
    /// (`InferenceSession.fastestChunk`), whose kernels are `choices` at that chunk; nil in caches
    /// from before batches ran in chunks.
    public var chunks: [String: Int]?

    public init(signature: String, choices: [String: [String: String]] = [:], chunks: [String: Int]? = nil) {
        self.signature = signature
        self.choices = choices
        self.chunks = chunks
    }

    /// The cache file of the model at `modelPath`.
    public static func path(for modelPath: String) -> String { modelPath + ".kernels.json" }

    /// What a cache must match: the model's weighted layers, this machine and this build.
    public static func signature(of model: RLFModel) -> String {
        var parts = [model.metadata.architecture.name]
        for l in model.metadata.architecture.layers {
            guard let w = l.weight, let t = model.tensor(named: w) else { continue }
            parts.append("\(l.name):\(t.shape.map(String.init).joined(separator: "x")):\(t.nnz)")
        }
        parts.append("cpu:\(cpuModel()):\(ProcessInfo.processInfo.activeProcessorCount)")
        parts.append("build:\(buildIdentity())")
        return parts.joined(separator: ";")
    }

    /// The running executable's size and modification time: a rebuild changes them.
    static func buildIdentity() -> String {
        let manager = FileManager.default
        guard let path = try? manager.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
              let attributes = try? manager.attributesOfItem(atPath: path),
              let size = attributes[.size] as? NSNumber, let date = attributes[.modificationDate] as? Date else { return "unknown" }
        return "\(size.int64Value)@\(Int64(date.timeIntervalSince1970 * 1000))"
    }

    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// The cache at `path` if it exists, parses and matches `signature`; otherwise an empty one.
    public static func load(path: String, signature: String) -> KernelChoiceCache {
        guard let data = FileManager.default.contents(atPath: path),
              let cache = try? JSONDecoder().decode(KernelChoiceCache.self, from: data), cache.signature == signature else {
            return KernelChoiceCache(signature: signature)
        }
        return cache
    }

    /// Writes the cache atomically (temporary file, then rename).
    public func save(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
