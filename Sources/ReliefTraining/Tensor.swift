/// A float32 tensor in row-major (NCHW for images) order.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(data.count == shape.reduce(1, *), "tensor data has \(data.count) values for shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
    /// The first dimension: the batch size.
    public var batch: Int { shape.first ?? 1 }
    /// Elements per example.
    public var exampleSize: Int { shape.dropFirst().reduce(1, *) }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }
}

/// A learnable tensor (or a buffer such as batch norm's running mean) with its gradient and,
/// for prunable weights and biases, a mask whose zeros stay zero through training.
public final class Parameter {
    public enum Kind: String, Sendable {
        case weight, bias, normWeight, normBias, runningMean, runningVariance
        /// A fixed per-channel multiplier (1 or 0), such as a residual block's shortcut gate.
        case gate
    }

    public let name: String
    public let kind: Kind
    public let shape: [Int]
    public var value: [Float]
    public var grad: [Float]
    /// 1 where the entry is alive, 0 where it was pruned; nil when nothing is pruned.
    public var mask: [Float]?
    /// Buffers (running statistics) are saved and loaded but not optimised.
    public var trainable: Bool { kind != .runningMean && kind != .runningVariance && kind != .gate }
    /// Weights and biases of convolutions and linear layers; what NNrelief prunes.
    public var prunable: Bool { kind == .weight || kind == .bias }

    public init(name: String, kind: Kind, shape: [Int], value: [Float]) {
        precondition(value.count == shape.reduce(1, *), "parameter \(name) has \(value.count) values for shape \(shape)")
        self.name = name
        self.kind = kind
        self.shape = shape
        self.value = value
        self.grad = [Float](repeating: 0, count: value.count)
    }

    public var count: Int { value.count }

    /// Zeroes pruned entries of the value (after an optimiser step) and of the gradient.
    public func applyMask() {
        guard let mask else { return }
        mask.withUnsafeBufferPointer { m in
            value.withUnsafeMutableBufferPointer { v in
                grad.withUnsafeMutableBufferPointer { g in
                    // "+ 0" turns the −0.0 that a negative value times 0 gives into +0.0, so pruned
                    // entries are true zeros (a file format counts −0.0 as a stored nonzero).
                    for i in 0..<m.count {
                        v[i] = v[i] * m[i] + 0
                        g[i] = g[i] * m[i] + 0
                    }
                }
            }
        }
    }
}
