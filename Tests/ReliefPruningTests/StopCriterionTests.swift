import Foundation
import ReliefPruning
import ReliefRandom
import ReliefTraining
import Testing

/// Information Consistent Pruning's flows on small networks, each against a plain computation of
/// its definition, and the stop criterion inside iterative pruning.
@Suite struct StopCriterionTests {
    /// fc1 (4→3) → ReLU → conv-free fc2 (3→3) → ReLU → fc3 (3→2), seeded weights.
    static func mlp(seed: UInt64) -> Sequential {
        let model = Sequential(name: "mlp", inputShape: [4], classes: 2, layers: [
            Linear(name: "fc1", inFeatures: 4, outFeatures: 3), ReLU(name: "relu1"),
            Linear(name: "fc2", inFeatures: 3, outFeatures: 3), ReLU(name: "relu2"),
            Linear(name: "fc3", inFeatures: 3, outFeatures: 2)])
        var g = SeededGenerator(seed: seed)
        for p in model.parameters { p.value = p.value.map { _ in g.normal() } }
        return model
    }

    static func images(_ n: Int, seed: UInt64) -> (Tensor, [Int]) {
        var g = SeededGenerator(seed: seed)
        let x = Tensor(shape: [n, 4], data: (0..<(4 * n)).map { _ in g.normal() })
        return (x, (0..<n).map { $0 % 2 })
    }

    /// Plain forward of a Linear layer on one image, in double precision.
    static func linear(_ l: Linear, _ x: [Double]) -> [Double] {
        (0..<l.outFeatures).map { o in
            (0..<l.inFeatures).reduce(Double(l.bias!.value[o])) { $0 + Double(l.weight.value[o * l.inFeatures + $1]) * x[$1] }
        }
    }

    /// The flow by its definition: full correlation matrices of the standardised units, then means.
    @Test func informationFlowIsTheMeanCorrelationOfConsecutiveLayers() throws {
        let model = Self.mlp(seed: 3)
        let (x, labels) = Self.images(7, seed: 4)
        let fcs = model.layers.compactMap { $0 as? Linear }
        // Outputs of fc1, fc2, fc3 for every image.
        var outputs: [[[Double]]] = [[], [], []]
        for s in 0..<7 {
            let image = (0..<4).map { Double(x.data[s * 4 + $0]) }
            let a1 = Self.linear(fcs[0], image)
            let a2 = Self.linear(fcs[1], a1.map { max($0, 0) })
            let a3 = Self.linear(fcs[2], a2.map { max($0, 0) })
            for (l, a) in [a1, a2, a3].enumerated() { outputs[l].append(a) }
        }
        func standardised(_ a: [[Double]]) -> [[Double]] {
            let units = a[0].count
            var z = a
            for u in 0..<units {
                let mean = a.map { $0[u] }.reduce(0, +) / Double(a.count)
                let sd = max((a.map { ($0[u] - mean) * ($0[u] - mean) }.reduce(0, +) / Double(a.count)).squareRoot(), 1e-6)
                for s in a.indices { z[s][u] = (a[s][u] - mean) / sd }
            }
            return z
        }
        let z = outputs.map(standardised)
        var expected: [Double] = []
        for l in 0..<2 {
            var sum = 0.0
            for i in 0..<z[l][0].count {
                for j in 0..<z[l + 1][0].count {
                    sum += (0..<7).reduce(0.0) { $0 + z[l][$1][i] * z[l + 1][$1][j] } / 7
                }
            }
            expected.append(sum / Double(z[l][0].count * z[l + 1][0].count))
        }
        let flow = try FlowMeter(criterion: .information, images: x, labels: labels, batchSize: 3).flow(of: model)
        #expect(flow.count == 2)
        for (a, b) in zip(flow, expected) { #expect(abs(a - b) < 1e-5, "\(flow) vs \(expected)") }
        // A layer whose units never change (all weights and biases zero) contributes zero correlation.
        for p in fcs[1].parameters { p.value = p.value.map { _ in 0 } }
        let dead = try FlowMeter(criterion: .information, images: x, labels: labels).flow(of: model)
        #expect(dead == [0, 0])
    }

    /// Mean |∂E/∂W| per layer, with ∂E/∂W from central finite differences of the mean loss.
    @Test func gradientFlowMatchesFiniteDifferences() throws {
        let model = Self.mlp(seed: 5)
        let (x, labels) = Self.images(9, seed: 6)
        func loss() -> Double {
            let logits = model.forward(x, training: false)
            return Double(SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels).loss)
        }
        var expected: [Double] = []
        for l in model.layers.compactMap({ $0 as? Linear }) {
            var sum = 0.0
            for i in l.weight.value.indices {
                let v = l.weight.value[i], h: Float = 1e-3
                l.weight.value[i] = v + h
                let up = loss()
                l.weight.value[i] = v - h
                let down = loss()
                l.weight.value[i] = v
                sum += abs((up - down) / Double(2 * h))
            }
            expected.append(sum / Double(l.weight.count))
        }
        // Batches of 4, 4 and 1 images: the flow is of the whole set's mean loss.
        let flow = try FlowMeter(criterion: .gradient, images: x, labels: labels, batchSize: 4).flow(of: model)
        #expect(flow.count == 3)
        for (a, b) in zip(flow, expected) { #expect(abs(a - b) <= 2e-3 * max(abs(b), 1e-3), "\(flow) vs \(expected)") }
    }

    @Test func distanceIsEuclideanAndNaNNeverConverges() {
        #expect(FlowMeter.distance([1, 2, 2], [0, 0, 0]) == 3)
        #expect(FlowMeter.distance([.nan], [0]) == .infinity)
        #expect(FlowMeter.distance([1], [1, 2]) == .infinity)
    }

    /// With a huge ε every iteration stops after one epoch; with a tiny one it runs the whole budget.
    @Test(arguments: [StopCriterion.information, .gradient])
    func retrainingStopsOnceTheFlowIsConsistent(criterion: StopCriterion) throws {
        let d = toyDataset(seed: 12)
        for (epsilon, expectedEpochs) in [(1e9, 1), (1e-12, 3)] {
            let model = try ModelZoo.make("lenet-300-100", seed: 2)
            var r = PruningRecipe(model: "lenet-300-100", dataset: "mnist")
            r.iterations = 1
            r.retrainEpochs = 3
            r.batchSize = 50
            r.pruningSetSize = 100
            r.stopCriterion = criterion
            r.stopEpsilon = epsilon
            let p = try IterativePruning(recipe: r, model: model, dataset: d, initialValues: [:])
            let start = try p.currentRecord(iteration: 0)
            #expect(start.flow?.count == (criterion == .information ? 2 : 3))
            #expect(p.referenceFlow == start.flow)
            let first = try p.runIteration(1)
            #expect(first.epochs == expectedEpochs, "\(criterion), ε \(epsilon)")
            #expect(first.flowDistances?.count == expectedEpochs)
            #expect(first.flow?.count == start.flow?.count)
        }
        // Without the dense network's flow there is nothing to compare with.
        var r = PruningRecipe(model: "lenet-300-100", dataset: "mnist")
        r.stopCriterion = criterion
        r.pruningSetSize = 50
        let p = try IterativePruning(recipe: r, model: try ModelZoo.make("lenet-300-100", seed: 2), dataset: d, initialValues: [:])
        #expect(throws: PruningError.self) { try p.runIteration(1) }
    }

    @Test func recipesCarryTheCriterionAndRefuseBadOnes() throws {
        let yaml = "model: lenet-300-100\ndataset: mnist\nstopCriterion: gradient\nstopEpsilon: 0.25\n"
        let r = try PruningRecipe.decode(yaml, format: .yaml)
        #expect(r.stopCriterion == .gradient && r.stopEpsilon == 0.25)
        var bad = r
        bad.stopEpsilon = 0
        #expect(throws: PruningError.self) { try bad.validate() }
        bad = r
        bad.retrainEpochs = 0
        #expect(throws: PruningError.self) { try bad.validate() }
        #expect(throws: PruningError.self) {
            try PruningRecipe.decode("model: lenet-300-100\ndataset: mnist\nstopCriterion: sometimes\n", format: .yaml)
        }
    }
}
