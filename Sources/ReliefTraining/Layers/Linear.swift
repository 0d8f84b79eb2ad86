import ReliefKernels

/// `y = x · Wᵀ + b`, with W of shape [out, in] as in PyTorch; forward and backward on OpenBLAS sgemm.
public final class Linear: Layer, InputGradientOptional {
    public let name: String
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter?
    public var needsInputGradient = true
    private var input = Tensor(zeros: [0])

    public init(name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true) {
        self.name = name
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = Parameter(name: name + ".weight", kind: .weight, shape: [outFeatures, inFeatures],
                           value: [Float](repeating: 0, count: outFeatures * inFeatures))
        self.bias = bias ? Parameter(name: name + ".bias", kind: .bias, shape: [outFeatures],
                                     value: [Float](repeating: 0, count: outFeatures)) : nil
    }

    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    public func outputShape(for inputShape: [Int]) -> [Int] { [outFeatures] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        precondition(x.exampleSize == inFeatures, "\(name) expects \(inFeatures) features, got \(x.exampleSize)")
        if training { input = x }
        let n = x.batch
        var y = [Float](repeating: 0, count: n * outFeatures)
        if let bias {
            for i in 0..<n { for j in 0..<outFeatures { y[i * outFeatures + j] = bias.value[j] } }
        }
        x.data.withUnsafeBufferPointer { xp in
            weight.value.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    DenseBLAS.parallelGemm(transposeA: false, transposeB: true, m: n, n: outFeatures, k: inFeatures,
                                   a: xp.baseAddress!, lda: inFeatures, b: wp.baseAddress!, ldb: inFeatures,
                                   beta: bias == nil ? 0 : 1, c: yp.baseAddress!, ldc: outFeatures)
                }
            }
        }
        return Tensor(shape: [n, outFeatures], data: y)
    }

    public func backward(_ dy: Tensor) -> Tensor {
        let n = dy.batch
        dy.data.withUnsafeBufferPointer { dp in
            input.data.withUnsafeBufferPointer { xp in
                weight.grad.withUnsafeMutableBufferPointer { gp in
                    DenseBLAS.parallelGemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: n,
                                   a: dp.baseAddress!, lda: outFeatures, b: xp.baseAddress!, ldb: inFeatures,
                                   c: gp.baseAddress!, ldc: inFeatures)
                }
            }
        }
        if let bias {
            for j in 0..<outFeatures { bias.grad[j] = 0 }
            for i in 0..<n { for j in 0..<outFeatures { bias.grad[j] += dy.data[i * outFeatures + j] } }
        }
        guard needsInputGradient else { return Tensor(zeros: [0]) }
        var dx = [Float](repeating: 0, count: n * inFeatures)
        dy.data.withUnsafeBufferPointer { dp in
            weight.value.withUnsafeBufferPointer { wp in
                dx.withUnsafeMutableBufferPointer { xp in
                    DenseBLAS.parallelGemm(transposeA: false, transposeB: false, m: n, n: inFeatures, k: outFeatures,
                                   a: dp.baseAddress!, lda: outFeatures, b: wp.baseAddress!, ldb: inFeatures,
                                   c: xp.baseAddress!, ldc: inFeatures)
                }
            }
        }
        return Tensor(shape: input.shape, data: dx)
    }
}
