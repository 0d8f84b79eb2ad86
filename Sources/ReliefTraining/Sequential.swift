/// A network as a chain of layers.
public final class Sequential {
    public let name: String
    public let inputShape: [Int]
    public let classes: Int
    public let layers: [Layer]

    public init(name: String, inputShape: [Int], classes: Int, layers: [Layer]) {
        self.name = name
        self.inputShape = inputShape
        self.classes = classes
        self.layers = layers
        // Nothing needs the gradient with respect to the images: the first layer with parameters
        // (after any reshaping such as Flatten) can skip computing its input gradient.
        for layer in layers {
            if let l = layer as? InputGradientOptional {
                l.needsInputGradient = false
                break
            }
            guard layer is Flatten else { break }
        }
    }

    /// Every parameter and buffer, in layer order.
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    /// Learnable weights and biases of convolutions and linear layers.
    public var prunableParameters: [Parameter] { parameters.filter(\.prunable) }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        var h = x
        for layer in layers { h = layer.forward(h, training: training) }
        return h
    }

    public func backward(_ dy: Tensor) {
        var g = dy
        for layer in layers.reversed() { g = layer.backward(g) }
    }

    /// Parameters of each prunable kind with nonzero mask entries, over all prunable parameters.
    public var remainingFraction: Double {
        let ps = prunableParameters
        let total = ps.reduce(0) { $0 + $1.count }
        let alive = ps.reduce(0) { sum, p in sum + (p.mask.map { $0.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } } ?? p.count) }
        return total == 0 ? 1 : Double(alive) / Double(total)
    }
}
