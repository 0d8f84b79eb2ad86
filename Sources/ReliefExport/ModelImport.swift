import ReliefFormat
import ReliefTraining

extension ModelExport {
    /// An `.rlf` chain model rebuilt from the training engine's layers: the reference against which
    /// `relief-export --check` compares an export (and, later, the runtime is checked).
    public static func sequential(from model: RLFModel) throws(ExportError) -> Sequential {
        let a = model.metadata.architecture
        var layers: [Layer] = []
        var shape = a.input.shape
        for l in a.layers {
            guard let op = RLFMetadata.Operator(rawValue: l.op) else { throw .unsupportedLayer(l.name) }
            switch op {
            case .linear:
                let w = model.tensor(named: l.weight!)!
                let lin = Linear(name: l.name, inFeatures: w.shape[1], outFeatures: w.shape[0], bias: l.bias != nil)
                lin.weight.value = w.denseValues()
                if let b = l.bias { lin.bias!.value = model.tensor(named: b)!.denseValues() }
                layers.append(lin)
            case .conv2d:
                let w = model.tensor(named: l.weight!)!
                guard w.shape[2] == w.shape[3], let s = l.stride, let p = l.padding, s[0] == s[1], p[0] == p[1] else {
                    throw .unsupportedLayer(l.name)
                }
                let conv = Conv2d(name: l.name, inChannels: w.shape[1], outChannels: w.shape[0], kernel: w.shape[2],
                                  stride: s[0], padding: p[0], bias: l.bias != nil)
                conv.weight.value = w.denseValues()
                if let b = l.bias { conv.bias!.value = model.tensor(named: b)!.denseValues() }
                layers.append(conv)
            case .relu: layers.append(ReLU(name: l.name))
            case .maxpool2d, .avgpool2d:
                guard let k = l.kernel, k[0] == k[1] else { throw .unsupportedLayer(l.name) }
                let s = l.stride ?? k, p = l.padding ?? [0, 0]
                layers.append(op == .maxpool2d ? MaxPool2d(name: l.name, kernel: k[0], stride: s[0], padding: p[0])
                                               : AvgPool2d(name: l.name, kernel: k[0], stride: s[0], padding: p[0]))
            case .globalavgpool2d: layers.append(GlobalAvgPool2d(name: l.name))
            case .flatten: layers.append(Flatten(name: l.name))
            case .softmax, .add, .shortcut: throw .unsupportedLayer(l.name)
            }
            shape = l.outputShape
        }
        return Sequential(name: a.name, inputShape: a.input.shape, classes: shape.reduce(1, *), layers: layers)
    }
}
