/// What can go wrong when loading a model into the runtime or feeding it inputs.
public enum InferenceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The model uses an operator or field this runtime does not execute.
    case unsupportedLayer(layer: String, reason: String)
    /// A tensor named by the graph is missing or has the wrong shape.
    case badTensor(layer: String, expected: String, found: String)
    /// `--kernel` named no kernel of the table.
    case unknownKernel(String, known: [String])
    /// A batch larger than the session was built for, or empty.
    case badBatch(expected: String, found: Int)
    /// An input buffer of the wrong length.
    case inputSize(expected: Int, found: Int)
    /// An input file that holds nothing.
    case emptyInput(String)
    /// An input file whose size or header does not fit the model's input.
    case badInput(String, expected: String, found: String)

    public var description: String {
        switch self {
        case let .unsupportedLayer(layer, reason): "cannot run layer \(layer): \(reason)"
        case let .badTensor(layer, expected, found): "layer \(layer): expected \(expected), found \(found)"
        case let .unknownKernel(name, known): "unknown kernel \(name); known: \(known.joined(separator: ", "))"
        case let .badBatch(expected, found): "batch of \(found) inputs; expected \(expected)"
        case let .inputSize(expected, found): "input has \(found) values, expected \(expected)"
        case let .emptyInput(what): "\(what) holds no input"
        case let .badInput(what, expected, found): "\(what): expected \(expected), found \(found)"
        }
    }
}
