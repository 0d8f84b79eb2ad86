import ReliefKernels
import ReliefTraining

/// NNrelief importance scores: how much each incoming connection (and the bias) contributes, on
/// average over the pruning set, to one output neuron or filter (Dekhovich et al., arXiv 2109.10795).
public enum ReliefScores {
    /// How convolution scores summarise each contribution map.
    public enum ConvolutionRule: String, Codable, Sendable, CaseIterable {
        /// The paper: mean over samples of ‖ |K_ij| ⋆ |x_ni| ‖_F; bias |b_j|·√(h·w). The default,
        /// because it is the method as published and the mean of norms does not let contributions of
        /// different samples cancel into a smaller norm.
        case paper
        /// The authors' VGG/ResNet code: ‖ |K_ij| ⋆ mean_n |x_ni| ‖_F (the norm of the batch-mean map); bias |b_j|·√(h·w).
        case meanMap = "mean-map"
        /// The authors' LeNet-5 code: the L1 sum of the batch-mean map; bias |b_j|·h·w.
        case meanMapL1 = "mean-map-l1"
    }

    /// Contributions of a fully connected layer: `[out][in + 1]`, the last column the bias.
    ///
    /// mean_n |w_ji · x_ni| = |w_ji| · mean_n |x_ni|, so one pass over the inputs suffices.
    public static func linear(weight: [Float], bias: [Float]?, outFeatures: Int, inFeatures: Int, inputs: Tensor) -> [[Double]] {
        let n = inputs.batch
        var meanAbs = [Double](repeating: 0, count: inFeatures)
        for s in 0..<n {
            for i in 0..<inFeatures { meanAbs[i] += Double(abs(inputs.data[s * inFeatures + i])) }
        }
        for i in 0..<inFeatures { meanAbs[i] /= Double(max(n, 1)) }
        return (0..<outFeatures).map { j in
            (0..<inFeatures).map { i in Double(abs(weight[j * inFeatures + i])) * meanAbs[i] } + [Double(abs(bias?[j] ?? 0))]
        }
    }

    /// Contributions of a convolution: `[out][in + 1]`, the last column the bias.
    public static func convolution(_ conv: Conv2d, inputs: Tensor, rule: ConvolutionRule) -> [[Double]] {
        let (o, c, kh, kw) = (conv.outChannels, conv.inChannels, conv.kernel.0, conv.kernel.1)
        let out = conv.outputShape(for: Array(inputs.shape.dropFirst()))
        let pixels = out[1] * out[2]
        let absWeight = conv.weight.value.map { abs($0) }
        var scores = [[Double]](repeating: [Double](repeating: 0, count: c + 1), count: o)
        // One single-channel convolution layer per input channel i, weights |K_·i|.
        func channelMaps(_ x: Tensor, channel i: Int) -> Tensor {
            let single = Conv2d(name: "score", inChannels: 1, outChannels: o, kernel: kh, stride: conv.stride.0,
                                padding: conv.padding.0, bias: false)
            for j in 0..<o {
                for k in 0..<(kh * kw) { single.weight.value[j * kh * kw + k] = absWeight[(j * c + i) * kh * kw + k] }
            }
            let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
            var plane = [Float](repeating: 0, count: n * h * w)
            for s in 0..<n {
                for p in 0..<(h * w) { plane[s * h * w + p] = abs(x.data[(s * c + i) * h * w + p]) }
            }
            return single.forward(Tensor(shape: [n, 1, h, w], data: plane), training: false)
        }
        let n = inputs.batch
        switch rule {
        case .paper:
            // Mean over samples of the Frobenius norm of each map; samples in chunks to bound memory.
            let chunk = max(1, min(n, (32 << 20) / max(1, inputs.exampleSize * 4 + o * pixels * 4)))
            var start = 0
            while start < n {
                let count = min(chunk, n - start)
                let x = Tensor(shape: [count] + Array(inputs.shape.dropFirst()),
                               data: Array(inputs.data[(start * inputs.exampleSize)..<((start + count) * inputs.exampleSize)]))
                for i in 0..<c {
                    let maps = channelMaps(x, channel: i)
                    for s in 0..<count {
                        for j in 0..<o {
                            let base = (s * o + j) * pixels
                            var squares = 0.0
                            for p in 0..<pixels { squares += Double(maps.data[base + p]) * Double(maps.data[base + p]) }
                            scores[j][i] += squares.squareRoot()
                        }
                    }
                }
                start += count
            }
            for j in 0..<o { for i in 0..<c { scores[j][i] /= Double(max(n, 1)) } }
        case .meanMap, .meanMapL1:
            var mean = [Float](repeating: 0, count: inputs.exampleSize)
            for s in 0..<n { for k in 0..<inputs.exampleSize { mean[k] += abs(inputs.data[s * inputs.exampleSize + k]) } }
            for k in mean.indices { mean[k] /= Float(max(n, 1)) }
            let x = Tensor(shape: [1] + Array(inputs.shape.dropFirst()), data: mean)
            for i in 0..<c {
                let maps = channelMaps(x, channel: i)
                for j in 0..<o {
                    let map = maps.data[(j * pixels)..<((j + 1) * pixels)]
                    scores[j][i] = rule == .meanMap ? map.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                        : map.reduce(0.0) { $0 + Double($1) }
                }
            }
        }
        let biasFactor = rule == .meanMapL1 ? Double(pixels) : Double(pixels).squareRoot()
        for j in 0..<o { scores[j][c] = Double(abs(conv.bias?.value[j] ?? 0)) * biasFactor }
        return scores
    }
}
