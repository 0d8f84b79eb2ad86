import Foundation

/// Mean softmax cross-entropy over a batch, and its gradient with respect to the logits.
public enum SoftmaxCrossEntropy {
    public static func lossAndGradient(logits: Tensor, labels: [Int]) -> (loss: Float, gradient: Tensor) {
        let n = logits.batch, k = logits.exampleSize
        precondition(labels.count == n, "\(labels.count) labels for a batch of \(n)")
        var grad = [Float](repeating: 0, count: n * k)
        var total: Double = 0
        for i in 0..<n {
            let row = i * k
            var maxLogit = -Float.infinity
            for j in 0..<k { maxLogit = max(maxLogit, logits.data[row + j]) }
            var sum: Double = 0
            for j in 0..<k { sum += exp(Double(logits.data[row + j] - maxLogit)) }
            let logSum = log(sum) + Double(maxLogit)
            total += logSum - Double(logits.data[row + labels[i]])
            for j in 0..<k {
                let p = exp(Double(logits.data[row + j]) - logSum)
                grad[row + j] = Float((p - (j == labels[i] ? 1 : 0)) / Double(n))
            }
        }
        return (Float(total / Double(n)), Tensor(shape: logits.shape, data: grad))
    }

    /// Index of the largest logit of each example.
    public static func predictions(_ logits: Tensor) -> [Int] {
        let k = logits.exampleSize
        return (0..<logits.batch).map { i in
            var best = 0
            for j in 1..<k where logits.data[i * k + j] > logits.data[i * k + best] { best = j }
            return best
        }
    }
}
