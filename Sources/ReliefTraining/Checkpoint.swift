import Foundation

/// A training checkpoint: the model's parameters, buffers and masks, the optimiser's state, and
/// the run's configuration and history, in one safetensors file (tensor names as in PyTorch's
/// state_dict, so `safetensors.torch.load_file` reads the weights directly).
public struct Checkpoint {
    public static let formatTag = "relief-checkpoint-1"

    public var config: TrainingConfig
    /// Epochs completed.
    public var epoch: Int
    public var history: [EpochRecord]
    public var file: SafetensorsFile

    /// Captures the current state of a run. `extraMetadata` carries what other tools add (the
    /// pruner's recipe and iteration); without an optimiser no optimiser state is stored.
    public init(model: Sequential, optimizer: Optimizer?, config: TrainingConfig, epoch: Int, history: [EpochRecord],
                extraMetadata: [String: String] = [:]) {
        var tensors: [String: Tensor] = [:]
        for p in model.parameters {
            tensors[p.name] = Tensor(shape: p.shape, data: p.value)
            if let mask = p.mask { tensors["mask." + p.name] = Tensor(shape: p.shape, data: mask) }
        }
        for (key, value) in optimizer?.state ?? [:] { tensors["optimizer." + key] = Tensor(shape: [value.count], data: value) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata = extraMetadata
        metadata.merge([
            "format": Self.formatTag,
            "model": model.name,
            "epoch": String(epoch),
            "config": String(decoding: try! encoder.encode(config), as: UTF8.self),
            "history": String(decoding: try! encoder.encode(history), as: UTF8.self),
        ]) { _, ours in ours }
        self.config = config
        self.epoch = epoch
        self.history = history
        file = SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    public func write(to path: String) throws(TrainingError) { try file.write(to: path) }

    /// Reads a checkpoint, checking it is one of Relief's.
    public static func read(path: String) throws(TrainingError) -> Checkpoint {
        let file = try SafetensorsFile.read(path: path)
        guard file.metadata["format"] == formatTag else {
            throw .checkpointCorrupt(path: path, reason: "it is not a Relief checkpoint (metadata format is \(file.metadata["format"] ?? "missing"))")
        }
        let decoder = JSONDecoder()
        guard let configText = file.metadata["config"], let config = try? decoder.decode(TrainingConfig.self, from: Data(configText.utf8)),
              let epochText = file.metadata["epoch"], let epoch = Int(epochText),
              let historyText = file.metadata["history"], let history = try? decoder.decode([EpochRecord].self, from: Data(historyText.utf8)) else {
            throw .checkpointCorrupt(path: path, reason: "its configuration, epoch or history metadata is missing or malformed")
        }
        return Checkpoint(config: config, epoch: epoch, history: history, file: file)
    }

    private init(config: TrainingConfig, epoch: Int, history: [EpochRecord], file: SafetensorsFile) {
        self.config = config
        self.epoch = epoch
        self.history = history
        self.file = file
    }

    /// Loads parameters, buffers and masks into `model`, checking every name and shape first.
    public func restore(into model: Sequential) throws(TrainingError) {
        guard file.metadata["model"] == model.name else {
            throw .checkpointMismatch(reason: "it holds a \(file.metadata["model"] ?? "?") model, not \(model.name)")
        }
        for p in model.parameters {
            guard let t = file.tensors[p.name] else { throw .checkpointMismatch(reason: "tensor \(p.name) is missing") }
            guard t.shape == p.shape else {
                throw .checkpointMismatch(reason: "tensor \(p.name) has shape \(t.shape), the model needs \(p.shape)")
            }
            if let m = file.tensors["mask." + p.name], m.shape != p.shape {
                throw .checkpointMismatch(reason: "mask of \(p.name) has shape \(m.shape), the model needs \(p.shape)")
            }
        }
        let known = Set(model.parameters.flatMap { [$0.name, "mask." + $0.name] })
        if let extra = file.tensors.keys.first(where: { !$0.hasPrefix("optimizer.") && !known.contains($0) }) {
            throw .checkpointMismatch(reason: "tensor \(extra) belongs to no parameter of \(model.name)")
        }
        for p in model.parameters {
            p.value = file.tensors[p.name]!.data
            p.mask = file.tensors["mask." + p.name]?.data
        }
    }

    /// The optimiser's saved state.
    public var optimizerState: [String: [Float]] {
        var s: [String: [Float]] = [:]
        for (k, v) in file.tensors where k.hasPrefix("optimizer.") { s[String(k.dropFirst("optimizer.".count))] = v.data }
        return s
    }
}
