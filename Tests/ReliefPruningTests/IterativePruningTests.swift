import Foundation
import ReliefData
import ReliefPruning
import ReliefRandom
import ReliefTestSupport
import ReliefTraining
import Testing

func toyDataset(seed: UInt64) -> Dataset { ToyData.dataset(seed: seed) }

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

    /// Baselines can follow another run's remaining weights iteration by iteration.
    @Test func baselinesMatchTargetFractions() throws {
        let d = toyDataset(seed: 9)
        var r = recipe(.magnitudeGlobal)
        r.targetFractions = [0.4, 0.15]
        r.retrainEpochs = 0
        let p = try IterativePruning(recipe: r, model: try trained(d), dataset: d, initialValues: [:])
        #expect(abs(try p.runIteration(1).remainingFraction - 0.4) < 0.0001)
        #expect(abs(try p.runIteration(2).remainingFraction - 0.15) < 0.0001)
        var relief = recipe(.relief)
        relief.targetFractions = [0.5, 0.5]
        #expect(throws: PruningError.self) { try relief.validate() }
        r.targetFractions = [0.5]
        #expect(throws: PruningError.self) { try r.validate() }
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

@Suite struct RecipeFileTests {
    @Test func yamlAndJSONRecipesDecodeAlike() throws {
        let yaml = """
        model: lenet-5
        dataset: mnist
        iterations: 4
        retrainEpochs: 3
        alphaLinear: 0.9
        milestones: [2]
        rewind: true
        """
        let fromYAML = try PruningRecipe.decode(yaml, format: .yaml)
        let json = #"{"model": "lenet-5", "dataset": "mnist", "iterations": 4, "retrainEpochs": 3, "alphaLinear": 0.9, "milestones": [2], "rewind": true}"#
        let fromJSON = try PruningRecipe.decode(json, format: .json)
        #expect(fromYAML == fromJSON)
        #expect(fromYAML.iterations == 4 && fromYAML.alphaLinear == 0.9 && fromYAML.milestones == [2] && fromYAML.rewind)
        #expect(fromYAML.alphaConvolution == 0.9 && fromYAML.learningRate == 1e-3)
        // The YAML a recipe writes reads back as the same recipe.
        #expect(try PruningRecipe.decode(fromYAML.yaml(), format: .yaml) == fromYAML)
    }

    @Test func defaultsFollowTheAuthorsPerModelFamily() throws {
        let resnet = try PruningRecipe.decode("model: resnet-20\ndataset: cifar-10\n", format: .yaml)
        #expect(resnet.optimizer == .sgd && resnet.learningRate == 0.1 && resnet.alphaConvolution == 0.95 && resnet.alphaLinear == 0.99)
        let vgg = try PruningRecipe.decode("model: vgg-16\ndataset: cifar-10\n", format: .yaml)
        #expect(vgg.optimizer == .adam && vgg.alphaConvolution == 0.95 && vgg.alphaLinear == 0.95)
        let lenet = PruningRecipe(model: "lenet-5", dataset: "mnist")
        #expect(lenet.optimizer == .adam && lenet.learningRate == 1e-3 && lenet.alphaConvolution == 0.9 && lenet.alphaLinear == 0.95
                && lenet.weightDecay == 5e-4 && lenet.batchSize == 120)
        // An explicit value wins over the family default.
        #expect(try PruningRecipe.decode("model: resnet-20\ndataset: cifar-10\nalphaLinear: 0.9\n", format: .yaml).alphaLinear == 0.9)
    }

    @Test func badRecipesAreClearErrors() throws {
        func reason(_ text: String, _ format: PruningRecipe.FileFormat) -> String? {
            do { _ = try PruningRecipe.decode(text, format: format); return nil } catch {
                if case let .invalidRecipe(r) = error { return r }
                return "\(error)"
            }
        }
        #expect(reason("model: lenet-5\ndataset: mnist\nalpha_fc: 0.9\n", .yaml)?.contains("unknown key alpha_fc") == true)
        #expect(reason("model: lenet-5\n", .yaml)?.contains("\"dataset\" is required") == true)
        #expect(reason("model: lenet-5\ndataset: mnist\niterations: many\n", .yaml)?.contains("iterations") == true)
        #expect(reason("{\"model\": \"lenet-5\", \"dataset\": \"mnist\", \"alphaLinear\": 2}", .json)?.contains("alpha") == true)
        #expect(reason("{not json", .json) != nil)
        #expect(PruningRecipe.FileFormat(path: "a/b.YML") == .yaml && PruningRecipe.FileFormat(path: "r.json") == .json)
        #expect(throws: PruningError.self) { try PruningRecipe.load(path: "/nonexistent/recipe.yaml") }
    }
}
