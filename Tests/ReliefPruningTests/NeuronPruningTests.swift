import ReliefPruning
import ReliefRandom
import ReliefTraining
import Testing

/// Wolfe et al.'s neuron pruning on small networks: the brute-force ΔE is the loss difference, the
/// first- and second-order estimates equal finite differences where the diagonal is exact.
@Suite struct NeuronPruningTests {
    /// 6 inputs → 5 → 4 → 3 classes, seeded, with 40 seeded examples.
    static func network(seed: UInt64) -> (Sequential, Tensor, [Int]) {
        var g = SeededGenerator(seed: seed)
        let model = Sequential(name: "mlp", inputShape: [6], classes: 3, layers: [
            Linear(name: "fc1", inFeatures: 6, outFeatures: 5), ReLU(name: "relu1"),
            Linear(name: "fc2", inFeatures: 5, outFeatures: 4), ReLU(name: "relu2"),
            Linear(name: "fc3", inFeatures: 4, outFeatures: 3)])
        for p in model.parameters { for i in 0..<p.count { p.value[i] = g.normal() * 0.8 + (p.kind == .bias ? 0.3 : 0) } }
        let x = Tensor(shape: [40, 6], data: (0..<240).map { _ in g.normal() })
        let labels = (0..<40).map { _ in Int(g.next() % 3) }
        return (model, x, labels)
    }

    @Test func bruteForceIsTheLossDifference() throws {
        let (model, x, labels) = Self.network(seed: 1)
        let pruner = try NeuronPruner(model: model, data: x, labels: labels)
        let base = pruner.evaluate().loss
        for e in pruner.estimates(.bruteForce) {
            #expect(abs(pruner.loss(scalingLayer: e.layer, unit: e.unit, by: 0) - base - e.delta) < 1e-6, "layer \(e.layer) unit \(e.unit)")
        }
        // And removing it for real (masks) gives that loss.
        let first = pruner.estimates(.bruteForce)[0]
        pruner.remove(layer: first.layer, unit: first.unit)
        #expect(abs(pruner.evaluate().loss - (base + first.delta)) < 1e-6)
        let y = model.forward(x, training: false)
        #expect(y.data.count == 120)
    }

    /// −O·∂E/∂O is minus the derivative of E under scaling the neuron's output by (1 + t), at t = 0.
    @Test func firstOrderEqualsFiniteDifferences() throws {
        for seed in [2, 3] as [UInt64] {
            let (model, x, labels) = Self.network(seed: seed)
            let pruner = try NeuronPruner(model: model, data: x, labels: labels)
            // A small step: a larger one crosses the kinks of later ReLUs.
            let eps: Float = 1e-3
            for e in pruner.estimates(.firstOrder) {
                let plus = pruner.loss(scalingLayer: e.layer, unit: e.unit, by: 1 + eps)
                let minus = pruner.loss(scalingLayer: e.layer, unit: e.unit, by: 1 - eps)
                let derivative = (plus - minus) / (2 * Double(eps))
                #expect(abs(-derivative - e.delta) <= 1e-3 * max(1, abs(e.delta)) + 2e-4, "seed \(seed), layer \(e.layer) unit \(e.unit): \(e.delta) vs \(-derivative)")
            }
        }
    }

    /// With one outgoing weight per last-layer neuron the diagonal second derivative is exact:
    /// the second-order term ½·Σ O²·∂²E/∂O² equals ½·d²E/dt² of the scaled output.
    @Test func secondOrderEqualsFiniteDifferencesWhereTheDiagonalIsExact() throws {
        let (model, x, labels) = Self.network(seed: 4)
        let fc3 = model.layers.compactMap { $0 as? Linear }[2]
        for j in 0..<3 { for u in 0..<4 where u % 3 != j { fc3.weight.value[j * 4 + u] = 0 } }
        let pruner = try NeuronPruner(model: model, data: x, labels: labels)
        let first = pruner.estimates(.firstOrder), second = pruner.estimates(.secondOrder)
        let eps: Float = 2e-2
        for (a, b) in zip(first, second) where a.layer == 1 {
            let base = pruner.loss(scalingLayer: a.layer, unit: a.unit, by: 1)
            let plus = pruner.loss(scalingLayer: a.layer, unit: a.unit, by: 1 + eps)
            let minus = pruner.loss(scalingLayer: a.layer, unit: a.unit, by: 1 - eps)
            let curvature = (plus - 2 * base + minus) / Double(eps * eps)
            #expect(abs((b.delta - a.delta) - 0.5 * curvature) <= 2e-3 * max(1e-2, abs(curvature)) + 1e-5, "unit \(a.unit): \(b.delta - a.delta) vs \(0.5 * curvature)")
        }
    }

    @Test func algorithmsStopWhereTold() throws {
        for algorithm in [NeuronPruner.Algorithm.rankOnce, .rerank] {
            for method in NeuronPruner.Estimate.allCases {
                let (model, x, labels) = Self.network(seed: 5)
                let pruner = try NeuronPruner(model: model, data: x, labels: labels)
                #expect(pruner.hiddenNeurons == 9)
                let removed = pruner.run(method, algorithm: algorithm, stop: .init(count: 3))
                #expect(removed.count == 3 && pruner.liveNeurons == 6, "\(method) \(algorithm)")
                let start = try NeuronPruner(model: Self.network(seed: 5).0, data: x, labels: labels).evaluate().accuracy
                let limited = try NeuronPruner(model: Self.network(seed: 5).0, data: x, labels: labels)
                let kept = limited.run(method, algorithm: algorithm, stop: .init(maxAccuracyDrop: 0.05))
                #expect(start - limited.evaluate().accuracy <= 0.05 + 1e-9)
                #expect(kept.count < 9)
            }
        }
        // Brute force with re-ranking removes, at each step, the neuron whose removal hurts least.
        let (model, x, labels) = Self.network(seed: 6)
        let pruner = try NeuronPruner(model: model, data: x, labels: labels)
        let best = pruner.estimates(.bruteForce).min { $0.delta < $1.delta }!
        let removed = pruner.run(.bruteForce, algorithm: .rerank, stop: .init(count: 1))
        #expect(removed.first?.unit == best.unit)
    }
}
