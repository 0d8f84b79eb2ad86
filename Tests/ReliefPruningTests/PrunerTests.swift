import ReliefPruning
import ReliefRandom
import ReliefTraining
import Testing

@Suite struct PrunerTests {
    /// 3 inputs → 3 hidden (ReLU) → 2 outputs, weights set by hand.
    func tinyMLP() -> (Sequential, Linear, Linear) {
        let fc1 = Linear(name: "fc1", inFeatures: 3, outFeatures: 3)
        let fc2 = Linear(name: "fc2", inFeatures: 3, outFeatures: 2)
        fc1.weight.value = [1, 1, 1,       // hidden 0: alive, but fc2 ignores it
                            -1, -1, -1,    // hidden 1: always negative on positive inputs → dead
                            2, 0.1, 0.1]   // hidden 2: alive and used
        fc1.bias!.value = [0.1, -0.5, 0.1]
        fc2.weight.value = [0, 0, 1,
                            0, 0, -1]
        fc2.bias!.value = [0.01, 0.01]
        let model = Sequential(name: "tiny", inputShape: [3], classes: 2, layers: [fc1, ReLU(name: "r"), fc2])
        return (model, fc1, fc2)
    }

    @Test func deadAndUnusedUnitsLoseTheirInputs() throws {
        let (model, fc1, fc2) = tinyMLP()
        let x = Tensor(shape: [4, 3], data: [1, 2, 3, 0.5, 0.5, 0.5, 2, 0, 1, 1, 1, 1])
        try ReliefPruner(alphaConvolution: 0.9, alphaLinear: 0.95).prune(model, pruningSet: x)
        let m1 = fc1.weight.mask!, b1 = fc1.bias!.mask!
        // Hidden 1 is dead (output always zero): incoming weights and bias pruned.
        #expect(Array(m1[3..<6]) == [0, 0, 0] && b1[1] == 0)
        // Hidden 0 is alive but no output uses it (fc2's weights from it are zero): pruned too.
        #expect(Array(m1[0..<3]) == [0, 0, 0] && b1[0] == 0)
        // Hidden 2 keeps its dominant input: 2·mean|x0| = 2.25 of a total 2.66 (with 0.1·1.125, 0.1·1.375, 0.1).
        #expect(m1[6] == 1)
        // fc2 keeps only its connection from hidden 2; values are zero wherever masks are.
        #expect(fc2.weight.mask! == [0, 0, 1, 0, 0, 1])
        for p in model.prunableParameters { #expect(zip(p.value, p.mask!).allSatisfy { $1 != 0 || $0 == 0 }) }
        let remaining = RemainingWeights(model)
        #expect(remaining.remaining < remaining.total)
    }

    @Test func convolutionKernelsArePrunedWhole() throws {
        let model = try ModelZoo.make("lenet-5", seed: 1)
        var g = SeededGenerator(seed: 2)
        let x = Tensor(shape: [40, 1, 28, 28], data: (0..<(40 * 784)).map { _ in g.unit() })
        try ReliefPruner(alphaConvolution: 0.8, alphaLinear: 0.9).prune(model, pruningSet: x)
        let conv2 = model.layers.compactMap { $0 as? Conv2d }[1]
        let mask = conv2.weight.mask!
        for kernel in 0..<(50 * 20) {
            let entries = Set(mask[(kernel * 25)..<((kernel + 1) * 25)])
            #expect(entries.count == 1, "kernel \(kernel) is partly pruned")
        }
        let r = RemainingWeights(model)
        #expect(r.fraction < 0.9 && r.fraction > 0.05, "remaining \(r.fraction)")
        #expect(r.layers.map(\.name) == ["conv1", "conv2", "fc1", "fc2"])
        // A second iteration prunes further and never revives anything.
        let before = model.prunableParameters.map { $0.mask! }
        try ReliefPruner(alphaConvolution: 0.8, alphaLinear: 0.9).prune(model, pruningSet: x)
        for (p, old) in zip(model.prunableParameters, before) {
            #expect(zip(p.mask!, old).allSatisfy { $1 != 0 || $0 == 0 }, "\(p.name) revived a pruned entry")
        }
        #expect(RemainingWeights(model).remaining < r.remaining)
    }
}

@Suite struct BaselineTests {
    @Test func magnitudeLayerwiseKeepsTheLargest() throws {
        let model = try ModelZoo.make("lenet-300-100", seed: 3)
        try BaselinePruner.magnitudeLayerwise.prune(model, keeping: 0.1)
        for layer in RemainingWeights(model).layers {
            #expect(abs(layer.fraction - 0.1) < 0.001, "\(layer.name): \(layer.fraction)")
        }
        let fc1 = model.parameters.first { $0.name == "fc1.weight" }!
        // Every kept weight is at least as large as every pruned one (compared on the original values).
        let fresh = try ModelZoo.make("lenet-300-100", seed: 3).parameters.first { $0.name == "fc1.weight" }!.value
        let pruned = fc1.mask!.indices.filter { fc1.mask![$0] == 0 }
        #expect(!pruned.isEmpty)
        let largestPruned = pruned.map { abs(fresh[$0]) }.max()!
        #expect(zip(fresh, fc1.mask!).filter { $1 != 0 }.map { abs($0.0) }.min()! >= largestPruned)
    }

    @Test func globalAndRandomReachTheFraction() throws {
        let global = try ModelZoo.make("lenet-5", seed: 4)
        try BaselinePruner.magnitudeGlobal.prune(global, keeping: 0.05)
        #expect(abs(RemainingWeights(global).fraction - 0.05) < 0.0001)
        let random = try ModelZoo.make("lenet-5", seed: 4)
        try BaselinePruner.random(seed: 9).prune(random, keeping: 0.3)
        for layer in RemainingWeights(random).layers { #expect(abs(layer.fraction - 0.3) < 0.01, "\(layer.name)") }
        #expect(throws: PruningError.self) { try BaselinePruner.magnitudeGlobal.prune(global, keeping: 0) }
    }
}
