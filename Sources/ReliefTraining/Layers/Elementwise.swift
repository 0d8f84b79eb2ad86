import ReliefRandom

/// max(0, x).
public final class ReLU: Layer {
    public let name: String
    private var output: [Float] = []
    public init(name: String) { self.name = name }

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var y = x
        y.data.withUnsafeMutableBufferPointer { v in
            for i in 0..<v.count { v[i] = max(v[i], 0) }
        }
        // The output itself tells where the input was positive.
        if training { output = y.data }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        // Written as a select into a fresh array so it vectorises (no copy-on-write of dy, no branch).
        let n = dy.count
        let dx = [Float](unsafeUninitializedCapacity: n) { out, initialized in
            output.withUnsafeBufferPointer { y in
                dy.data.withUnsafeBufferPointer { d in
                    // Explicit 8-wide SIMD: the scalar select compiled to an unpredictable branch.
                    let (yb, db, ob) = (y.baseAddress!, d.baseAddress!, out.baseAddress!)
                    var i = 0
                    while i + 8 <= n {
                        let yv = UnsafeRawPointer(yb + i).loadUnaligned(as: SIMD8<Float>.self)
                        let dv = UnsafeRawPointer(db + i).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(ob + i).storeBytes(of: dv.replacing(with: 0, where: yv .<= 0), as: SIMD8<Float>.self)
                        i += 8
                    }
                    while i < n {
                        ob[i] = yb[i] > 0 ? db[i] : 0
                        i += 1
                    }
                }
            }
            initialized = n
        }
        return Tensor(shape: dy.shape, data: dx)
    }
}

/// Flattens each example to one vector.
public final class Flatten: Layer {
    public let name: String
    private var inputShape: [Int] = []
    public init(name: String) { self.name = name }

    public func outputShape(for inputShape: [Int]) -> [Int] { [inputShape.reduce(1, *)] }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        if training { inputShape = x.shape }
        return x.reshaped([x.batch, x.exampleSize])
    }

    public func backward(_ dy: Tensor) -> Tensor {
        // The layer before may have skipped its input gradient (an empty tensor): pass it on as is.
        dy.count == 0 ? dy : dy.reshaped(inputShape)
    }
}

/// Zeroes each element with probability p while training and scales the rest by 1/(1−p).
public final class Dropout: Layer {
    public let name: String
    public let probability: Float
    private var generator: SeededGenerator
    private var keep: [Float] = []

    public init(name: String, probability: Float = 0.5, seed: UInt64) {
        self.name = name
        self.probability = probability
        generator = SeededGenerator(seed: seed)
    }

    public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

    /// Restarts the mask stream, so a resumed run draws the same masks as an uninterrupted one.
    public func reseed(_ seed: UInt64) {
        generator = SeededGenerator(seed: seed)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        guard training, probability > 0 else { return x }
        let scale = 1 / (1 - probability)
        keep = (0..<x.count).map { _ in generator.unit() >= probability ? scale : 0 }
        var y = x
        for i in y.data.indices { y.data[i] *= keep[i] }
        return y
    }

    public func backward(_ dy: Tensor) -> Tensor {
        guard probability > 0 else { return dy }
        var dx = dy
        for i in dx.data.indices { dx.data[i] *= keep[i] }
        return dx
    }
}
