/// Everything that defines a training run; stored in its checkpoint so a run resumes as it began.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable { case adam, sgd }

    public var model: String
    public var dataset: String
    public var epochs: Int
    public var batchSize: Int = 120
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Float = 1e-3
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var milestones: [Int] = []
    public var gamma: Float = 0.1
    public var seed: UInt64 = 1
    /// Use only the first N training images (0: all), for quick runs and tests.
    public var trainLimit: Int = 0

    public init(model: String, dataset: String, epochs: Int) {
        self.model = model
        self.dataset = dataset
        self.epochs = epochs
    }

    public func validate() throws(TrainingError) {
        guard epochs >= 1 else { throw .invalidOption("--epochs must be at least 1, found \(epochs)") }
        guard batchSize >= 1 else { throw .invalidOption("--batch-size must be at least 1, found \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw .invalidOption("--lr must be positive, found \(learningRate)") }
        guard weightDecay >= 0, momentum >= 0, momentum < 1 else {
            throw .invalidOption("--weight-decay must be >= 0 and --momentum in [0, 1)")
        }
        guard trainLimit >= 0 else { throw .invalidOption("--train-limit must be >= 0") }
    }
}

/// What one epoch did.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var learningRate: Float
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    public var seconds: Double
    public var imagesPerSecond: Double

    public init(epoch: Int, learningRate: Float, trainLoss: Double, trainAccuracy: Double, testLoss: Double,
                testAccuracy: Double, seconds: Double, imagesPerSecond: Double) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.seconds = seconds
        self.imagesPerSecond = imagesPerSecond
    }
}
