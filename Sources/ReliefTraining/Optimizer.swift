import ReliefKernels
import Foundation

/// An optimiser of a network's trainable parameters, with PyTorch's update rules.
public protocol Optimizer: AnyObject {
    var learningRate: Float { get set }
    /// One update from the current gradients; masked entries stay exactly zero.
    func step()
    /// State to checkpoint (momentum buffers, moments, step count), by name.
    var state: [String: [Float]] { get }
    func load(state: [String: [Float]]) throws(TrainingError)
}

/// SGD with momentum and L2 weight decay (torch.optim.SGD, dampening 0, no Nesterov).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let weightDecay: Float
    let parameters: [Parameter]
    var buffers: [[Float]]
    var started = false

    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.parameters = parameters.filter(\.trainable)
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        buffers = self.parameters.map { [Float](repeating: 0, count: $0.count) }
    }

    public func step() {
        let (lr, mu, wd, started) = (learningRate, momentum, weightDecay, started)
        for (k, p) in parameters.enumerated() {
            p.applyMask()
            p.value.withUnsafeMutableBufferPointer { w in
                p.grad.withUnsafeBufferPointer { g in
                    buffers[k].withUnsafeMutableBufferPointer { buf in
                        for i in 0..<w.count {
                            let d = g[i] + wd * w[i]
                            let b = started ? mu * buf[i] + d : d
                            buf[i] = b
                            w[i] -= lr * b
                        }
                    }
                }
            }
            p.applyMask()
        }
        self.started = true
    }

    public var state: [String: [Float]] {
        var s: [String: [Float]] = ["sgd.started": [started ? 1 : 0]]
        for (p, b) in zip(parameters, buffers) { s["sgd.momentum." + p.name] = b }
        return s
    }

    public func load(state: [String: [Float]]) throws(TrainingError) {
        started = state["sgd.started"]?.first == 1
        for (k, p) in parameters.enumerated() {
            guard let b = state["sgd.momentum." + p.name], b.count == p.count else {
                throw .checkpointMismatch(reason: "no SGD momentum of \(p.count) values for \(p.name)")
            }
            buffers[k] = b
        }
    }
}

/// Adam with L2 weight decay added to the gradient (torch.optim.Adam, not AdamW).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    let parameters: [Parameter]
    var m: [[Float]], v: [[Float]]
    var t = 0

    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.parameters = parameters.filter(\.trainable)
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        m = self.parameters.map { [Float](repeating: 0, count: $0.count) }
        v = m
    }

    public func step() {
        t += 1
        let c1 = 1 - Float(pow(Double(beta1), Double(t)))
        let c2 = 1 - Float(pow(Double(beta2), Double(t)))
        let stepSize = learningRate / c1
        let c2Root = c2.squareRoot()
        let (b1, b2, eps, wd) = (beta1, beta2, epsilon, weightDecay)
        let (a1, a2, inverseC2Root) = (1 - beta1, 1 - beta2, 1 / c2Root)
        for (k, p) in parameters.enumerated() {
            p.applyMask()
            p.value.withUnsafeMutableBufferPointer { w in
                p.grad.withUnsafeBufferPointer { g in
                    m[k].withUnsafeMutableBufferPointer { m in
                        v[k].withUnsafeMutableBufferPointer { v in
                            let (wb, gb, mb, vb) = (w.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!)
                            Parallel.forEachChunk(w.count, minimumPerThread: 32_768) { range in
                                for i in range {
                                    let d = gb[i] + wd * wb[i]
                                    let mi = b1 * mb[i] + a1 * d
                                    let vi = b2 * vb[i] + a2 * d * d
                                    mb[i] = mi
                                    vb[i] = vi
                                    wb[i] -= stepSize * mi / (vi.squareRoot() * inverseC2Root + eps)
                                }
                            }
                        }
                    }
                }
            }
            p.applyMask()
        }
    }

    public var state: [String: [Float]] {
        var s: [String: [Float]] = ["adam.step": [Float(t)]]
        for (k, p) in parameters.enumerated() {
            s["adam.m." + p.name] = m[k]
            s["adam.v." + p.name] = v[k]
        }
        return s
    }

    public func load(state: [String: [Float]]) throws(TrainingError) {
        guard let step = state["adam.step"]?.first else { throw .checkpointMismatch(reason: "no Adam step count") }
        t = Int(step)
        for (k, p) in parameters.enumerated() {
            guard let a = state["adam.m." + p.name], let b = state["adam.v." + p.name], a.count == p.count, b.count == p.count else {
                throw .checkpointMismatch(reason: "no Adam moments of \(p.count) values for \(p.name)")
            }
            m[k] = a
            v[k] = b
        }
    }
}

/// The learning rate multiplied by γ at each milestone epoch (torch.optim.lr_scheduler.MultiStepLR).
public struct MultiStepLR: Sendable, Codable, Equatable {
    public var initial: Float
    public var milestones: [Int]
    public var gamma: Float

    public init(initial: Float, milestones: [Int], gamma: Float = 0.1) {
        self.initial = initial
        self.milestones = milestones
        self.gamma = gamma
    }

    /// The rate for a 0-based epoch.
    public func rate(epoch: Int) -> Float {
        initial * Float(pow(Double(gamma), Double(milestones.filter { epoch >= $0 }.count)))
    }
}
