import ReliefFormat

extension ONNXModel {
    /// A Relief model as a standard ONNX graph (opset 13): every weight dense, pruned entries as
    /// zeros, so any ONNX runtime computes exactly Relief's function. Batch size is symbolic ("N").
    public init(exporting model: RLFModel, producerVersion: String) throws(ONNXError) {
        let a = model.metadata.architecture
        var nodes: [Node] = []
        var initializers: [Tensor] = []
        var added = Set<String>()
        func weight(_ name: String?) throws(ONNXError) -> String? {
            guard let name else { return nil }
            guard let t = model.tensor(named: name) else { throw .unsupportedGraph("tensor \(name) is missing") }
            if added.insert(name).inserted { initializers.append(.float(name, t.shape, t.denseValues())) }
            return name
        }
        func ints(_ v: [Int]) -> Attribute { .ints(v.map(Int64.init)) }
        for l in a.layers {
            guard let op = RLFMetadata.Operator(rawValue: l.op) else { throw .unsupportedOperator(l.op, node: l.name) }
            let input = l.inputs
            switch op {
            case .linear:
                let inputs = [input[0], try weight(l.weight)!] + (try weight(l.bias).map { [$0] } ?? [])
                nodes.append(Node(name: l.name, opType: "Gemm", inputs: inputs, outputs: [l.name], attributes: ["transB": .int(1)]))
            case .conv2d:
                let w = model.tensor(named: l.weight ?? "")?.shape ?? []
                let p = l.padding ?? [0, 0]
                let inputs = [input[0], try weight(l.weight)!] + (try weight(l.bias).map { [$0] } ?? [])
                nodes.append(Node(name: l.name, opType: "Conv", inputs: inputs, outputs: [l.name], attributes: [
                    "kernel_shape": ints(Array(w.suffix(2))), "strides": ints(l.stride ?? [1, 1]),
                    "pads": ints([p[0], p[1], p[0], p[1]]), "dilations": ints([1, 1]), "group": .int(1)]))
            case .maxpool2d, .avgpool2d:
                let p = l.padding ?? [0, 0]
                var attributes: [String: Attribute] = ["kernel_shape": ints(l.kernel ?? [1, 1]), "strides": ints(l.stride ?? l.kernel ?? [1, 1]),
                                                       "pads": ints([p[0], p[1], p[0], p[1]])]
                if op == .avgpool2d { attributes["count_include_pad"] = .int(1) }
                nodes.append(Node(name: l.name, opType: op == .maxpool2d ? "MaxPool" : "AveragePool", inputs: [input[0]],
                                  outputs: [l.name], attributes: attributes))
            case .globalavgpool2d:
                nodes.append(Node(name: l.name + "/pool", opType: "GlobalAveragePool", inputs: [input[0]], outputs: [l.name + "/pool"]))
                nodes.append(Node(name: l.name, opType: "Flatten", inputs: [l.name + "/pool"], outputs: [l.name], attributes: ["axis": .int(1)]))
            case .relu: nodes.append(Node(name: l.name, opType: "Relu", inputs: [input[0]], outputs: [l.name]))
            case .softmax: nodes.append(Node(name: l.name, opType: "Softmax", inputs: [input[0]], outputs: [l.name], attributes: ["axis": .int(1)]))
            case .flatten: nodes.append(Node(name: l.name, opType: "Flatten", inputs: [input[0]], outputs: [l.name], attributes: ["axis": .int(1)]))
            case .add: nodes.append(Node(name: l.name, opType: "Add", inputs: Array(input.prefix(2)), outputs: [l.name]))
            case .shortcut:
                // Option A: every stride-th row and column (Slice with steps), channels zero-padded on both sides (Pad).
                let s = l.stride ?? [1, 1]
                let pad = Int64(((l.outChannels ?? l.outputShape[0]) - (a.layers.first { $0.name == input[0] }?.outputShape.first
                                                                          ?? a.input.shape[0])) / 2)
                let prefix = l.name + "/"
                initializers += [.int64(prefix + "starts", [2], [0, 0]), .int64(prefix + "ends", [2], [Int64(Int32.max), Int64(Int32.max)]),
                                 .int64(prefix + "axes", [2], [2, 3]), .int64(prefix + "steps", [2], s.map(Int64.init)),
                                 .int64(prefix + "pads", [8], [0, pad, 0, 0, 0, pad, 0, 0])]
                nodes.append(Node(name: prefix + "slice", opType: "Slice",
                                  inputs: [input[0], prefix + "starts", prefix + "ends", prefix + "axes", prefix + "steps"], outputs: [prefix + "slice"]))
                nodes.append(Node(name: l.name, opType: "Pad", inputs: [prefix + "slice", prefix + "pads"], outputs: [l.name],
                                  attributes: ["mode": .string("constant")]))
            }
        }
        let outputShape = a.layers.first { $0.name == a.output }?.outputShape ?? []
        self.init(producerName: "relief", producerVersion: producerVersion,
                  graph: Graph(name: a.name, nodes: nodes, initializers: initializers,
                               inputs: [ValueInfo(name: "input", shape: [nil] + a.input.shape.map { Optional($0) })],
                               outputs: [ValueInfo(name: a.output, shape: [nil] + outputShape.map { Optional($0) })]))
    }

    /// The ONNX graph as a Relief model: Gemm (or MatMul + Add) as linear, Conv (with a following
    /// BatchNormalization folded in), Relu, MaxPool, AveragePool, GlobalAveragePool, Flatten (or a
    /// Reshape to [N, -1]), Softmax, Add, and Relief's own Slice + Pad shortcut. Dropout and Identity
    /// pass through. Anything else is `ONNXError.unsupportedOperator` naming the operator.
    public func reliefModel(normalization: RLFMetadata.Normalization = .init(scale: 1.0 / 255, mean: [0], std: [1]),
                            toolVersion: String) throws(ONNXError) -> RLFModel {
        let g = graph
        var constants: [String: Tensor] = Dictionary(g.initializers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for n in g.nodes where n.opType == "Constant" {
            if case let .tensor(t)? = n.attributes["value"], let out = n.outputs.first { constants[out] = t }
        }
        guard let input = g.inputs.first(where: { constants[$0.name] == nil }) else { throw .unsupportedGraph("no graph input") }
        let inputShape = input.shape.dropFirst().map { $0 ?? 0 }
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 >= 1 }) else {
            throw .unsupportedGraph("input \(input.name) needs fixed dimensions after the batch, found \(input.shape)")
        }
        var layers: [RLFMetadata.Layer] = []
        var tensors: [RLFTensor] = []
        // ONNX value name → Relief layer name and per-example shape.
        var values: [String: (layer: String, shape: [Int])] = [input.name: ("input", Array(inputShape))]
        var used = Set<String>(["input"])
        func unique(_ base: String) -> String {
            var name = base.isEmpty ? "layer" : base.replacingOccurrences(of: "/", with: ".")
            if name == "input" { name = "input_" }
            var k = 1
            let stem = name
            while used.contains(name) { k += 1; name = "\(stem)_\(k)" }
            used.insert(name)
            return name
        }
        func source(_ n: Node, _ k: Int = 0) throws(ONNXError) -> (layer: String, shape: [Int]) {
            guard k < n.inputs.count, let v = values[n.inputs[k]] else {
                throw .unsupportedGraph("node \(n.name) (\(n.opType)) reads \(k < n.inputs.count ? n.inputs[k] : "a missing input"), which is neither computed before it nor the input")
            }
            return v
        }
        func constant(_ n: Node, _ k: Int) throws(ONNXError) -> Tensor {
            guard k < n.inputs.count, let t = constants[n.inputs[k]] else {
                throw .unsupportedAttribute(node: n.name, reason: "input \(k) of \(n.opType) must be a constant")
            }
            return t
        }
        func ints(_ n: Node, _ key: String, _ fallback: [Int]) -> [Int] { n.ints(key).map { $0.map { Int($0) } } ?? fallback }
        var index = 0
        while index < g.nodes.count {
            let n = g.nodes[index]
            index += 1
            let out = n.outputs.first ?? n.name
            switch n.opType {
            case "Constant": continue
            case "Identity", "Dropout":
                values[out] = try source(n)
            case "Gemm", "MatMul":
                let x = try source(n)
                guard x.shape.count == 1 else { throw .unsupportedGraph("\(n.opType) \(n.name) needs a flat input, found per-example shape \(x.shape)") }
                let b = try constant(n, 1)
                guard b.dims.count == 2, b.dataType == 1 else { throw .unsupportedAttribute(node: n.name, reason: "weight must be a 2-D float tensor") }
                var w: [Float], rows: Int, columns: Int
                let transB = n.opType == "Gemm" ? (n.int("transB") ?? 0) : 0
                guard (n.int("transA") ?? 0) == 0, (n.float("alpha") ?? 1) == 1, (n.float("beta") ?? 1) == 1 else {
                    throw .unsupportedAttribute(node: n.name, reason: "only Gemm with transA 0, alpha 1 and beta 1")
                }
                if transB == 1 {
                    (rows, columns, w) = (b.dims[0], b.dims[1], b.floats)
                } else {
                    (rows, columns) = (b.dims[1], b.dims[0])
                    w = [Float](repeating: 0, count: rows * columns)
                    for i in 0..<columns { for o in 0..<rows { w[o * columns + i] = b.floats[i * rows + o] } }
                }
                guard columns == x.shape[0] else { throw .unsupportedGraph("\(n.name): weight has \(columns) inputs, the layer receives \(x.shape[0])") }
                var bias: [Float]? = nil
                if n.opType == "Gemm", n.inputs.count > 2, !n.inputs[2].isEmpty {
                    let c = try constant(n, 2)
                    guard c.floats.count == rows else { throw .unsupportedAttribute(node: n.name, reason: "bias must have \(rows) values") }
                    bias = c.floats
                }
                var output = out
                // MatMul followed by Add of a constant vector: one linear layer.
                if n.opType == "MatMul", index < g.nodes.count, g.nodes[index].opType == "Add", g.nodes[index].inputs.contains(out),
                   let c = g.nodes[index].inputs.first(where: { $0 != out }).flatMap({ constants[$0] }), c.floats.count == rows {
                    bias = c.floats
                    output = g.nodes[index].outputs.first ?? output
                    index += 1
                }
                let name = unique(n.name)
                tensors.append(RLFTensor(name: name + ".weight", shape: [rows, columns], values: w))
                if let bias { tensors.append(RLFTensor(name: name + ".bias", shape: [rows], values: bias)) }
                layers.append(.init(name: name, op: .linear, inputs: [x.layer], outputShape: [rows], weight: name + ".weight",
                                    bias: bias == nil ? nil : name + ".bias"))
                values[output] = (name, [rows])
            case "Conv":
                let x = try source(n)
                let w = try constant(n, 1)
                guard x.shape.count == 3, w.dims.count == 4, w.dims[1] == x.shape[0] else {
                    throw .unsupportedGraph("Conv \(n.name): weight \(w.dims) does not fit input \(x.shape)")
                }
                guard (n.int("group") ?? 1) == 1, ints(n, "dilations", [1, 1]) == [1, 1] else {
                    throw .unsupportedAttribute(node: n.name, reason: "only group 1 and dilation 1")
                }
                if let autoPad = n.attributes["auto_pad"], autoPad != .string("NOTSET") {
                    throw .unsupportedAttribute(node: n.name, reason: "auto_pad is not supported; give pads")
                }
                let pads = ints(n, "pads", [0, 0, 0, 0]), strides = ints(n, "strides", [1, 1])
                guard pads.count == 4, pads[0] == pads[2], pads[1] == pads[3] else {
                    throw .unsupportedAttribute(node: n.name, reason: "asymmetric padding \(pads)")
                }
                var weights = w.floats
                var bias: [Float]? = n.inputs.count > 2 && !n.inputs[2].isEmpty ? try constant(n, 2).floats : nil
                var output = out
                // A BatchNormalization right after: folded into the convolution.
                if index < g.nodes.count, g.nodes[index].opType == "BatchNormalization", g.nodes[index].inputs.first == out {
                    let bn = g.nodes[index]
                    let (scale, shift, mean, variance) = (try constant(bn, 1), try constant(bn, 2), try constant(bn, 3), try constant(bn, 4))
                    let eps = bn.float("epsilon") ?? 1e-5
                    let o = w.dims[0], per = weights.count / max(o, 1)
                    var b = bias ?? [Float](repeating: 0, count: o)
                    for c in 0..<o {
                        let s = scale.floats[c] / (variance.floats[c] + eps).squareRoot()
                        for k in 0..<per { weights[c * per + k] *= s }
                        b[c] = (b[c] - mean.floats[c]) * s + shift.floats[c]
                    }
                    bias = b
                    output = bn.outputs.first ?? output
                    index += 1
                }
                let name = unique(n.name)
                let oh = (x.shape[1] + 2 * pads[0] - w.dims[2]) / strides[0] + 1, ow = (x.shape[2] + 2 * pads[1] - w.dims[3]) / strides[1] + 1
                guard oh >= 1, ow >= 1 else { throw .unsupportedGraph("Conv \(n.name) leaves no output pixels") }
                tensors.append(RLFTensor(name: name + ".weight", shape: w.dims, values: weights))
                if let bias { tensors.append(RLFTensor(name: name + ".bias", shape: [w.dims[0]], values: bias)) }
                layers.append(.init(name: name, op: .conv2d, inputs: [x.layer], outputShape: [w.dims[0], oh, ow], weight: name + ".weight",
                                    bias: bias == nil ? nil : name + ".bias", stride: strides, padding: [pads[0], pads[1]]))
                values[output] = (name, [w.dims[0], oh, ow])
            case "Relu", "Softmax":
                let x = try source(n)
                if n.opType == "Softmax", x.shape.count != 1 || !((n.int("axis") ?? -1) == 1 || (n.int("axis") ?? -1) == -1) {
                    throw .unsupportedAttribute(node: n.name, reason: "Softmax only over the features of a flat input")
                }
                let name = unique(n.name)
                layers.append(.init(name: name, op: n.opType == "Relu" ? .relu : .softmax, inputs: [x.layer], outputShape: x.shape))
                values[out] = (name, x.shape)
            case "MaxPool", "AveragePool":
                let x = try source(n)
                let k = ints(n, "kernel_shape", []), s = ints(n, "strides", k), p = ints(n, "pads", [0, 0, 0, 0])
                guard x.shape.count == 3, k.count == 2, p.count == 4, p[0] == p[2], p[1] == p[3], (n.int("ceil_mode") ?? 0) == 0 else {
                    throw .unsupportedAttribute(node: n.name, reason: "only 2-D pooling with symmetric pads and ceil_mode 0")
                }
                if n.opType == "AveragePool", p != [0, 0, 0, 0], (n.int("count_include_pad") ?? 0) != 1 {
                    throw .unsupportedAttribute(node: n.name, reason: "padded average pooling must count the padding (count_include_pad 1)")
                }
                let name = unique(n.name)
                let shape = [x.shape[0], (x.shape[1] + 2 * p[0] - k[0]) / s[0] + 1, (x.shape[2] + 2 * p[1] - k[1]) / s[1] + 1]
                layers.append(.init(name: name, op: n.opType == "MaxPool" ? .maxpool2d : .avgpool2d, inputs: [x.layer], outputShape: shape,
                                    kernel: k, stride: s, padding: [p[0], p[1]]))
                values[out] = (name, shape)
            case "GlobalAveragePool":
                let x = try source(n)
                guard x.shape.count == 3 else { throw .unsupportedGraph("GlobalAveragePool \(n.name) needs a [C, H, W] input") }
                let name = unique(n.name)
                layers.append(.init(name: name, op: .globalavgpool2d, inputs: [x.layer], outputShape: [x.shape[0]]))
                // ONNX keeps [C, 1, 1]; Relief's [C] is the same values.
                values[out] = (name, [x.shape[0], 1, 1])
            case "Flatten", "Reshape":
                let x = try source(n)
                if n.opType == "Reshape" {
                    let shape = try constant(n, 1).int64s
                    guard shape.count == 2, shape[0] == 0 || shape[0] == -1 || shape[0] == 1, shape[1] == -1 || shape[1] == Int64(x.shape.reduce(1, *)) else {
                        throw .unsupportedAttribute(node: n.name, reason: "only a Reshape to [N, -1] (a flatten)")
                    }
                } else if (n.int("axis") ?? 1) != 1 {
                    throw .unsupportedAttribute(node: n.name, reason: "only Flatten with axis 1")
                }
                let features = x.shape.reduce(1, *)
                if let producer = layers.last(where: { $0.name == x.layer }), producer.op == "globalavgpool2d" {
                    values[out] = (x.layer, [features])
                } else {
                    let name = unique(n.name)
                    layers.append(.init(name: name, op: .flatten, inputs: [x.layer], outputShape: [features]))
                    values[out] = (name, [features])
                }
            case "Add":
                let a = try source(n, 0), b = try source(n, 1)
                guard a.shape == b.shape else { throw .unsupportedGraph("Add \(n.name) of shapes \(a.shape) and \(b.shape)") }
                let name = unique(n.name)
                layers.append(.init(name: name, op: .add, inputs: [a.layer, b.layer], outputShape: a.shape))
                values[out] = (name, a.shape)
            case "Slice":
                // Relief's option-A shortcut: Slice (steps on H and W) then Pad of the channels.
                let x = try source(n)
                let starts = try constant(n, 1).int64s, axes = n.inputs.count > 3 ? try constant(n, 3).int64s : [],
                    steps = n.inputs.count > 4 ? try constant(n, 4).int64s : []
                guard x.shape.count == 3, starts == [0, 0], axes == [2, 3], steps.count == 2, steps.allSatisfy({ $0 >= 1 }),
                      index < g.nodes.count, g.nodes[index].opType == "Pad", g.nodes[index].inputs.first == out else {
                    throw .unsupportedOperator("Slice", node: n.name)
                }
                let pad = g.nodes[index]
                let pads = try constant(pad, 1).int64s
                guard pads.count == 8, pads[1] == pads[5], pads[1] >= 0, pads.enumerated().allSatisfy({ $0.offset == 1 || $0.offset == 5 || $0.element == 0 }) else {
                    throw .unsupportedAttribute(node: pad.name, reason: "only zero padding of the channels, equal on both sides")
                }
                index += 1
                let s = steps.map { Int($0) }
                let name = unique(pad.name)
                let outChannels = x.shape[0] + 2 * Int(pads[1])
                let shape = [outChannels, (x.shape[1] + s[0] - 1) / s[0], (x.shape[2] + s[1] - 1) / s[1]]
                layers.append(.init(name: name, op: .shortcut, inputs: [x.layer], outputShape: shape, stride: s, outChannels: outChannels))
                values[pad.outputs.first ?? pad.name] = (name, shape)
            default:
                throw .unsupportedOperator(n.opType, node: n.name)
            }
        }
        guard let output = g.outputs.first, let result = values[output.name], result.layer != "input" else {
            throw .unsupportedGraph("the graph's output is not computed by a supported layer")
        }
        let architecture = RLFMetadata.Architecture(name: g.name.isEmpty ? "onnx-model" : g.name,
                                                    input: .init(shape: Array(inputShape), normalization: normalization),
                                                    layers: layers, output: result.layer)
        let provenance = RLFMetadata.Provenance(method: "onnx-import", toolVersion: toolVersion,
                                                notes: "imported from ONNX (producer \(producerName) \(producerVersion), opset \(opsetVersion))")
        return RLFModel(metadata: RLFMetadata(architecture: architecture, provenance: provenance), tensors: tensors)
    }
}
