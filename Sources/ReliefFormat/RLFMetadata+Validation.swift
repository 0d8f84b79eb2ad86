extension RLFMetadata {
    /// Largest single dimension the graph may use.
    static let maxDimension = Int(Int32.max)

    /// Checks the graph against itself and the file's tensors: names, inputs, operator fields,
    /// tensor shapes, and every layer's declared output shape against the one inferred.
    ///
    /// - Parameter tensorShapes: the shape of every tensor in the file, by name.
    /// - Returns: the inferred output shape of every layer, by name.
    @discardableResult
    public func validate(tensorShapes: [String: [Int]]) throws(RLFError) -> [String: [Int]] {
        let arch = architecture
        try Self.validateInput(arch.input)
        var shapes: [String: [Int]] = ["input": arch.input.shape]
        for layer in arch.layers {
            guard !layer.name.isEmpty, layer.name != "input" else { throw .invalidLayerName(layer.name) }
            guard shapes[layer.name] == nil else { throw .duplicateLayerName(layer.name) }
            guard let op = Operator(rawValue: layer.op) else { throw .unknownOperator(layer: layer.name, op: layer.op) }
            var inputShapes: [[Int]] = []
            for input in layer.inputs {
                guard let s = shapes[input] else { throw .unknownLayerInput(layer: layer.name, input: input) }
                inputShapes.append(s)
            }
            let inferred = try Self.outputShape(of: layer, op: op, inputs: inputShapes, tensorShapes: tensorShapes)
            guard inferred == layer.outputShape else {
                throw .layerShapeMismatch(layer: layer.name, declared: layer.outputShape, inferred: inferred)
            }
            shapes[layer.name] = inferred
        }
        guard let out = shapes[arch.output], arch.output != "input" || arch.layers.isEmpty else {
            throw .unknownOutputLayer(arch.output)
        }
        let outputs = out.reduce(1, *)
        guard arch.classNames.isEmpty || arch.classNames.count == outputs else {
            throw .classCountMismatch(classes: arch.classNames.count, outputs: outputs)
        }
        return shapes
    }

    private static func validateInput(_ input: Input) throws(RLFError) {
        guard (1...3).contains(input.shape.count) else {
            throw .invalidInputSpec(reason: "shape must have 1 to 3 dimensions, has \(input.shape.count)")
        }
        guard input.shape.allSatisfy({ (1...maxDimension).contains($0) }) else {
            throw .invalidInputSpec(reason: "dimensions must be from 1 to \(maxDimension), found \(input.shape)")
        }
        let n = input.normalization
        let channels = input.shape.count == 3 ? input.shape[0] : 1
        guard n.mean.count == 1 || n.mean.count == channels, n.std.count == n.mean.count else {
            throw .invalidInputSpec(reason: "normalization needs 1 or \(channels) means and as many stds, has \(n.mean.count) and \(n.std.count)")
        }
        guard n.scale.isFinite, n.scale > 0, n.mean.allSatisfy(\.isFinite), n.std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .invalidInputSpec(reason: "normalization scale and stds must be finite and positive, means finite")
        }
    }

    private static func outputShape(of layer: Layer, op: Operator, inputs: [[Int]],
                                     tensorShapes: [String: [Int]]) throws(RLFError) -> [Int] {
        let name = layer.name
        let expectedInputs = op == .add ? 2 : 1
        guard inputs.count == expectedInputs else {
            throw .wrongInputCount(layer: name, expected: expectedInputs, found: inputs.count)
        }
        let s = inputs[0]

        func tensor(_ tensorName: String?, _ field: String) throws(RLFError) -> [Int] {
            guard let tensorName else {
                throw .invalidLayerAttribute(layer: name, attribute: field, reason: "is required for \(op.rawValue)")
            }
            guard let shape = tensorShapes[tensorName] else { throw .missingTensor(layer: name, tensor: tensorName) }
            return shape
        }
        func expectShape(_ tensorName: String, _ found: [Int], _ expected: [Int]) throws(RLFError) {
            guard found == expected else {
                throw .tensorShapeMismatch(layer: name, tensor: tensorName, expected: expected, found: found)
            }
        }
        func pair(_ value: [Int]?, _ field: String, minimum: Int, default fallback: [Int]? = nil) throws(RLFError) -> [Int] {
            guard let v = value ?? fallback else {
                throw .invalidLayerAttribute(layer: name, attribute: field, reason: "is required for \(op.rawValue)")
            }
            guard v.count == 2, v.allSatisfy({ (minimum...maxDimension).contains($0) }) else {
                throw .invalidLayerAttribute(layer: name, attribute: field, reason: "must be two numbers from \(minimum) to \(maxDimension), found \(v)")
            }
            return v
        }
        func chw() throws(RLFError) -> (Int, Int, Int) {
            guard s.count == 3 else {
                throw .incompatibleInputShape(layer: name, reason: "\(op.rawValue) needs a [C, H, W] input, found \(s)")
            }
            return (s[0], s[1], s[2])
        }
        // Sliding-window output size, or nil when the window does not fit.
        func windows(_ size: Int, kernel: Int, stride: Int, pad: Int) -> Int? {
            let span = size + 2 * pad - kernel   // sizes are bounded by Int32.max, so no overflow
            return span < 0 ? nil : span / stride + 1
        }
        func spatial(_ h: Int, _ w: Int, kernel k: [Int], stride st: [Int], padding p: [Int]) throws(RLFError) -> (Int, Int) {
            guard let oh = windows(h, kernel: k[0], stride: st[0], pad: p[0]),
                  let ow = windows(w, kernel: k[1], stride: st[1], pad: p[1]) else {
                throw .incompatibleInputShape(layer: name, reason: "window \(k) with padding \(p) does not fit a \(h)x\(w) input")
            }
            return (oh, ow)
        }

        switch op {
        case .linear:
            guard s.count == 1 else {
                throw .incompatibleInputShape(layer: name, reason: "linear needs a flat [F] input, found \(s)")
            }
            let weightName = layer.weight ?? ""
            let w = try tensor(layer.weight, "weight")
            guard w.count == 2 else {
                throw .tensorShapeMismatch(layer: name, tensor: weightName, expected: [-1, s[0]], found: w)
            }
            try expectShape(weightName, w, [w[0], s[0]])
            if let b = layer.bias { try expectShape(b, try tensor(b, "bias"), [w[0]]) }
            return [w[0]]
        case .conv2d:
            let (c, h, wd) = try chw()
            let weightName = layer.weight ?? ""
            let w = try tensor(layer.weight, "weight")
            guard w.count == 4, w[0] >= 1, w[2] >= 1, w[3] >= 1 else {
                throw .tensorShapeMismatch(layer: name, tensor: weightName, expected: [-1, c, -1, -1], found: w)
            }
            try expectShape(weightName, w, [w[0], c, w[2], w[3]])
            if let b = layer.bias { try expectShape(b, try tensor(b, "bias"), [w[0]]) }
            let st = try pair(layer.stride, "stride", minimum: 1, default: [1, 1])
            let p = try pair(layer.padding, "padding", minimum: 0, default: [0, 0])
            let (oh, ow) = try spatial(h, wd, kernel: [w[2], w[3]], stride: st, padding: p)
            return [w[0], oh, ow]
        case .maxpool2d, .avgpool2d:
            let (c, h, w) = try chw()
            let k = try pair(layer.kernel, "kernel", minimum: 1)
            let st = try pair(layer.stride, "stride", minimum: 1, default: k)
            let p = try pair(layer.padding, "padding", minimum: 0, default: [0, 0])
            guard 2 * p[0] <= k[0], 2 * p[1] <= k[1] else {
                throw .invalidLayerAttribute(layer: name, attribute: "padding", reason: "must be at most half the kernel, found \(p) for \(k)")
            }
            let (oh, ow) = try spatial(h, w, kernel: k, stride: st, padding: p)
            return [c, oh, ow]
        case .globalavgpool2d:
            let (c, _, _) = try chw()
            return [c]
        case .relu, .softmax:
            return s
        case .flatten:
            var n = 1
            for d in s {
                let (p, overflow) = n.multipliedReportingOverflow(by: d)
                guard !overflow, p <= maxDimension else {
                    throw .incompatibleInputShape(layer: name, reason: "flattening \(s) overflows")
                }
                n = p
            }
            return [n]
        case .add:
            guard inputs[0] == inputs[1] else {
                throw .incompatibleInputShape(layer: name, reason: "add needs equal shapes, found \(inputs[0]) and \(inputs[1])")
            }
            return s
        case .shortcut:
            let (c, h, w) = try chw()
            let st = try pair(layer.stride, "stride", minimum: 1)
            guard let out = layer.outChannels, (c...maxDimension).contains(out), (out - c) % 2 == 0 else {
                throw .invalidLayerAttribute(layer: name, attribute: "outChannels",
                                             reason: "must be at least the \(c) input channels, with an even difference; found \(layer.outChannels.map(String.init) ?? "nothing")")
            }
            return [out, (h + st[0] - 1) / st[0], (w + st[1] - 1) / st[1]]
        }
    }
}
