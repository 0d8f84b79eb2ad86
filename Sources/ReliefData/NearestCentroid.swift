/// The nearest-class-mean classifier, written as one linear layer.
///
/// `argmin_c ‖x − μ_c‖²` equals `argmax_c (μ_c · x − ‖μ_c‖² / 2)`, so the classifier is a linear
/// layer with weights μ_c and biases −‖μ_c‖²/2 over pixels scaled to [0, 1). It needs no training
/// run, which makes it a real model for exercising the file format before the trainer exists.
public struct NearestCentroid: Sendable {
    /// Row-major `classes x features` weights.
    public var weights: [Float]
    public var biases: [Float]
    public var classes: Int
    public var features: Int

    /// Class means of the training images, pixels as `byte / 256`.
    public init(fitting set: ImageSet) {
        classes = set.classCount
        features = set.imageSize
        var sums = [Double](repeating: 0, count: classes * features)
        for i in 0..<set.count {
            let base = Int(set.labels[i]) * features
            for (j, p) in set.image(i).enumerated() { sums[base + j] += Double(p) }
        }
        let counts = set.labelHistogram()
        weights = [Float](repeating: 0, count: classes * features)
        biases = [Float](repeating: 0, count: classes)
        for c in 0..<classes where counts[c] > 0 {
            var norm: Float = 0
            for j in 0..<features {
                let w = Float(sums[c * features + j] / Double(counts[c]) / 256)
                weights[c * features + j] = w
                norm += w * w
            }
            biases[c] = -norm / 2
        }
    }

    public init(weights: [Float], biases: [Float]) {
        precondition(!biases.isEmpty && weights.count % biases.count == 0, "weights must be classes x features")
        self.weights = weights
        self.biases = biases
        classes = biases.count
        features = weights.count / biases.count
    }

    /// The class with the largest score for each image of the set.
    public func predict(_ set: ImageSet) -> [Int] {
        precondition(set.imageSize == features, "images have \(set.imageSize) pixels, the model \(features) inputs")
        var out: [Int] = []
        out.reserveCapacity(set.count)
        let scale: Float = 1.0 / 256
        var x = [Float](repeating: 0, count: features)
        for i in 0..<set.count {
            for (j, p) in set.image(i).enumerated() { x[j] = Float(p) * scale }
            var best = 0
            var bestScore = -Float.infinity
            for c in 0..<classes {
                var s = biases[c]
                for j in 0..<features { s += weights[c * features + j] * x[j] }
                if s > bestScore { bestScore = s; best = c }
            }
            out.append(best)
        }
        return out
    }

    /// Fraction of the set predicted correctly.
    public func accuracy(on set: ImageSet) -> Double {
        let p = predict(set)
        let right = zip(p, set.labels).reduce(0) { $0 + ($1.0 == Int($1.1) ? 1 : 0) }
        return set.count == 0 ? 0 : Double(right) / Double(set.count)
    }
}
