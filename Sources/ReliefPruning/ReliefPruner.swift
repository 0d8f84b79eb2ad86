import ReliefTraining

/// One NNrelief pruning step on a chain network (LeNets, VGG), updating the masks in place:
/// convolutions scored on one forward pass of the pruning set and pruned, then fully connected
/// layers scored on a forward pass after that and pruned (as the authors do), then the structural
/// clean-up: dead units and units without outgoing connections lose their incoming connections.
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
            for l in layers where l.isConvolution == convolutions {
                let scores: [[Double]]
                if let conv = l.layer as? Conv2d {
                    scores = ReliefScores.convolution(conv, inputs: inputs[l.index], rule: rule)
                } else {
                    let lin = l.layer as! Linear
                    scores = ReliefScores.linear(weight: lin.weight.value, bias: lin.bias?.value, outFeatures: lin.outFeatures,
                                                 inFeatures: lin.inFeatures, inputs: inputs[l.index].reshaped([x.batch, lin.inFeatures]))
                }
                Self.select(l, scores: scores, alpha: convolutions ? alphaConvolution : alphaLinear)
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
        for l in layers.dropLast() {
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
