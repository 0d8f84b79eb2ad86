import Foundation

/// What an `.rlf` file says about its model: the architecture graph and where the weights came from.
public struct RLFMetadata: Codable, Equatable, Sendable {
    public var architecture: Architecture
    public var provenance: Provenance

    public init(architecture: Architecture, provenance: Provenance) {
        self.architecture = architecture
        self.provenance = provenance
    }

    /// The network as a graph of layers in execution order.
    public struct Architecture: Codable, Equatable, Sendable {
        public var name: String
        public var input: Input
        public var layers: [Layer]
        /// The layer whose output is the model's output.
        public var output: String
        /// Empty, or one name per output element.
        public var classNames: [String]

        public init(name: String, input: Input, layers: [Layer], output: String, classNames: [String] = []) {
            self.name = name
            self.input = input
            self.layers = layers
            self.output = output
            self.classNames = classNames
        }
    }

    /// The shape of one example (no batch dimension) and how raw inputs are normalised.
    public struct Input: Codable, Equatable, Sendable {
        public var shape: [Int]
        public var normalization: Normalization

        public init(shape: [Int], normalization: Normalization) {
            self.shape = shape
            self.normalization = normalization
        }
    }

    /// `x = (raw * scale - mean[c]) / std[c]`, with one mean and std, or one per channel.
    public struct Normalization: Codable, Equatable, Sendable {
        public var scale: Float
        public var mean: [Float]
        public var std: [Float]

        public init(scale: Float, mean: [Float], std: [Float]) {
            self.scale = scale
            self.mean = mean
            self.std = std
        }

        /// Raw bytes scaled to [0, 1), no centring: `byte / 256`, as MNIST's float pixels are made.
        public static let unitBytes = Normalization(scale: 1.0 / 256.0, mean: [0], std: [1])
    }

    /// One node of the graph; which fields apply depends on `op` (see `formats/rlf.md`).
    public struct Layer: Codable, Equatable, Sendable {
        public var name: String
        public var op: String
        public var inputs: [String]
        public var outputShape: [Int]
        public var weight: String?
        public var bias: String?
        public var kernel: [Int]?
        public var stride: [Int]?
        public var padding: [Int]?
        public var outChannels: Int?

        public init(name: String, op: Operator, inputs: [String], outputShape: [Int],
                    weight: String? = nil, bias: String? = nil, kernel: [Int]? = nil,
                    stride: [Int]? = nil, padding: [Int]? = nil, outChannels: Int? = nil) {
            self.name = name
            self.op = op.rawValue
            self.inputs = inputs
            self.outputShape = outputShape
            self.weight = weight
            self.bias = bias
            self.kernel = kernel
            self.stride = stride
            self.padding = padding
            self.outChannels = outChannels
        }
    }

    /// The operators of format version 1.0.
    public enum Operator: String, Sendable, CaseIterable {
        case linear, conv2d, maxpool2d, avgpool2d, globalavgpool2d, relu, softmax, flatten, add, shortcut
    }

    /// How the weights were made.
    public struct Provenance: Codable, Equatable, Sendable {
        public var method: String
        public var alpha: [String: Double]?
        public var iterations: Int?
        public var dataset: String?
        /// Test accuracy, 0 to 1.
        public var accuracy: Double?
        public var toolVersion: String
        public var notes: String?

        public init(method: String, alpha: [String: Double]? = nil, iterations: Int? = nil, dataset: String? = nil,
                    accuracy: Double? = nil, toolVersion: String, notes: String? = nil) {
            self.method = method
            self.alpha = alpha
            self.iterations = iterations
            self.dataset = dataset
            self.accuracy = accuracy
            self.toolVersion = toolVersion
            self.notes = notes
        }
    }
}

extension RLFMetadata {
    /// Canonical JSON: sorted keys, so equal metadata always gives equal bytes.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// Parses metadata JSON; anything malformed is `RLFError.invalidMetadata`.
    public static func parse(_ data: Data) throws(RLFError) -> RLFMetadata {
        do {
            return try JSONDecoder().decode(RLFMetadata.self, from: data)
        } catch let error as DecodingError {
            throw .invalidMetadata(reason: describe(error))
        } catch {
            throw .invalidMetadata(reason: "\(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case let .keyNotFound(key, ctx): return "missing field \(path(ctx.codingPath + [key]))"
        case let .typeMismatch(type, ctx): return "field \(path(ctx.codingPath)) should be \(type)"
        case let .valueNotFound(type, ctx): return "field \(path(ctx.codingPath)) should be \(type), found null"
        case let .dataCorrupted(ctx):
            return ctx.codingPath.isEmpty ? "not valid JSON" : "field \(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
