/// What can go wrong when building, training or checkpointing a model.
public enum TrainingError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownModel(String, known: [String])
    case incompatibleDataset(model: String, expected: String, found: String)
    case checkpointUnreadable(path: String, reason: String)
    case checkpointCorrupt(path: String, reason: String)
    case checkpointMismatch(reason: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .unknownModel(name, known): "unknown model \(name); known: \(known.joined(separator: ", "))"
        case let .incompatibleDataset(model, expected, found): "model \(model) takes \(expected) inputs, the data set has \(found)"
        case let .checkpointUnreadable(path, reason): "cannot read checkpoint \(path): \(reason)"
        case let .checkpointCorrupt(path, reason): "checkpoint \(path) is corrupt: \(reason)"
        case let .checkpointMismatch(reason): "checkpoint does not match the model: \(reason)"
        case let .invalidOption(reason): reason
        }
    }
}
