import Foundation
import ReliefTraining

/// How long to retrain after each pruning step.
///
/// `fixed` runs the recipe's `retrainEpochs`. The other two are Information Consistent Pruning's
/// criterion (Gharatappeh and Sekeh, arXiv 2501.15592): retraining stops after the first epoch
/// whose flow F_t is within ε of the dense network's flow F_0, ‖F_t − F_0‖₂ < ε, and at the latest
/// after `retrainEpochs`.
public enum StopCriterion: String, Codable, Sendable, CaseIterable {
    case fixed
    /// F: for each pair of consecutive convolution / linear layers, the mean of the correlation
    /// matrix between their standardised units.
    case information
    /// F: for each convolution / linear layer, the mean absolute gradient of the loss with respect
    /// to its weights.
    case gradient
}

/// Measures a network's flow on a fixed set of labelled images.
public struct FlowMeter {
    public let criterion: StopCriterion
    public let images: Tensor
    public let labels: [Int]
    /// Images per forward (and, for the gradient flow, backward) pass.
    public let batchSize: Int

    public init(criterion: StopCriterion, images: Tensor, labels: [Int], batchSize: Int = 100) {
        precondition(labels.count == images.batch, "\(labels.count) labels for \(images.batch) images")
        self.criterion = criterion
        self.images = images
        self.labels = labels
        self.batchSize = max(1, batchSize)
    }

    /// The flow of `model` under this meter's criterion (empty for `fixed`).
    public func flow(of model: Sequential) throws(PruningError) -> [Double] {
        switch criterion {
        case .fixed: return []
        case .information: return try informationFlow(of: model)
        case .gradient: return try gradientFlow(of: model)
        }
    }

    /// ‖a − b‖₂; infinite when the two do not compare (different lengths) or either holds a NaN,
    /// which the criterion reads as "not consistent yet".
    public static func distance(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count == b.count else { return .infinity }
        let d = zip(a, b).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        return d.isNaN ? .infinity : d
    }

    func slices() -> [(Tensor, [Int])] {
        let n = images.batch, size = images.exampleSize
        return stride(from: 0, to: n, by: batchSize).map { start in
            let end = min(n, start + batchSize)
            let x = Tensor(shape: [end - start] + Array(images.shape.dropFirst()),
                           data: Array(images.data[(start * size)..<(end * size)]))
            return (x, Array(labels[start..<end]))
        }
    }

    /// Outputs of every convolution and linear layer (before batch norm and activation), convolution
    /// outputs averaged over space: one `images x units` matrix per layer, in layer order.
    public func layerOutputs(of model: Sequential) throws(PruningError) -> [[Double]] {
        let layers = try PrunableLayers.of(model)
        var outputs = [[Double]](repeating: [], count: layers.count)
        func record(_ slot: Int, _ y: Tensor) {
            let n = y.batch, units = y.shape[1], plane = y.exampleSize / max(units, 1)
            for s in 0..<n {
                for u in 0..<units {
                    var sum = 0.0
                    let base = (s * units + u) * plane
                    for p in 0..<plane { sum += Double(y.data[base + p]) }
                    outputs[slot].append(sum / Double(max(plane, 1)))
                }
            }
        }
        for (x, _) in slices() {
            var h = x
            var slot = 0
            for layer in model.layers {
                if let block = layer as? ResidualBlock {
                    // The block's convolutions, one after the other as the block runs them.
                    let a = block.conv1.forward(h, training: false)
                    record(slot, a)
                    let b = block.relu1.forward(block.bn1.forward(a, training: false), training: false)
                    record(slot + 1, block.conv2.forward(b, training: false))
                    slot += 2
                    h = block.forward(h, training: false)
                } else {
                    h = layer.forward(h, training: false)
                    if layer is Conv2d || layer is Linear {
                        record(slot, h)
                        slot += 1
                    }
                }
            }
        }
        return outputs
    }

    /// For each pair of consecutive layers l, l+1: every unit standardised over the images (σ floored
    /// at 1e-6, so a unit that never changes contributes zeros), C = (1/N) Σ_n z_l(n) z_{l+1}(n)ᵀ, and
    /// the flow entry is the mean of C's entries.
    public func informationFlow(of model: Sequential) throws(PruningError) -> [Double] {
        let outputs = try layerOutputs(of: model)
        let n = images.batch
        guard n > 0 else { return [] }
        // The mean of C's entries is (1/(N·u_l·u_{l+1})) Σ_n (Σ_i z_li(n)) (Σ_j z_{l+1,j}(n)): only the
        // per-image sums of the standardised units are needed.
        let sums: [[Double]] = outputs.map { a in
            let units = a.count / n
            var total = [Double](repeating: 0, count: n)
            for u in 0..<units {
                var mean = 0.0
                for s in 0..<n { mean += a[s * units + u] }
                mean /= Double(n)
                var variance = 0.0
                for s in 0..<n { variance += (a[s * units + u] - mean) * (a[s * units + u] - mean) }
                let sigma = max((variance / Double(n)).squareRoot(), 1e-6)
                for s in 0..<n { total[s] += (a[s * units + u] - mean) / sigma }
            }
            return total
        }
        let units = outputs.map { $0.count / n }
        return (0..<max(outputs.count - 1, 0)).map { l in
            var c = 0.0
            for s in 0..<n { c += sums[l][s] * sums[l + 1][s] }
            return c / (Double(n) * Double(units[l]) * Double(units[l + 1]))
        }
    }

    /// For each convolution and linear layer, mean |∂E/∂W| over all its weight entries (pruned ones
    /// included, so the vector compares with the dense network's), where E is the mean
    /// cross-entropy over the images. The passes run in training mode, as retraining does; batch-norm
    /// running statistics are restored afterwards and dropout draws from a fixed seed.
    public func gradientFlow(of model: Sequential) throws(PruningError) -> [Double] {
        let layers = try PrunableLayers.of(model)
        let buffers = model.parameters.filter { $0.kind == .runningMean || $0.kind == .runningVariance }
        let saved = buffers.map(\.value)
        defer { for (p, v) in zip(buffers, saved) { p.value = v } }
        for case let d as Dropout in model.layers { d.reseed(0xF10E) }
        var gradients = layers.map { [Double](repeating: 0, count: $0.weight.count) }
        let n = Double(images.batch)
        for (x, labels) in slices() {
            let logits = model.forward(x, training: true)
            let (_, grad) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels)
            model.backward(grad)
            // The batch's gradient is of its mean loss: weight it by its share of the images.
            let share = Double(labels.count) / n
            for (l, layer) in layers.enumerated() {
                let g = layer.weight.grad
                for i in g.indices { gradients[l][i] += share * Double(g[i]) }
            }
        }
        return gradients.map { g in g.isEmpty ? 0 : g.reduce(0) { $0 + abs($1) } / Double(g.count) }
    }
}
