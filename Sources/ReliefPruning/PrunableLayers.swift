import ReliefTraining

/// The prunable layers of a chain network and how their units connect, for pruning and clean-up.
struct PrunableLayer {
    /// Index in `Sequential.layers`.
    let index: Int
    let layer: Layer
    let weight: Parameter
    let bias: Parameter?
    /// Output neurons or filters.
    let units: Int
    /// Weights per (unit, input) connection: 1 for linear, kh·kw for a convolution kernel.
    let connectionSize: Int
    /// Inputs per unit: in-features or input channels.
    let inputs: Int
    /// The batch norm right after a convolution, if any.
    let norm: BatchNorm2d?
    /// The residual block the convolution belongs to, and whether it is the block's first (1) or second (2).
    var block: ResidualBlock? = nil
    var position = 0

    var isConvolution: Bool { layer is Conv2d }
}

enum PrunableLayers {
    /// The linear and convolution layers of a chain network, in order.
    static func of(_ model: Sequential) throws(PruningError) -> [PrunableLayer] {
        var out: [PrunableLayer] = []
        for (i, layer) in model.layers.enumerated() {
            if let r = layer as? ResidualBlock {
                for (position, (c, bn)) in [(r.conv1, r.bn1), (r.conv2, r.bn2)].enumerated() {
                    out.append(PrunableLayer(index: i, layer: c, weight: c.weight, bias: c.bias, units: c.outChannels,
                                             connectionSize: c.kernel.0 * c.kernel.1, inputs: c.inChannels, norm: bn,
                                             block: r, position: position + 1))
                }
            } else if let l = layer as? Linear {
                out.append(PrunableLayer(index: i, layer: l, weight: l.weight, bias: l.bias, units: l.outFeatures,
                                         connectionSize: 1, inputs: l.inFeatures, norm: nil))
            } else if let c = layer as? Conv2d {
                let norm = i + 1 < model.layers.count ? model.layers[i + 1] as? BatchNorm2d : nil
                out.append(PrunableLayer(index: i, layer: c, weight: c.weight, bias: c.bias, units: c.outChannels,
                                         connectionSize: c.kernel.0 * c.kernel.1, inputs: c.inChannels, norm: norm))
            }
        }
        return out
    }

    /// Gives every prunable weight and bias a mask (all ones where none was set yet).
    static func ensureMasks(_ model: Sequential) {
        for p in model.parameters where p.mask == nil && (p.prunable || p.kind == .normWeight || p.kind == .normBias) {
            p.mask = [Float](repeating: 1, count: p.count)
        }
    }

    /// The inputs each layer of the model receives on `x`, in evaluation mode.
    static func layerInputs(_ model: Sequential, _ x: Tensor) -> [Tensor] {
        var inputs: [Tensor] = []
        var h = x
        for layer in model.layers {
            inputs.append(h)
            h = layer.forward(h, training: false)
        }
        inputs.append(h)
        return inputs
    }
}

/// What can go wrong when pruning.
public enum PruningError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedModel(String, reason: String)
    case invalidOption(String)
    case stateMismatch(String)
    case invalidRecipe(String)

    public var description: String {
        switch self {
        case let .unsupportedModel(name, reason): "cannot prune \(name): \(reason)"
        case let .invalidOption(reason): reason
        case let .stateMismatch(reason): "cannot resume: \(reason)"
        case let .invalidRecipe(reason): "invalid recipe: \(reason)"
        }
    }
}
