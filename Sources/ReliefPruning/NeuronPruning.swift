import Foundation
import ReliefKernels
import ReliefTraining

/// Whole-neuron pruning without retraining (Wolfe, Sharma, Drude, Raj; arXiv 1701.04465): rank the
/// hidden neurons of the fully connected part of a network by the change in loss ΔE_k that removing
/// neuron k causes, and remove the least important until a target is reached.
///
/// Neurons are the outputs of every linear layer but the last (after their ReLU). Layers before the
/// first linear layer (convolutions, pooling) are computed once and kept.
public final class NeuronPruner {
    /// How ΔE_k is obtained.
    public enum Estimate: String, Codable, Sendable, CaseIterable {
        /// Exact: a forward pass with the neuron's output set to zero ("brute force").
        case bruteForce = "brute-force"
        /// First order: −O_k · ∂E/∂O_k, summed over the data.
        case firstOrder = "first-order"
        /// Second order: adds ½ · O_k² · ∂²E/∂O_k², from diagonal second-order back-propagation.
        case secondOrder = "second-order"
    }

    /// Algorithm I ranks once; Algorithm II re-ranks after every removal.
    public enum Algorithm: Int, Codable, Sendable { case rankOnce = 1, rerank = 2 }

    /// When to stop removing.
    public struct Stop: Codable, Sendable, Equatable {
        /// Remove at most this many neurons (nil: no limit).
        public var count: Int?
        /// Remove at most this fraction of the hidden neurons.
        public var fraction: Double?
        /// Stop before the accuracy on the ranking data falls more than this below the start (0.005 = half a point).
        public var maxAccuracyDrop: Double?

        public init(count: Int? = nil, fraction: Double? = nil, maxAccuracyDrop: Double? = nil) {
            self.count = count
            self.fraction = fraction
            self.maxAccuracyDrop = maxAccuracyDrop
        }
    }

    /// One removal.
    public struct Removal: Codable, Sendable, Equatable {
        public var layer: String
        public var unit: Int
        /// ΔE_k as estimated when the neuron was chosen.
        public var estimate: Double
        /// Loss and accuracy on the ranking data after the removal.
        public var loss: Double
        public var accuracy: Double
    }

    let model: Sequential
    let linears: [Linear]
    /// Input of the first linear layer, `[N][F]`, and the labels.
    let features: [Float]
    let labels: [Int]
    let count: Int
    /// Per hidden layer, 1 for a live neuron, 0 for a removed one.
    public private(set) var gates: [[Float]]

    /// `x`: the ranking data (normalised inputs, `[N, input shape]`), `labels` its classes.
    public init(model: Sequential, data x: Tensor, labels: [Int]) throws(PruningError) {
        guard let first = model.layers.firstIndex(where: { $0 is Linear }) else {
            throw .unsupportedModel(model.name, reason: "no fully connected layer")
        }
        var linears: [Linear] = []
        for layer in model.layers[first...] {
            switch layer {
            case let l as Linear: linears.append(l)
            case is ReLU, is Dropout, is Flatten: continue
            default: throw .unsupportedModel(model.name, reason: "neuron pruning needs only linear layers and ReLUs after the first linear layer, found \(layer.name)")
            }
        }
        guard linears.count >= 2 else { throw .unsupportedModel(model.name, reason: "no hidden fully connected layer") }
        for (a, b) in zip(linears, linears.dropFirst()) where a.outFeatures != b.inFeatures {
            throw .unsupportedModel(model.name, reason: "\(a.name) feeds \(b.name) through a reshaping layer")
        }
        // Every hidden layer must be followed by a ReLU (the activation the estimates assume).
        for l in linears.dropLast() {
            let i = model.layers.firstIndex { $0 === l }!
            guard model.layers[(i + 1)...].first(where: { !($0 is Dropout) }) is ReLU else {
                throw .unsupportedModel(model.name, reason: "\(l.name) is not followed by a ReLU")
            }
        }
        guard labels.count == x.batch, x.batch > 0 else { throw .invalidOption("\(labels.count) labels for \(x.batch) examples") }
        var h = x
        for layer in model.layers[..<first] { h = layer.forward(h, training: false) }
        self.model = model
        self.linears = linears
        features = h.data
        self.labels = labels
        count = x.batch
        // Neurons already dead (no incoming weights, no bias) start removed? No: they are ranked like the rest.
        gates = linears.dropLast().map { l in
            (0..<l.outFeatures).map { u in
                let mask = l.weight.mask
                let rowAlive = mask == nil || (0..<l.inFeatures).contains { mask![u * l.inFeatures + $0] != 0 }
                let biasAlive = l.bias.map { $0.mask == nil || $0.mask![u] != 0 } ?? false
                return rowAlive || biasAlive ? 1 : 0
            }
        }
    }

    public var hiddenNeurons: Int { gates.reduce(0) { $0 + $1.count } }
    public var liveNeurons: Int { gates.reduce(0) { $0 + $1.reduce(0) { $0 + Int($1) } } }

    // MARK: Forward and backward through the fully connected part

    /// Activations after each hidden layer (gated, `[N][units]`) and the logits.
    func forward(gates: [[Float]]) -> (activations: [[Float]], logits: [Float]) {
        var a = features
        var acts: [[Float]] = []
        for (l, layer) in linears.enumerated() {
            var z = dense(layer, a)
            if l < linears.count - 1 {
                let units = layer.outFeatures
                for n in 0..<count { for u in 0..<units { z[n * units + u] = max(0, z[n * units + u]) * gates[l][u] } }
                acts.append(z)
            }
            a = z
        }
        return (acts, a)
    }

    /// `x · Wᵀ + b` for `[N][in]` x.
    func dense(_ l: Linear, _ x: [Float]) -> [Float] {
        var z = [Float](repeating: 0, count: count * l.outFeatures)
        if let b = l.bias {
            for n in 0..<count { for u in 0..<l.outFeatures { z[n * l.outFeatures + u] = b.value[u] } }
        }
        x.withUnsafeBufferPointer { xp in
            l.weight.value.withUnsafeBufferPointer { wp in
                z.withUnsafeMutableBufferPointer { zp in
                    DenseBLAS.gemm(transposeA: false, transposeB: true, m: count, n: l.outFeatures, k: l.inFeatures,
                                   a: xp.baseAddress!, lda: l.inFeatures, b: wp.baseAddress!, ldb: l.inFeatures,
                                   beta: 1, c: zp.baseAddress!, ldc: l.outFeatures)
                }
            }
        }
        return z
    }

    /// Mean cross-entropy and accuracy of logits `[N][classes]`.
    func lossAndAccuracy(_ logits: [Float]) -> (Double, Double) {
        let k = logits.count / count
        var loss = 0.0, correct = 0
        for n in 0..<count {
            let row = logits[(n * k)..<((n + 1) * k)]
            let m = row.max()!
            let sum = row.reduce(0.0) { $0 + exp(Double($1 - m)) }
            loss += log(sum) - Double(row[n * k + labels[n]] - m)
            if row.firstIndex(of: m)! - n * k == labels[n] { correct += 1 }
        }
        return (loss / Double(count), Double(correct) / Double(count))
    }

    /// Loss and accuracy of the network with the current gates.
    public func evaluate() -> (loss: Double, accuracy: Double) {
        let (l, a) = lossAndAccuracy(forward(gates: gates).logits)
        return (l, a)
    }

    /// The loss with one neuron's output multiplied by `scale` (for finite-difference checks).
    public func loss(scalingLayer l: Int, unit u: Int, by scale: Float) -> Double {
        var g = gates
        g[l][u] *= scale
        return lossAndAccuracy(forward(gates: g).logits).0
    }

    /// ΔE for every live neuron, `[(layer, unit, ΔE)]`.
    public func estimates(_ method: Estimate) -> [(layer: Int, unit: Int, delta: Double)] {
        switch method {
        case .bruteForce: return bruteForce()
        case .firstOrder, .secondOrder: return taylor(secondOrder: method == .secondOrder)
        }
    }

    /// Exact ΔE_k: the loss with neuron k's output zeroed, minus the loss now. The layers before
    /// the neuron's are not recomputed; its removal is a rank-one change of the next layer's input.
    func bruteForce() -> [(layer: Int, unit: Int, delta: Double)] {
        let (acts, logits) = forward(gates: gates)
        let base = lossAndAccuracy(logits).0
        var out: [(Int, Int, Double)] = []
        for l in 0..<gates.count {
            let next = linears[l + 1]
            // Pre-activation of the next layer as it stands.
            let zNext = dense(next, acts[l])
            for u in 0..<gates[l].count where gates[l][u] != 0 {
                var z = zNext
                let units = next.outFeatures, width = next.inFeatures
                for n in 0..<count {
                    let o = acts[l][n * width + u]
                    guard o != 0 else { continue }
                    for j in 0..<units { z[n * units + j] -= next.weight.value[j * width + u] * o }
                }
                // The rest of the network from there.
                var a = z
                for m in (l + 1)..<linears.count {
                    if m < linears.count - 1 {
                        let units = linears[m].outFeatures
                        for n in 0..<count { for j in 0..<units { a[n * units + j] = max(0, a[n * units + j]) * gates[m][j] } }
                        a = dense(linears[m + 1], a)
                    }
                }
                out.append((l, u, lossAndAccuracy(a).0 - base))
            }
        }
        return out
    }

    /// First- and second-order estimates: back-propagate ∂E/∂O and the diagonal ∂²E/∂O² once.
    func taylor(secondOrder: Bool) -> [(layer: Int, unit: Int, delta: Double)] {
        let (acts, logits) = forward(gates: gates)
        let k = logits.count / count
        // At the logits, per example: ∂E/∂x = (p − y)/N; the diagonal ∂²E/∂x² = p(1 − p)/N.
        var g = [Double](repeating: 0, count: count * k), h = g
        for n in 0..<count {
            let row = logits[(n * k)..<((n + 1) * k)]
            let m = row.max()!
            let e = row.map { exp(Double($0 - m)) }
            let s = e.reduce(0, +)
            for i in 0..<k {
                let p = e[i] / s
                g[n * k + i] = (p - (labels[n] == i ? 1 : 0)) / Double(count)
                h[n * k + i] = p * (1 - p) / Double(count)
            }
        }
        var out: [(Int, Int, Double)] = []
        // Walk back through the hidden layers: gradient and curvature at each layer's output O.
        var gradient = g, curvature = h, width = k
        for l in stride(from: gates.count - 1, through: 0, by: -1) {
            let next = linears[l + 1]
            let units = next.inFeatures
            var gO = [Double](repeating: 0, count: count * units), hO = gO
            for n in 0..<count {
                for u in 0..<units {
                    var sg = 0.0, sh = 0.0
                    for j in 0..<width {
                        let w = Double(next.weight.value[j * units + u])
                        sg += gradient[n * width + j] * w
                        sh += curvature[n * width + j] * w * w
                    }
                    gO[n * units + u] = sg
                    hO[n * units + u] = sh
                }
            }
            for u in 0..<units where gates[l][u] != 0 {
                var delta = 0.0
                for n in 0..<count {
                    let o = Double(acts[l][n * units + u])
                    delta += -o * gO[n * units + u] + (secondOrder ? 0.5 * o * o * hO[n * units + u] : 0)
                }
                out.append((l, u, delta))
            }
            // Through the ReLU (σ′ ∈ {0, 1}, σ″ = 0): to the layer's pre-activation.
            for n in 0..<count {
                for u in 0..<units where acts[l][n * units + u] <= 0 {
                    gO[n * units + u] = 0
                    hO[n * units + u] = 0
                }
            }
            (gradient, curvature, width) = (gO, hO, units)
        }
        return out
    }

    /// Removes one neuron: gate closed, incoming weights, bias and outgoing weights masked to zero.
    public func remove(layer l: Int, unit u: Int) {
        gates[l][u] = 0
        let layer = linears[l], next = linears[l + 1]
        for p in [layer.weight, next.weight] + [layer.bias].compactMap({ $0 }) where p.mask == nil {
            p.mask = [Float](repeating: 1, count: p.count)
        }
        for i in 0..<layer.inFeatures { layer.weight.mask![u * layer.inFeatures + i] = 0 }
        layer.bias?.mask![u] = 0
        for j in 0..<next.outFeatures { next.weight.mask![j * next.inFeatures + u] = 0 }
        layer.weight.applyMask()
        layer.bias?.applyMask()
        next.weight.applyMask()
    }

    /// Algorithm I or II with the chosen estimate, until `stop`. Returns the removals in order.
    public func run(_ method: Estimate, algorithm: Algorithm, stop: Stop,
                    progress: (Int) -> Void = { _ in }) -> [Removal] {
        let total = hiddenNeurons
        let start = evaluate()
        var limit = liveNeurons
        if let c = stop.count { limit = min(limit, c) }
        if let f = stop.fraction { limit = min(limit, Int((f * Double(total)).rounded(.down))) }
        var removals: [Removal] = []
        func ranked() -> [(layer: Int, unit: Int, delta: Double)] {
            estimates(method).sorted { ($0.delta, $0.layer, $0.unit) < ($1.delta, $1.layer, $1.unit) }
        }
        var ranking = algorithm == .rankOnce ? ranked() : []
        while removals.count < limit {
            if algorithm == .rerank { ranking = ranked() }
            // The least important live neuron of a layer that keeps at least one other.
            guard let next = ranking.first(where: { gates[$0.layer][$0.unit] != 0 && gates[$0.layer].reduce(0, +) > 1 }) else { break }
            let saved = (gates, linears.flatMap(\.parameters).map { ($0.value, $0.mask) })
            remove(layer: next.layer, unit: next.unit)
            let now = evaluate()
            if let drop = stop.maxAccuracyDrop, start.accuracy - now.accuracy > drop {
                // Undo: this removal would cost too much accuracy.
                gates = saved.0
                for (p, (v, m)) in zip(linears.flatMap(\.parameters), saved.1) { p.value = v; p.mask = m }
                break
            }
            removals.append(Removal(layer: linears[next.layer].name, unit: next.unit, estimate: next.delta, loss: now.loss, accuracy: now.accuracy))
            progress(removals.count)
        }
        return removals
    }
}
