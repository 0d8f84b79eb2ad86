/// Batch normalisation over N, H, W for each channel, with running statistics (PyTorch semantics:
/// biased variance to normalise, unbiased variance in the running estimate, momentum 0.1).
public final class BatchNorm2d: Layer {
    public let name: String
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float
    public let weight: Parameter, bias: Parameter, runningMean: Parameter, runningVariance: Parameter
    private var normalized: [Float] = []
    private var inverseStd: [Float] = []
    private var inputShape: [Int] = []

    public init(name: String, channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.name = name
        self.channels = channels
        self.epsilon = epsilon
        self.momentum = momentum
        weight = Parameter(name: name + ".weight", kind: .normWeight, shape: [channels], value: [Float](repeating: 1, count: channels))
        bias = Parameter(name: name + ".bias", kind: .normBias, shape: [channels], value: [Float](repeating: 0, count: channels))
        runningMean = Parameter(name: name + ".running_mean", kind: .runningMean, shape: [channels], value: [Float](repeating: 0, count: channels))
        runningVariance = Parameter(name: name + ".running_var", kind: .runningVariance, shape: [channels], value: [Float](repeating: 1, count: channels))
    }

    public var parameters: [Parameter] { [weight, bias, runningMean, runningVariance] }

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.shape.count == 4 && x.shape[1] == channels, "\(name) expects [N, \(channels), H, W], got \(x.shape)")
        let n = x.shape[0], plane = x.shape[2] * x.shape[3], m = n * plane
        var y = [Float](repeating: 0, count: x.count)
        if training {
            inputShape = x.shape
            normalized = [Float](repeating: 0, count: x.count)
            inverseStd = [Float](repeating: 0, count: channels)
        }
        for c in 0..<channels {
            var mean: Float, variance: Float
            if training {
                var sum: Double = 0, squares: Double = 0
                for s in 0..<n {
                    let base = (s * channels + c) * plane
                    for p in 0..<plane { sum += Double(x.data[base + p]) }
                }
                let mu = sum / Double(m)
                for s in 0..<n {
                    let base = (s * channels + c) * plane
                    for p in 0..<plane {
                        let d = Double(x.data[base + p]) - mu
                        squares += d * d
                    }
                }
                mean = Float(mu)
                variance = Float(squares / Double(m))
                let unbiased = m > 1 ? Float(squares / Double(m - 1)) : variance
                runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * mean
                runningVariance.value[c] = (1 - momentum) * runningVariance.value[c] + momentum * unbiased
            } else {
                mean = runningMean.value[c]
                variance = runningVariance.value[c]
            }
            let inv = 1 / (variance + epsilon).squareRoot()
            let gamma = weight.value[c], beta = bias.value[c]
            if training { inverseStd[c] = inv }
            for s in 0..<n {
                let base = (s * channels + c) * plane
                for p in 0..<plane {
                    let xhat = (x.data[base + p] - mean) * inv
                    if training { normalized[base + p] = xhat }
                    y[base + p] = gamma * xhat + beta
                }
            }
        }
        return Tensor(shape: x.shape, data: y)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let n = inputShape[0], plane = inputShape[2] * inputShape[3], m = Float(n * plane)
        var dx = [Float](repeating: 0, count: dy.count)
        for c in 0..<channels {
            var sumDy: Float = 0, sumDyXhat: Float = 0
            for s in 0..<n {
                let base = (s * channels + c) * plane
                for p in 0..<plane {
                    sumDy += dy.data[base + p]
                    sumDyXhat += dy.data[base + p] * normalized[base + p]
                }
            }
            weight.grad[c] = sumDyXhat
            bias.grad[c] = sumDy
            let k = weight.value[c] * inverseStd[c] / m
            for s in 0..<n {
                let base = (s * channels + c) * plane
                for p in 0..<plane {
                    dx[base + p] = k * (m * dy.data[base + p] - sumDy - normalized[base + p] * sumDyXhat)
                }
            }
        }
        return Tensor(shape: inputShape, data: dx)
    }
}
