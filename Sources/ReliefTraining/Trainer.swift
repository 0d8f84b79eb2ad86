import Foundation
import ReliefData
import ReliefKernels

/// Runs epochs of training and evaluation of a model on a data set.
public final class Trainer {
    public let model: Sequential
    public let config: TrainingConfig
    public let optimizer: Optimizer
    public let schedule: MultiStepLR
    public let train: BatchLoader
    public let test: BatchLoader
    public private(set) var history: [EpochRecord] = []

    public init(model: Sequential, config: TrainingConfig, train: ImageSet, test: ImageSet, pipeline: InputPipeline) throws(TrainingError) {
        try config.validate()
        let expected = model.inputShape
        let found = [train.channels, train.height, train.width]
        guard expected == found else {
            throw .incompatibleDataset(model: model.name, expected: "\(expected)", found: "\(found)")
        }
        guard train.classCount == model.classes else {
            throw .incompatibleDataset(model: model.name, expected: "\(model.classes) classes", found: "\(train.classCount) classes")
        }
        self.model = model
        self.config = config
        switch config.optimizer {
        case .adam: optimizer = Adam(parameters: model.parameters, learningRate: config.learningRate, weightDecay: config.weightDecay)
        case .sgd: optimizer = SGD(parameters: model.parameters, learningRate: config.learningRate, momentum: config.momentum,
                                   weightDecay: config.weightDecay)
        }
        schedule = MultiStepLR(initial: config.learningRate, milestones: config.milestones, gamma: config.gamma)
        var trainSet = train
        if config.trainLimit > 0, config.trainLimit < train.count {
            trainSet = ImageSet(channels: train.channels, height: train.height, width: train.width,
                                pixels: Array(train.pixels.prefix(config.trainLimit * train.imageSize)),
                                labels: Array(train.labels.prefix(config.trainLimit)), classCount: train.classCount)
        }
        self.train = BatchLoader(set: trainSet, batchSize: config.batchSize, pipeline: pipeline, shuffle: true, seed: config.seed)
        self.test = BatchLoader(set: test, batchSize: 500, pipeline: pipeline, shuffle: false, seed: config.seed)
    }

    /// Continues from a checkpoint of the same run.
    public func resume(from checkpoint: Checkpoint) throws(TrainingError) {
        try checkpoint.restore(into: model)
        try optimizer.load(state: checkpoint.optimizerState)
        history = checkpoint.history
    }

    public var completedEpochs: Int { history.count }

    /// One epoch of training then evaluation. `progress(batchesDone, batchCount, runningLoss, runningAccuracy)`
    /// is called after every batch.
    public func runEpoch(progress: (Int, Int, Double, Double) -> Void = { _, _, _, _ in }) -> EpochRecord {
        let epoch = completedEpochs
        optimizer.learningRate = schedule.rate(epoch: epoch)
        for case let d as Dropout in model.layers { d.reseed(config.seed &+ UInt64(epoch) &* 7919 &+ UInt64(d.name.hashValueStable)) }
        let start = Date()
        let order = train.order(epoch: epoch)
        var lossSum = 0.0, correct = 0, seen = 0
        for b in 0..<train.batchCount {
            let (x, labels) = train.batch(b, order: order, epoch: epoch, training: true)
            let logits = model.forward(x, training: true)
            let (loss, grad) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels)
            model.backward(grad)
            optimizer.step()
            lossSum += Double(loss) * Double(labels.count)
            correct += zip(SoftmaxCrossEntropy.predictions(logits), labels).filter { $0 == $1 }.count
            seen += labels.count
            progress(b + 1, train.batchCount, lossSum / Double(seen), Double(correct) / Double(seen))
        }
        let seconds = Date().timeIntervalSince(start)
        let (testLoss, testAccuracy) = evaluate()
        let record = EpochRecord(epoch: epoch + 1, learningRate: optimizer.learningRate, trainLoss: lossSum / Double(max(seen, 1)),
                                 trainAccuracy: Double(correct) / Double(max(seen, 1)), testLoss: testLoss,
                                 testAccuracy: testAccuracy, seconds: seconds, imagesPerSecond: Double(seen) / max(seconds, 1e-9))
        history.append(record)
        return record
    }

    /// Mean loss and accuracy on the test split, in evaluation mode.
    public func evaluate() -> (loss: Double, accuracy: Double) {
        var lossSum = 0.0, correct = 0
        let order = test.order(epoch: 0)
        for b in 0..<test.batchCount {
            let (x, labels) = test.batch(b, order: order, epoch: 0, training: false)
            let logits = model.forward(x, training: false)
            lossSum += Double(SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels).loss) * Double(labels.count)
            correct += zip(SoftmaxCrossEntropy.predictions(logits), labels).filter { $0 == $1 }.count
        }
        return (lossSum / Double(max(test.set.count, 1)), Double(correct) / Double(max(test.set.count, 1)))
    }

    public func checkpoint() -> Checkpoint {
        Checkpoint(model: model, optimizer: optimizer, config: config, epoch: completedEpochs, history: history)
    }
}

extension String {
    /// A hash that is the same in every process (Swift's `hashValue` is randomly seeded per run).
    var hashValueStable: UInt64 {
        utf8.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
