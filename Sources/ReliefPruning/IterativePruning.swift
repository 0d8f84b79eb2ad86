import Foundation
import ReliefData
import ReliefTraining

/// Everything that defines a pruning run; a recipe file holds exactly this, as JSON.
public struct PruningRecipe: Codable, Sendable, Equatable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        case relief, magnitude
        case magnitudeGlobal = "magnitude-global"
        case random
    }

    public var model: String
    public var dataset: String
    public var method: Method = .relief
    public var iterations: Int = 1
    public var retrainEpochs: Int = 1
    public var alphaConvolution: Double = 0.9
    public var alphaLinear: Double = 0.95
    public var convolutionRule: ReliefScores.ConvolutionRule = .paper
    /// Baselines: the fraction of the remaining weights each iteration keeps.
    public var keepFraction: Double = 0.5
    /// Baselines: the fraction of all weights to leave after each iteration (iteration k uses entry
    /// k − 1), to compare with another run at equal remaining weights. Overrides `keepFraction`.
    public var targetFractions: [Double]? = nil
    /// Rewind surviving weights to their initial values before retraining (the authors do for LeNet).
    public var rewind: Bool = false
    public var pruningSetSize: Int = 1000
    public var optimizer: TrainingConfig.OptimizerKind = .adam
    public var learningRate: Float = 1e-3
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var milestones: [Int] = []
    public var gamma: Float = 0.1
    public var batchSize: Int = 120
    public var seed: UInt64 = 1
    public var trainLimit: Int = 0
    /// When retraining stops: after `retrainEpochs` (`fixed`), or as soon as the network's flow is
    /// within `stopEpsilon` of the dense network's (Information Consistent Pruning), at the latest
    /// after `retrainEpochs`.
    public var stopCriterion: StopCriterion = .fixed
    public var stopEpsilon: Double = 1.0

    /// A recipe with the authors' settings for the model's family: LeNets Adam lr 1e-3 with α_conv 0.9,
    /// α_fc 0.95; VGG the same optimiser with α 0.95 / 0.95; ResNets SGD lr 0.1 with α_conv 0.95, α_fc 0.99.
    public init(model: String, dataset: String) {
        self.model = model
        self.dataset = dataset
        if model.hasPrefix("vgg") {
            alphaConvolution = 0.95
            alphaLinear = 0.95
        } else if model.hasPrefix("resnet") {
            optimizer = .sgd
            learningRate = 0.1
            alphaConvolution = 0.95
            alphaLinear = 0.99
        }
    }

    /// Missing keys in a recipe file take the defaults above.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PruningRecipe(model: try c.decode(String.self, forKey: .model), dataset: try c.decode(String.self, forKey: .dataset))
        self = d
        method = try c.decodeIfPresent(Method.self, forKey: .method) ?? d.method
        iterations = try c.decodeIfPresent(Int.self, forKey: .iterations) ?? d.iterations
        retrainEpochs = try c.decodeIfPresent(Int.self, forKey: .retrainEpochs) ?? d.retrainEpochs
        alphaConvolution = try c.decodeIfPresent(Double.self, forKey: .alphaConvolution) ?? d.alphaConvolution
        alphaLinear = try c.decodeIfPresent(Double.self, forKey: .alphaLinear) ?? d.alphaLinear
        convolutionRule = try c.decodeIfPresent(ReliefScores.ConvolutionRule.self, forKey: .convolutionRule) ?? d.convolutionRule
        keepFraction = try c.decodeIfPresent(Double.self, forKey: .keepFraction) ?? d.keepFraction
        targetFractions = try c.decodeIfPresent([Double].self, forKey: .targetFractions)
        rewind = try c.decodeIfPresent(Bool.self, forKey: .rewind) ?? d.rewind
        pruningSetSize = try c.decodeIfPresent(Int.self, forKey: .pruningSetSize) ?? d.pruningSetSize
        optimizer = try c.decodeIfPresent(TrainingConfig.OptimizerKind.self, forKey: .optimizer) ?? d.optimizer
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? d.momentum
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        milestones = try c.decodeIfPresent([Int].self, forKey: .milestones) ?? d.milestones
        gamma = try c.decodeIfPresent(Float.self, forKey: .gamma) ?? d.gamma
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        trainLimit = try c.decodeIfPresent(Int.self, forKey: .trainLimit) ?? d.trainLimit
        stopCriterion = try c.decodeIfPresent(StopCriterion.self, forKey: .stopCriterion) ?? d.stopCriterion
        stopEpsilon = try c.decodeIfPresent(Double.self, forKey: .stopEpsilon) ?? d.stopEpsilon
    }

    public func validate() throws(PruningError) {
        guard iterations >= 1 else { throw .invalidOption("iterations must be at least 1, found \(iterations)") }
        guard retrainEpochs >= 0 else { throw .invalidOption("retrain epochs must be >= 0, found \(retrainEpochs)") }
        guard alphaConvolution > 0, alphaConvolution <= 1, alphaLinear > 0, alphaLinear <= 1 else {
            throw .invalidOption("alpha values must be in (0, 1], found \(alphaConvolution) and \(alphaLinear)")
        }
        guard keepFraction > 0, keepFraction <= 1 else { throw .invalidOption("keep fraction must be in (0, 1], found \(keepFraction)") }
        guard stopEpsilon > 0, stopEpsilon.isFinite else { throw .invalidOption("the stop epsilon must be a positive number, found \(stopEpsilon)") }
        guard stopCriterion == .fixed || retrainEpochs >= 1 else {
            throw .invalidOption("the \(stopCriterion.rawValue) stop criterion needs an epoch budget: retrain epochs must be at least 1")
        }
        guard pruningSetSize >= 1 else { throw .invalidOption("the pruning set needs at least one image") }
        if let t = targetFractions {
            guard t.count >= iterations, t.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
                throw .invalidOption("target fractions must be in (0, 1], one per iteration (\(iterations)), found \(t.count)")
            }
            guard method != .relief else { throw .invalidOption("target fractions are for the baselines; NNrelief's α decides how much it prunes") }
        }
    }

    /// The training settings of each retraining phase.
    public var trainingConfig: TrainingConfig {
        var c = TrainingConfig(model: model, dataset: dataset, epochs: max(retrainEpochs, 1))
        c.batchSize = batchSize
        c.optimizer = optimizer
        c.learningRate = learningRate
        c.momentum = momentum
        c.weightDecay = weightDecay
        c.milestones = milestones
        c.gamma = gamma
        c.seed = seed
        c.trainLimit = trainLimit
        return c
    }
}

/// What one iteration did.
public struct IterationRecord: Codable, Sendable, Equatable {
    public var iteration: Int
    public var remainingFraction: Double
    public var remainingWeights: Int
    public var totalWeights: Int
    public var layers: [RemainingWeights.Layer]
    /// Test accuracy right after pruning, before retraining.
    public var prunedAccuracy: Double
    /// Test accuracy of the best retraining epoch (the weights kept).
    public var accuracy: Double
    public var seconds: Double
    /// Retraining epochs run (fewer than the recipe's when a stop criterion ended them early).
    public var epochs: Int? = nil
    /// The network's flow at the end of the iteration (iteration 0: the dense network's F_0), under
    /// the run's stop criterion; nil with `fixed`.
    public var flow: [Double]? = nil
    /// ‖F_t − F_0‖₂ after each retraining epoch.
    public var flowDistances: [Double]? = nil
}

/// Prune, retrain, repeat.
public final class IterativePruning {
    public let recipe: PruningRecipe
    public let model: Sequential
    let dataset: Dataset
    let pipeline: InputPipeline
    let pruningSet: Tensor
    /// Measures the flow on the pruning set's images and labels (nil with the fixed criterion).
    let flowMeter: FlowMeter?
    /// The dense network's flow F_0, measured by `currentRecord(iteration: 0)` or restored from a
    /// run's first record when resuming.
    public var referenceFlow: [Double]?
    /// Values at initialisation, for rewinding.
    let initialValues: [String: [Float]]

    public init(recipe: PruningRecipe, model: Sequential, dataset: Dataset, initialValues: [String: [Float]]) throws(PruningError) {
        try recipe.validate()
        _ = try PrunableLayers.of(model)
        self.recipe = recipe
        self.model = model
        self.dataset = dataset
        self.initialValues = initialValues
        pipeline = .standard(for: dataset.name)
        // A fixed, seeded pruning set of training images, the same in every iteration.
        let loader = BatchLoader(set: dataset.train, batchSize: min(recipe.pruningSetSize, dataset.train.count),
                                 pipeline: pipeline, shuffle: true, seed: recipe.seed &+ 0x5EED)
        let (images, labels) = loader.batch(0, order: loader.order(epoch: 0), epoch: 0, training: false)
        pruningSet = images
        flowMeter = recipe.stopCriterion == .fixed ? nil
            : FlowMeter(criterion: recipe.stopCriterion, images: images, labels: labels, batchSize: recipe.batchSize)
    }

    /// Test accuracy of the model as it stands.
    public func accuracy() throws(PruningError) -> Double {
        do {
            return try Trainer(model: model, config: recipe.trainingConfig, train: dataset.train, test: dataset.test, pipeline: pipeline)
                .evaluate().accuracy
        } catch { throw .invalidOption("\(error)") }
    }

    /// The model as it stands, as the record of iteration `iteration` (0: the starting point, whose
    /// flow becomes the reference F_0 of the stop criterion).
    public func currentRecord(iteration: Int) throws(PruningError) -> IterationRecord {
        let remaining = RemainingWeights(model)
        let a = try accuracy()
        var record = IterationRecord(iteration: iteration, remainingFraction: remaining.fraction, remainingWeights: remaining.remaining,
                                     totalWeights: remaining.total, layers: remaining.layers, prunedAccuracy: a, accuracy: a, seconds: 0)
        if let flowMeter {
            record.flow = try flowMeter.flow(of: model)
            if iteration == 0 { referenceFlow = record.flow }
        }
        return record
    }

    /// One iteration: prune, optionally rewind, retrain keeping the best epoch.
    public func runIteration(_ iteration: Int, progress: (Int, Int, Int, Double) -> Void = { _, _, _, _ in }) throws(PruningError) -> IterationRecord {
        let start = Date()
        switch recipe.method {
        case .relief:
            try ReliefPruner(alphaConvolution: recipe.alphaConvolution, alphaLinear: recipe.alphaLinear, rule: recipe.convolutionRule)
                .prune(model, pruningSet: pruningSet)
        case .magnitude, .magnitudeGlobal, .random:
            let target = recipe.targetFractions?[iteration - 1] ?? RemainingWeights(model).fraction * recipe.keepFraction
            let pruner: BaselinePruner = recipe.method == .magnitude ? .magnitudeLayerwise
                : recipe.method == .magnitudeGlobal ? .magnitudeGlobal : .random(seed: recipe.seed &+ UInt64(iteration))
            try pruner.prune(model, keeping: target)
        }
        if recipe.rewind {
            for p in model.parameters where p.trainable {
                if let initial = initialValues[p.name] { p.value = initial }
                p.applyMask()
            }
        }
        let prunedAccuracy = try accuracy()
        var best = (accuracy: prunedAccuracy, values: model.parameters.map(\.value))
        var epochs = 0
        var distances: [Double] = []
        if recipe.retrainEpochs > 0 {
            let trainer: Trainer
            do {
                trainer = try Trainer(model: model, config: recipe.trainingConfig, train: dataset.train, test: dataset.test, pipeline: pipeline)
            } catch { throw .invalidOption("\(error)") }
            // Rewinding starts from initial weights: the pruned model's accuracy is no benchmark to keep.
            if recipe.rewind { best.accuracy = -1 }
            if flowMeter != nil && referenceFlow == nil {
                throw .stateMismatch("the \(recipe.stopCriterion.rawValue) stop criterion needs the dense network's flow: record iteration 0 first")
            }
            for epoch in 0..<recipe.retrainEpochs {
                let record = trainer.runEpoch { done, count, _, accuracy in progress(epoch, done, count, accuracy) }
                epochs += 1
                if record.testAccuracy > best.accuracy { best = (record.testAccuracy, model.parameters.map(\.value)) }
                if let flowMeter, let referenceFlow {
                    let d = FlowMeter.distance(try flowMeter.flow(of: model), referenceFlow)
                    distances.append(d)
                    if d < recipe.stopEpsilon { break }
                }
            }
            for (p, v) in zip(model.parameters, best.values) { p.value = v }
        }
        let remaining = RemainingWeights(model)
        var record = IterationRecord(iteration: iteration, remainingFraction: remaining.fraction, remainingWeights: remaining.remaining,
                                     totalWeights: remaining.total, layers: remaining.layers, prunedAccuracy: prunedAccuracy,
                                     accuracy: max(best.accuracy, 0), seconds: Date().timeIntervalSince(start))
        record.epochs = epochs
        if let flowMeter {
            record.flow = try flowMeter.flow(of: model)
            record.flowDistances = distances
        }
        return record
    }

    /// The model's state as a checkpoint, with the recipe and iteration in its metadata.
    public func checkpoint(iteration: Int, history: [IterationRecord]) -> Checkpoint {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let extra = ["pruning.recipe": String(decoding: try! encoder.encode(recipe), as: UTF8.self),
                     "pruning.iteration": String(iteration),
                     "pruning.history": String(decoding: try! encoder.encode(history), as: UTF8.self)]
        let accuracy = history.last?.accuracy ?? 0
        let record = EpochRecord(epoch: iteration, learningRate: recipe.learningRate, trainLoss: 0, trainAccuracy: 0,
                                 testLoss: 0, testAccuracy: accuracy, seconds: history.last?.seconds ?? 0, imagesPerSecond: 0)
        return Checkpoint(model: model, optimizer: nil, config: recipe.trainingConfig, epoch: iteration, history: [record],
                          extraMetadata: extra)
    }
}
