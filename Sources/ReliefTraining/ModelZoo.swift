import ReliefRandom

/// The networks Relief trains and prunes, by name, initialised as the NNrelief authors do:
/// Kaiming-normal weights (fan-in, gain √2) for convolutions and linear layers, PyTorch's default
/// uniform(±1/√fan-in) biases, batch norm at weight 1 and bias 0.
public enum ModelZoo {
    public static let names = ["lenet-300-100", "lenet-5", "vgg-11", "vgg-13", "vgg-16", "vgg-19",
                               "resnet-20", "resnet-32", "resnet-44", "resnet-56", "resnet-110"]

    /// The model's expected input: [1, 28, 28] for the LeNets, [3, 32, 32] for the CIFAR networks.
    public static func inputShape(of name: String) throws(TrainingError) -> [Int] {
        guard names.contains(name) else { throw .unknownModel(name, known: names) }
        return name.hasPrefix("lenet") ? [1, 28, 28] : [3, 32, 32]
    }

    public static func make(_ name: String, classes: Int = 10, seed: UInt64) throws(TrainingError) -> Sequential {
        var g = SeededGenerator(seed: seed)
        let layers: [Layer]
        switch name {
        case "lenet-300-100":
            layers = [Flatten(name: "flatten"),
                      Linear(name: "fc1", inFeatures: 784, outFeatures: 300), ReLU(name: "relu1"),
                      Linear(name: "fc2", inFeatures: 300, outFeatures: 100), ReLU(name: "relu2"),
                      Linear(name: "fc3", inFeatures: 100, outFeatures: classes)]
        case "lenet-5":
            layers = [Conv2d(name: "conv1", inChannels: 1, outChannels: 20, kernel: 5), ReLU(name: "relu1"),
                      MaxPool2d(name: "pool1", kernel: 2),
                      Conv2d(name: "conv2", inChannels: 20, outChannels: 50, kernel: 5), ReLU(name: "relu2"),
                      MaxPool2d(name: "pool2", kernel: 2),
                      Flatten(name: "flatten"),
                      Linear(name: "fc1", inFeatures: 800, outFeatures: 500), ReLU(name: "relu3"),
                      Linear(name: "fc2", inFeatures: 500, outFeatures: classes)]
        case let vgg where vgg.hasPrefix("vgg-"):
            let configs: [String: [Int]] = [   // 0 is a 2x2 max pool
                "vgg-11": [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
                "vgg-13": [64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0],
                "vgg-16": [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0],
                "vgg-19": [64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0],
            ]
            guard let config = configs[vgg] else { throw .unknownModel(name, known: names) }
            var features: [Layer] = []
            var channels = 3, conv = 0, pool = 0
            for c in config {
                if c == 0 {
                    pool += 1
                    features.append(MaxPool2d(name: "pool\(pool)", kernel: 2))
                } else {
                    conv += 1
                    features += [Conv2d(name: "conv\(conv)", inChannels: channels, outChannels: c, kernel: 3, padding: 1),
                                 BatchNorm2d(name: "bn\(conv)", channels: c), ReLU(name: "relu\(conv)")]
                    channels = c
                }
            }
            layers = features + [Flatten(name: "flatten"),
                                 Dropout(name: "drop1", seed: seed &+ 1), Linear(name: "fc1", inFeatures: 512, outFeatures: 512), ReLU(name: "fc_relu1"),
                                 Dropout(name: "drop2", seed: seed &+ 2), Linear(name: "fc2", inFeatures: 512, outFeatures: 512), ReLU(name: "fc_relu2"),
                                 Linear(name: "fc3", inFeatures: 512, outFeatures: classes)]
        case let resnet where resnet.hasPrefix("resnet-"):
            guard let depth = Int(resnet.dropFirst(7)), [20, 32, 44, 56, 110].contains(depth) else {
                throw .unknownModel(name, known: names)
            }
            let blocks = (depth - 2) / 6
            var body: [Layer] = [Conv2d(name: "conv1", inChannels: 3, outChannels: 16, kernel: 3, padding: 1, bias: false),
                                 BatchNorm2d(name: "bn1", channels: 16), ReLU(name: "relu1")]
            var channels = 16
            for (stage, width) in [16, 32, 64].enumerated() {
                for b in 0..<blocks {
                    body.append(ResidualBlock(name: "layer\(stage + 1).\(b)", inChannels: channels, outChannels: width,
                                              stride: b == 0 && stage > 0 ? 2 : 1))
                    channels = width
                }
            }
            layers = body + [GlobalAvgPool2d(name: "pool"), Linear(name: "linear", inFeatures: 64, outFeatures: classes)]
        default:
            throw .unknownModel(name, known: names)
        }
        let model = Sequential(name: name, inputShape: try inputShape(of: name), classes: classes, layers: layers)
        initialize(model, using: &g)
        return model
    }

    /// Kaiming-normal weights, uniform biases, batch norm at (1, 0).
    public static func initialize(_ model: Sequential, using g: inout SeededGenerator) {
        for p in model.parameters {
            switch p.kind {
            case .weight:
                let fanIn = p.shape.dropFirst().reduce(1, *)
                let std = (2 / Float(max(fanIn, 1))).squareRoot()
                for i in p.value.indices { p.value[i] = g.normal() * std }
            case .bias:
                // PyTorch's default: uniform(±1/√fan-in) of the layer the bias belongs to.
                let weightName = String(p.name.dropLast("bias".count)) + "weight"
                let fanIn = model.parameters.first { $0.name == weightName }.map { $0.shape.dropFirst().reduce(1, *) } ?? 1
                let bound = 1 / Float(max(fanIn, 1)).squareRoot()
                for i in p.value.indices { p.value[i] = (g.unit() * 2 - 1) * bound }
            case .normWeight, .runningVariance, .gate:
                for i in p.value.indices { p.value[i] = 1 }
            case .normBias, .runningMean:
                for i in p.value.indices { p.value[i] = 0 }
            }
        }
    }
}
