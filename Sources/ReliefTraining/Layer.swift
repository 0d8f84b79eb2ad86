/// One differentiable step of a network, on batches.
///
/// `forward` keeps what `backward` needs; `backward` takes the gradient of the loss with respect to
/// the output, writes the gradients of the layer's parameters (overwriting, not accumulating) and
/// returns the gradient with respect to the input.
public protocol Layer: AnyObject {
    var name: String { get }
    /// Parameters and buffers, in a fixed order (the checkpoint order).
    var parameters: [Parameter] { get }
    func forward(_ x: Tensor, training: Bool) -> Tensor
    func backward(_ dy: Tensor) -> Tensor
    /// The output shape of one example for an input of `inputShape` (no batch dimension).
    func outputShape(for inputShape: [Int]) -> [Int]
}

extension Layer {
    public var parameters: [Parameter] { [] }
}

/// Set on the first layer of a network: the gradient with respect to the images is never needed,
/// which saves the most expensive part of the first convolution's backward pass.
public protocol InputGradientOptional: AnyObject {
    var needsInputGradient: Bool { get set }
}
