import Foundation
import ReliefData
import ReliefPruning
import ReliefRandom
import ReliefTraining
import Testing

/// A separable toy data set of 28x28 images: class k has a bright band at row 2k, plus noise.
func toyDataset(seed: UInt64) -> Dataset {
    func set(_ count: Int, _ seed: UInt64) -> ImageSet {
        var g = SeededGenerator(seed: seed)
        var pixels = [UInt8](repeating: 0, count: count * 784)
        var labels: [UInt8] = []
        for i in 0..<count {
            let k = Int(g.next() % 10)
            labels.append(UInt8(k))
            for p in 0..<784 { pixels[i * 784 + p] = UInt8(g.next() % 40) }
            for c in 0..<28 { pixels[i * 784 + 2 * k * 28 + c] = 200 }
        }
        return ImageSet(channels: 1, height: 28, width: 28, pixels: pixels, labels: labels, classCount: 10)
    }
    return Dataset(name: .mnist, train: set(300, seed), test: set(100, seed + 1), classNames: (0...9).map(String.init))
}

@Suite struct IterativePruningTests {
    func recipe(_ method: PruningRecipe.Method) -> PruningRecipe {
        var r = PruningRecipe(model: "lenet-300-100", dataset: "mnist")
        r.method = method
        r.iterations = 2
        r.retrainEpochs = 1
        r.batchSize = 50
        r.pruningSetSize = 100
        r.keepFraction = 0.3
        return r
    }

    func trained(_ d: Dataset) throws -> Sequential {
        let model = try ModelZoo.make("lenet-300-100", seed: 1)
        var c = TrainingConfig(model: "lenet-300-100", dataset: "mnist", epochs: 2)
        c.batchSize = 50
        let t = try Trainer(model: model, config: c, train: d.train, test: d.test, pipeline: .standard(for: .mnist))
        _ = t.runEpoch()
        _ = t.runEpoch()
        return model
    }

    @Test(arguments: PruningRecipe.Method.allCases)
    func eachMethodPrunesAndKeepsAccuracy(method: PruningRecipe.Method) throws {
        let d = toyDataset(seed: 7)
        let model = try trained(d)
        let p = try IterativePruning(recipe: recipe(method), model: model, dataset: d, initialValues: [:])
        let start = try p.currentRecord(iteration: 0)
        let first = try p.runIteration(1)
        let second = try p.runIteration(2)
        #expect(first.remainingFraction < 1 && second.remainingFraction < first.remainingFraction, "\(method)")
        // The best retraining epoch is kept, so accuracy never falls below the pruned model's.
        #expect(second.accuracy >= second.prunedAccuracy)
        #expect(start.accuracy > 0.9, "the toy problem should be learnt (seed 7)")
        if method != .relief {
            #expect(abs(first.remainingFraction - 0.3) < 0.01, "\(method): \(first.remainingFraction)")
        }
        for p in model.prunableParameters { #expect(zip(p.value, p.mask!).allSatisfy { $1 != 0 || $0 == 0 }) }
    }

    @Test func rewindingRestoresInitialValuesOfSurvivors() throws {
        let d = toyDataset(seed: 8)
        let model = try trained(d)
        let initial = Dictionary(uniqueKeysWithValues: try ModelZoo.make("lenet-300-100", seed: 1).parameters.map { ($0.name, $0.value) })
        var r = recipe(.magnitude)
        r.rewind = true
        r.retrainEpochs = 0
        let p = try IterativePruning(recipe: r, model: model, dataset: d, initialValues: initial)
        _ = try p.runIteration(1)
        for param in model.prunableParameters {
            let init0 = initial[param.name]!
            #expect(zip(zip(param.value, param.mask!), init0).allSatisfy { pair, i in pair.1 == 0 ? pair.0 == 0 : pair.0 == i })
        }
    }

    @Test func recipesDecodeWithDefaultsAndValidate() throws {
        let r = try JSONDecoder().decode(PruningRecipe.self, from: Data(#"{"model": "lenet-5", "dataset": "mnist", "iterations": 3}"#.utf8))
        #expect(r.iterations == 3 && r.alphaLinear == 0.95 && r.method == .relief && r.convolutionRule == .paper)
        var bad = r
        bad.alphaLinear = 1.5
        #expect(throws: PruningError.self) { try bad.validate() }
        #expect(throws: (any Error).self) { try JSONDecoder().decode(PruningRecipe.self, from: Data(#"{"model": "lenet-5"}"#.utf8)) }
    }
}
