import ReliefTraining

/// One NNrelief pruning step, updating the masks in place: convolutions scored on one forward pass
/// of the pruning set and pruned, then fully connected layers scored on a forward pass after that
/// and pruned (as the authors do), then the structural clean-up: dead units and units without
/// outgoing connections lose their incoming connections. In residual networks (CIFAR ResNets) the
/// block convolutions are scored on their own inputs, and the residual rule compares each channel's
/// branch with its shortcut: the side carrying less than 1 − α_conv of their sum is cut (the whole
/// filter of the block's second convolution, or the shortcut of that channel).
public struct ReliefPruner: Sendable {
    public var alphaConvolution: Double
    public var alphaLinear: Double
    public var rule: ReliefScores.ConvolutionRule

    public init(alphaConvolution: Double = 0.9, alphaLinear: Double = 0.95, rule: ReliefScores.ConvolutionRule = .paper) {
        self.alphaConvolution = alphaConvolution
        self.alphaLinear = alphaLinear
        self.rule = rule
    }

    public func prune(_ model: Sequential, pruningSet x: Tensor) throws(PruningError) {
        let layers = try PrunableLayers.of(model)
        PrunableLayers.ensureMasks(model)
        for convolutions in [true, false] {
            let inputs = PrunableLayers.layerInputs(model, x)
            let blocks = convolutions ? ResidualRule.internals(model, inputs: inputs) : [:]
            for l in layers where l.isConvolution == convolutions {
                let scores: [[Double]]
                if let conv = l.layer as? Conv2d {
                    let input = l.position == 2 ? blocks[l.index]!.conv2Input : inputs[l.index]
                    scores = ReliefScores.convolution(conv, inputs: input, rule: rule)
                } else {
                    let lin = l.layer as! Linear
                    scores = ReliefScores.linear(weight: lin.weight.value, bias: lin.bias?.value, outFeatures: lin.outFeatures,
                                                 inFeatures: lin.inFeatures, inputs: inputs[l.index].reshaped([x.batch, lin.inFeatures]))
                }
                Self.select(l, scores: scores, alpha: convolutions ? alphaConvolution : alphaLinear)
                if l.position == 2, let r = l.block, let internals = blocks[l.index] {
                    ResidualRule.apply(r, internals, alpha: alphaConvolution)
                }
            }
        }
        StructuralCleanup.run(model, layers: layers, pruningSet: x)
    }

    /// Applies the selection rule to every unit of a layer and writes the masks.
    static func select(_ l: PrunableLayer, scores: [[Double]], alpha: Double) {
        let k = l.connectionSize
        for j in 0..<l.units {
            var alive = (0..<l.inputs).map { i in (0..<k).contains { l.weight.mask![(j * l.inputs + i) * k + $0] != 0 } }
            alive.append(l.bias.map { $0.mask![j] != 0 } ?? false)
            let keep = ReliefSelection.keep(scores: scores[j], alive: alive, alpha: alpha)
            for i in 0..<l.inputs where !keep[i] {
                for t in 0..<k { l.weight.mask![(j * l.inputs + i) * k + t] = 0 }
            }
            if let b = l.bias, !keep[l.inputs] { b.mask![j] = 0 }
        }
        l.weight.applyMask()
        l.bias?.applyMask()
    }
}

/// The clean-up after pruning (and the rule the authors apply in their code).
enum StructuralCleanup {
    static func run(_ model: Sequential, layers: [PrunableLayer], pruningSet x: Tensor) {
        removeDeadUnits(model, layers: layers, pruningSet: x)
        removeUnitsWithoutOutputs(layers)
        for p in model.parameters { p.applyMask() }
    }

    /// A unit whose post-activation output is zero on every example loses its incoming weights and
    /// bias (and batch-norm parameters). The output layer is exempt.
    static func removeDeadUnits(_ model: Sequential, layers: [PrunableLayer], pruningSet x: Tensor) {
        let inputs = PrunableLayers.layerInputs(model, x)
        let blocks = ResidualRule.internals(model, inputs: inputs)
        for l in layers.dropLast() {
            if let internals = blocks[l.index], l.block != nil {
                // A block's first convolution feeds only its second, through relu1: check that activation.
                guard l.position == 1 else { continue }
                let activation = internals.conv2Input
                let perUnit = activation.exampleSize / l.units
                for u in 0..<l.units where !(0..<activation.batch).contains(where: { s in
                    (0..<perUnit).contains { activation.data[s * activation.exampleSize + u * perUnit + $0] != 0 } }) {
                    removeUnit(u, of: l)
                }
                continue
            }
            // The activation after the layer: the output of the first ReLU that follows it.
            guard let reluIndex = model.layers[(l.index + 1)...].firstIndex(where: { $0 is ReLU }) else { continue }
            let activation = inputs[reluIndex + 1]
            let perUnit = activation.exampleSize / l.units
            for u in 0..<l.units {
                var alive = false
                for s in 0..<activation.batch where !alive {
                    let base = s * activation.exampleSize + u * perUnit
                    for p in 0..<perUnit where activation.data[base + p] != 0 { alive = true; break }
                }
                if !alive { removeUnit(u, of: l) }
            }
        }
    }

    /// A unit none of whose outgoing connections survive loses its incoming ones, from the output
    /// layer back to the input.
    static func removeUnitsWithoutOutputs(_ layers: [PrunableLayer]) {
        for (n, l) in layers.enumerated().dropLast().reversed() {
            let next = layers[n + 1]
            // Units feeding the residual stream have other consumers (the shortcuts): only plain
            // chains and a block's first convolution into its second are cleaned up this way.
            let plain = l.block == nil && next.block == nil
            let withinBlock = l.position == 1 && next.position == 2 && l.block === next.block
            guard plain || withinBlock else { continue }
            // Columns of the next layer fed by one unit: 1 for conv→conv and linear→linear, h·w after a flatten.
            let block = next.inputs / l.units
            guard block >= 1, block * l.units == next.inputs else { continue }
            for u in 0..<l.units {
                var used = false
                for j in 0..<next.units where !used {
                    for i in (u * block)..<((u + 1) * block) where !used {
                        let base = (j * next.inputs + i) * next.connectionSize
                        for t in 0..<next.connectionSize where next.weight.mask![base + t] != 0 { used = true; break }
                    }
                }
                if !used { removeUnit(u, of: l) }
            }
        }
    }

    static func removeUnit(_ u: Int, of l: PrunableLayer) {
        let width = l.inputs * l.connectionSize
        for t in 0..<width { l.weight.mask![u * width + t] = 0 }
        l.bias?.mask![u] = 0
        if let norm = l.norm {
            norm.weight.mask![u] = 0
            norm.bias.mask![u] = 0
        }
    }
}

/// Remaining weights, the figure NNrelief reports: nonzero mask entries of convolution and linear
/// weights and biases (batch-norm parameters not counted).
public struct RemainingWeights: Codable, Sendable, Equatable {
    public struct Layer: Codable, Sendable, Equatable {
        public var name: String
        public var remaining: Int
        public var total: Int
        public var fraction: Double { total == 0 ? 1 : Double(remaining) / Double(total) }
    }
    public var layers: [Layer]
    public var remaining: Int { layers.reduce(0) { $0 + $1.remaining } }
    public var total: Int { layers.reduce(0) { $0 + $1.total } }
    public var fraction: Double { total == 0 ? 1 : Double(remaining) / Double(total) }

    public init(_ model: Sequential) {
        var byLayer: [(String, Int, Int)] = []
        for p in model.prunableParameters {
            let layer = String(p.name.split(separator: ".").dropLast().joined(separator: "."))
            let alive = p.mask.map { $0.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } } ?? p.count
            if let k = byLayer.firstIndex(where: { $0.0 == layer }) {
                byLayer[k].1 += alive
                byLayer[k].2 += p.count
            } else {
                byLayer.append((layer, alive, p.count))
            }
        }
        layers = byLayer.map { Layer(name: $0.0, remaining: $0.1, total: $0.2) }
    }
}

/// The residual rule of NNrelief for CIFAR ResNet blocks.
enum ResidualRule {
    /// What one block computes on the pruning set, from one forward pass before pruning.
    struct Internals {
        /// relu1(bn1(conv1(x))): the second convolution's input.
        var conv2Input: Tensor
        /// Per channel, ‖mean_n |bn2(conv2(·))|‖_F and ‖mean_n |shortcut|‖_F over the output map.
        var branch: [Double]
        var shortcut: [Double]
    }

    /// The internals of every residual block, by layer index.
    static func internals(_ model: Sequential, inputs: [Tensor]) -> [Int: Internals] {
        var out: [Int: Internals] = [:]
        for (i, layer) in model.layers.enumerated() {
            guard let r = layer as? ResidualBlock else { continue }
            let x = inputs[i]
            let a1 = r.relu1.forward(r.bn1.forward(r.conv1.forward(x, training: false), training: false), training: false)
            let branch = r.bn2.forward(r.conv2.forward(a1, training: false), training: false)
            let short = r.gated(r.shortcut(x))
            out[i] = Internals(conv2Input: a1, branch: meanMapNorms(branch), shortcut: meanMapNorms(short))
        }
        return out
    }

    /// ‖mean_n |t_c|‖_F per channel of a `[N, C, H, W]` tensor.
    static func meanMapNorms(_ t: Tensor) -> [Double] {
        let (n, c) = (t.shape[0], t.shape[1])
        let plane = t.exampleSize / c
        return (0..<c).map { ch in
            var squares = 0.0
            for p in 0..<plane {
                var sum = 0.0
                for s in 0..<n { sum += Double(abs(t.data[(s * c + ch) * plane + p])) }
                let mean = sum / Double(max(n, 1))
                squares += mean * mean
            }
            return squares.squareRoot()
        }
    }

    /// Cuts, per channel, the side (branch or shortcut) that carries less than 1 − α of their sum.
    static func apply(_ r: ResidualBlock, _ internals: Internals, alpha: Double) {
        let per = r.conv2.weight.count / r.outChannels
        for k in 0..<r.outChannels {
            let b = internals.branch[k], s = internals.shortcut[k]
            guard b + s > 0 else { continue }
            if b / (b + s) < 1 - alpha {
                for t in 0..<per { r.conv2.weight.mask![k * per + t] = 0 }
                r.conv2.bias?.mask![k] = 0
                r.bn2.weight.mask![k] = 0
                r.bn2.bias.mask![k] = 0
            } else if s / (b + s) < 1 - alpha {
                r.shortcutGate.value[k] = 0
            }
        }
        for p in r.parameters { p.applyMask() }
    }
}
