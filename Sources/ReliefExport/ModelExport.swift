import ReliefData
import ReliefFormat
import ReliefTraining

/// Turns a trained (and pruned) chain network into an `.rlf` model: batch norm folded into the
/// convolution before it, dropout dropped, and neurons and filters that can no longer affect the
/// output physically removed together with the matching inputs of the next layer.
public enum ModelExport {
    public enum ExportError: Error, Equatable, Sendable, CustomStringConvertible {
        case unsupportedLayer(String)
        public var description: String {
            switch self {
            case let .unsupportedLayer(name): "cannot export layer \(name): no .rlf operator for it in this position"
            }
        }
    }

    /// One exported layer before it becomes metadata: weights already folded and trimmed.
    struct Node {
        var name: String
        var op: RLFMetadata.Operator
        var weight: [Float]? = nil
        var weightShape: [Int] = []
        var bias: [Float]? = nil
        var kernel: [Int]? = nil
        var stride: [Int]? = nil
        var padding: [Int]? = nil
        /// Explicit graph inputs; nil: the node before.
        var inputs: [String]? = nil
        var outChannels: Int? = nil
        /// Inside a residual block: its units are tied to the shortcut, so trimming leaves them alone.
        var trimmable = true
    }

    public static func export(_ model: Sequential, classNames: [String], pipeline: InputPipeline,
                              provenance: RLFMetadata.Provenance) throws(ExportError) -> RLFModel {
        var nodes = try fold(model)
        trim(&nodes, inputShape: model.inputShape)
        var layers: [RLFMetadata.Layer] = []
        var tensors: [RLFTensor] = []
        var shape = model.inputShape
        var previous = "input"
        var shapes: [String: [Int]] = [:]
        // −0.0 computes like +0.0 but would be stored as a nonzero: write true zeros.
        func canonical(_ v: [Float]) -> [Float] { v.map { $0 == 0 ? 0 : $0 } }
        for n in nodes {
            if let w = n.weight {
                tensors.append(RLFTensor(name: n.name + ".weight", shape: n.weightShape, values: canonical(w)))
            }
            if let b = n.bias {
                tensors.append(RLFTensor(name: n.name + ".bias", shape: [b.count], values: canonical(b)))
            }
            let inputs = n.inputs ?? [previous]
            let inputShape = inputs[0] == "input" ? model.inputShape : shapes[inputs[0]]!
            shape = outputShape(n, input: inputShape)
            shapes[n.name] = shape
            layers.append(RLFMetadata.Layer(name: n.name, op: n.op, inputs: inputs, outputShape: shape,
                                            weight: n.weight == nil ? nil : n.name + ".weight", bias: n.bias == nil ? nil : n.name + ".bias",
                                            kernel: n.kernel, stride: n.stride, padding: n.padding, outChannels: n.outChannels))
            previous = n.name
        }
        let normalization = RLFMetadata.Normalization(scale: 1.0 / 255.0, mean: pipeline.mean, std: pipeline.std)
        let architecture = RLFMetadata.Architecture(name: model.name, input: .init(shape: model.inputShape, normalization: normalization),
                                                    layers: layers, output: previous,
                                                    classNames: classNames.count == shape.reduce(1, *) ? classNames : [])
        return RLFModel(metadata: RLFMetadata(architecture: architecture, provenance: provenance), tensors: tensors)
    }

    static func outputShape(_ n: Node, input s: [Int]) -> [Int] {
        switch n.op {
        case .linear: return [n.weightShape[0]]
        case .conv2d:
            return [n.weightShape[0], (s[1] + 2 * n.padding![0] - n.weightShape[2]) / n.stride![0] + 1,
                    (s[2] + 2 * n.padding![1] - n.weightShape[3]) / n.stride![1] + 1]
        case .maxpool2d, .avgpool2d:
            return [s[0], (s[1] + 2 * n.padding![0] - n.kernel![0]) / n.stride![0] + 1, (s[2] + 2 * n.padding![1] - n.kernel![1]) / n.stride![1] + 1]
        case .globalavgpool2d: return [s[0]]
        case .flatten: return [s.reduce(1, *)]
        case .shortcut: return [n.outChannels!, (s[1] + n.stride![0] - 1) / n.stride![0], (s[2] + n.stride![1] - 1) / n.stride![1]]
        default: return s
        }
    }

    /// The layers as export nodes, with batch norm folded into the convolution before it.
    static func fold(_ model: Sequential) throws(ExportError) -> [Node] {
        var nodes: [Node] = []
        for layer in model.layers {
            switch layer {
            case let l as Linear:
                nodes.append(Node(name: l.name, op: .linear, weight: l.weight.value, weightShape: l.weight.shape, bias: l.bias?.value))
            case let c as Conv2d:
                nodes.append(Node(name: c.name, op: .conv2d, weight: c.weight.value, weightShape: c.weight.shape, bias: c.bias?.value,
                                  stride: [c.stride.0, c.stride.1], padding: [c.padding.0, c.padding.1]))
            case let bn as BatchNorm2d:
                guard let conv = nodes.popLast(), conv.op == .conv2d else { throw .unsupportedLayer(bn.name) }
                nodes.append(folded(conv, bn))
            case let r as ResidualBlock:
                // conv1+bn1 → relu → conv2+bn2, plus the block input (option-A shortcut when the shape
                // changes), added, then ReLU.
                let blockInput = nodes.last?.name ?? "input"
                func conv(_ c: Conv2d, _ bn: BatchNorm2d) -> Node {
                    var n = folded(Node(name: c.name, op: .conv2d, weight: c.weight.value, weightShape: c.weight.shape, bias: c.bias?.value,
                                        stride: [c.stride.0, c.stride.1], padding: [c.padding.0, c.padding.1]), bn)
                    n.trimmable = false
                    return n
                }
                nodes.append(conv(r.conv1, r.bn1))
                nodes.append(Node(name: r.relu1.name, op: .relu))
                nodes.append(conv(r.conv2, r.bn2))
                var shortcut = blockInput
                if r.hasProjection {
                    shortcut = r.name + ".shortcut"
                    nodes.append(Node(name: shortcut, op: .shortcut, stride: [r.stride, r.stride], inputs: [blockInput], outChannels: r.outChannels))
                }
                if r.hasClosedShortcut {
                    // Closed shortcut channels: a 1x1 convolution with the gate on its diagonal (stored sparse).
                    let c = r.outChannels
                    var diagonal = [Float](repeating: 0, count: c * c)
                    for k in 0..<c { diagonal[k * c + k] = r.shortcutGate.value[k] }
                    var gate = Node(name: r.name + ".shortcut_gate", op: .conv2d, weight: diagonal, weightShape: [c, c, 1, 1],
                                    stride: [1, 1], padding: [0, 0], inputs: [shortcut])
                    gate.trimmable = false
                    nodes.append(gate)
                    shortcut = gate.name
                }
                nodes.append(Node(name: r.name + ".add", op: .add, inputs: [r.conv2.name, shortcut]))
                nodes.append(Node(name: r.relu2.name, op: .relu))
            case let r as ReLU: nodes.append(Node(name: r.name, op: .relu))
            case let p as any WindowPooling:
                let w = p.window
                nodes.append(Node(name: p.name, op: p is MaxPool2d ? .maxpool2d : .avgpool2d, kernel: [w.kernel, w.kernel],
                                  stride: [w.stride, w.stride], padding: [w.padding, w.padding]))
            case let p as GlobalAvgPool2d: nodes.append(Node(name: p.name, op: .globalavgpool2d))
            case let f as Flatten: nodes.append(Node(name: f.name, op: .flatten))
            case is Dropout: continue   // the identity at inference
            default: throw .unsupportedLayer(layer.name)
            }
        }
        return nodes
    }

    /// y = γ (x − μ) / √(σ² + ε) + β folded into the convolution before it: W·s, (b − μ)·s + β, s = γ/√(σ² + ε).
    static func folded(_ conv: Node, _ bn: BatchNorm2d) -> Node {
        var conv = conv
        let per = conv.weight!.count / bn.channels
        var bias = conv.bias ?? [Float](repeating: 0, count: bn.channels)
        for ch in 0..<bn.channels {
            let scale = bn.weight.value[ch] / (bn.runningVariance.value[ch] + bn.epsilon).squareRoot()
            for k in 0..<per { conv.weight![ch * per + k] *= scale }
            bias[ch] = (bias[ch] - bn.runningMean.value[ch]) * scale + bn.bias.value[ch]
        }
        conv.bias = bias
        return conv
    }

    /// Removes units that cannot affect the output: no incoming weights and a zero bias (they output
    /// zero through the ReLU), or no outgoing connections. The last layer keeps every output.
    static func trim(_ nodes: inout [Node], inputShape: [Int]) {
        let weighted = nodes.indices.filter { nodes[$0].weight != nil }
        for (n, i) in weighted.enumerated().dropLast() {
            let j = weighted[n + 1]
            // Only plain chains: nothing in a residual block, no graph node in between.
            guard nodes[i].trimmable, nodes[j].trimmable, !nodes[i..<j].contains(where: { $0.inputs != nil }) else { continue }
            let units = nodes[i].weightShape[0]
            let inWidth = nodes[i].weight!.count / units
            let nextUnits = nodes[j].weightShape[0]
            let nextWidth = nodes[j].weight!.count / nextUnits
            // Inputs of the next layer fed by one unit: kernel area for conv→conv, h·w after a flatten.
            let block = nodes[j].op == .conv2d ? nodes[j].weightShape[2] * nodes[j].weightShape[3] : nextWidth / units
            guard block * units == nextWidth || nodes[j].op == .conv2d else { continue }
            var keep: [Int] = []
            for u in 0..<units {
                let incoming = (0..<inWidth).contains { nodes[i].weight![u * inWidth + $0] != 0 }
                let bias = (nodes[i].bias?[u] ?? 0) != 0
                let outgoing = (0..<nextUnits).contains { o in (0..<block).contains { nodes[j].weight![o * nextWidth + u * block + $0] != 0 } }
                // A unit with only a bias feeds a constant into the next layer: keep it then.
                if outgoing && (incoming || bias) { keep.append(u) }
            }
            guard keep.count < units else { continue }
            let own = nodes[i].weight!, next = nodes[j].weight!
            var trimmed: [Float] = []
            for u in keep { trimmed += own[(u * inWidth)..<((u + 1) * inWidth)] }
            nodes[i].weight = trimmed
            nodes[i].bias = nodes[i].bias.map { b in keep.map { b[$0] } }
            nodes[i].weightShape[0] = keep.count
            var nextTrimmed: [Float] = []
            for o in 0..<nextUnits {
                for u in keep {
                    let start = o * nextWidth + u * block
                    nextTrimmed += next[start..<(start + block)]
                }
            }
            nodes[j].weight = nextTrimmed
            if nodes[j].op == .conv2d { nodes[j].weightShape[1] = keep.count } else { nodes[j].weightShape[1] = keep.count * block }
        }
    }
}
