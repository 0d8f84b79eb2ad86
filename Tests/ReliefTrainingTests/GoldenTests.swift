import Foundation
import ReliefTraining
import Testing

/// Fixtures written by tools/make_training_fixtures.py with PyTorch 2.13 (CPU, float32).
enum Fixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load(_ name: String) throws -> [String: Tensor] {
        try SafetensorsFile.read(path: folder.appendingPathComponent(name + ".safetensors").path).tensors
    }
}

/// True when every element is within `atol + rtol·|expected|`; reports the worst element otherwise.
func expectClose(_ actual: [Float], _ expected: [Float], atol: Float = 1e-5, rtol: Float = 1e-4, _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.count == expected.count else {
        Issue.record("\(what): \(actual.count) values, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = 0, worstExcess: Float = 0
    for i in actual.indices {
        let excess = abs(actual[i] - expected[i]) - (atol + rtol * abs(expected[i]))
        if excess > worstExcess { worstExcess = excess; worst = i }
    }
    #expect(worstExcess == 0, "\(what): element \(worst) is \(actual[worst]), expected \(expected[worst])", sourceLocation: sourceLocation)
}

@Suite struct GoldenTests {
    /// Loads the fixture's parameters into the layer, runs forward and backward, compares everything.
    func check(_ layer: Layer, fixture name: String, parameterNames: [String: String] = [:]) throws {
        let f = try Fixture.load(name)
        for p in layer.parameters {
            // The fixture names parameters by PyTorch's module path; the layer by its own name.
            let local = String(p.name.dropFirst(layer.name.count + 1))
            let key = parameterNames[local] ?? local
            // Buffers start at their defaults (mean 0, variance 1) on both sides; the fixture holds them after the step.
            if let value = f["param." + key] {
                #expect(value.shape == p.shape, "\(name): \(p.name) shape")
                p.value = value.data
            }
        }
        let y = layer.forward(f["x"]!, training: true)
        expectClose(y.data, f["y"]!.data, "\(name) output")
        #expect(y.shape == f["y"]!.shape)
        let dx = layer.backward(f["dy"]!)
        expectClose(dx.data, f["dx"]!.data, "\(name) input gradient")
        for p in layer.parameters where p.trainable {
            let local = String(p.name.dropFirst(layer.name.count + 1))
            let key = parameterNames[local] ?? local
            guard let g = f["grad." + key] else { continue }
            expectClose(p.grad, g.data, atol: 1e-4, "\(name) gradient of \(p.name)")
        }
        for p in layer.parameters where !p.trainable {
            let local = String(p.name.dropFirst(layer.name.count + 1))
            if let b = f["buffer." + (parameterNames[local] ?? local)] {
                expectClose(p.value, b.data, "\(name) \(p.name) after one step")
            }
        }
    }

    @Test func linear() throws {
        try check(Linear(name: "l", inFeatures: 7, outFeatures: 5), fixture: "linear")
    }

    @Test func convolutions() throws {
        try check(Conv2d(name: "c", inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1), fixture: "conv2d_s2_p1")
        try check(Conv2d(name: "c", inChannels: 2, outChannels: 3, kernel: 5), fixture: "conv2d_k5")
    }

    @Test func batchNormTrainAndEval() throws {
        let bn = BatchNorm2d(name: "bn", channels: 4)
        try check(bn, fixture: "batchnorm2d")
        let f = try Fixture.load("batchnorm2d")
        expectClose(bn.forward(f["x"]!, training: false).data, f["y_eval"]!.data, "batchnorm2d eval output")
    }

    @Test func poolingAndActivations() throws {
        try check(MaxPool2d(name: "p", kernel: 2), fixture: "maxpool_k2")
        try check(MaxPool2d(name: "p", kernel: 3, stride: 2, padding: 1), fixture: "maxpool_k3_s2_p1")
        try check(AvgPool2d(name: "p", kernel: 3, stride: 2, padding: 1), fixture: "avgpool_k3_s2_p1")
        try check(ReLU(name: "r"), fixture: "relu")
        // PyTorch's adaptive pool keeps [N, C, 1, 1]; compare values.
        let f = try Fixture.load("global_avgpool")
        let gap = GlobalAvgPool2d(name: "g")
        expectClose(gap.forward(f["x"]!, training: true).data, f["y"]!.data, "global average pool")
        expectClose(gap.backward(f["dy"]!.reshaped([2, 3])).data, f["dx"]!.data, "global average pool gradient")
    }

    @Test func residualBlocks() throws {
        try check(ResidualBlock(name: "b", inChannels: 4, outChannels: 8, stride: 2), fixture: "residual_option_a")
        try check(ResidualBlock(name: "b", inChannels: 4, outChannels: 4, stride: 1), fixture: "residual_identity")
    }

    @Test func crossEntropy() throws {
        let f = try Fixture.load("cross_entropy")
        let labels = f["labels"]!.data.map { Int($0) }
        let (loss, grad) = SoftmaxCrossEntropy.lossAndGradient(logits: f["logits"]!, labels: labels)
        expectClose([loss], f["loss"]!.data, "loss")
        expectClose(grad.data, f["dlogits"]!.data, "loss gradient")
    }

    /// The same small CNN as the fixture script, in the engine's layers.
    static func smallCNN() -> Sequential {
        Sequential(name: "small", inputShape: [1, 8, 8], classes: 10, layers: [
            Conv2d(name: "conv1", inChannels: 1, outChannels: 4, kernel: 3, padding: 1), BatchNorm2d(name: "bn1", channels: 4),
            ReLU(name: "r1"), MaxPool2d(name: "p1", kernel: 2), Flatten(name: "f"),
            Linear(name: "fc1", inFeatures: 64, outFeatures: 16), ReLU(name: "r2"), Linear(name: "fc2", inFeatures: 16, outFeatures: 10),
        ])
    }

    @Test(arguments: ["train_sgd", "train_adam"])
    func tenTrainingSteps(fixture: String) throws {
        let f = try Fixture.load(fixture)
        let model = Self.smallCNN()
        for p in model.parameters { p.value = f["init." + p.name]!.data }
        let optimizer: Optimizer = fixture == "train_sgd"
            ? SGD(parameters: model.parameters, learningRate: 0.05, momentum: 0.9, weightDecay: 5e-4)
            : Adam(parameters: model.parameters, learningRate: 1e-3, weightDecay: 5e-4)
        let schedule = MultiStepLR(initial: optimizer.learningRate, milestones: fixture == "train_sgd" ? [5] : [], gamma: 0.1)
        let data = f["data"]!, targets = f["targets"]!
        var losses: [Float] = []
        for step in 0..<10 {
            optimizer.learningRate = schedule.rate(epoch: step)
            let x = Tensor(shape: [16, 1, 8, 8], data: Array(data.data[(step * 1024)..<((step + 1) * 1024)]))
            let labels = targets.data[(step * 16)..<((step + 1) * 16)].map { Int($0) }
            let logits = model.forward(x, training: true)
            let (loss, grad) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels)
            losses.append(loss)
            model.backward(grad)
            optimizer.step()
        }
        expectClose(losses, f["losses"]!.data, atol: 1e-5, rtol: 1e-4, "\(fixture) losses")
        for p in model.parameters {
            expectClose(p.value, f["final." + p.name]!.data, atol: 1e-5, rtol: 1e-3, "\(fixture) final \(p.name)")
        }
    }
}
