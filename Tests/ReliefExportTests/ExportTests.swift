import ReliefExport
import ReliefFormat
import ReliefPruning
import ReliefRandom
import ReliefTraining
import Testing

@Suite struct ExportTests {
    let provenance = RLFMetadata.Provenance(method: "test", toolVersion: "tests")

    func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in g.unit() })
    }

    func maxDifference(_ a: Sequential, _ b: Sequential, _ x: Tensor) -> Float {
        zip(a.forward(x, training: false).data, b.forward(x, training: false).data).map { abs($0 - $1) }.max() ?? 0
    }

    /// conv → BN → ReLU → pool → flatten → linear: the folded export computes the same logits.
    @Test func batchNormIsFoldedExactly() throws {
        var g = SeededGenerator(seed: 1)
        let conv = Conv2d(name: "conv", inChannels: 1, outChannels: 4, kernel: 3, padding: 1)
        let bn = BatchNorm2d(name: "bn", channels: 4)
        let fc = Linear(name: "fc", inFeatures: 4 * 14 * 14, outFeatures: 10)
        let model = Sequential(name: "cnn", inputShape: [1, 28, 28], classes: 10, layers: [
            conv, bn, ReLU(name: "relu"), MaxPool2d(name: "pool", kernel: 2), Dropout(name: "drop", seed: 3), Flatten(name: "flat"), fc])
        ModelZoo.initialize(model, using: &g)
        for c in 0..<4 {
            bn.weight.value[c] = 0.5 + g.unit()
            bn.bias.value[c] = g.unit() - 0.5
            bn.runningMean.value[c] = g.unit() * 0.2
            bn.runningVariance.value[c] = 0.5 + g.unit()
        }
        let exported = try ModelExport.export(model, classNames: [], pipeline: .init(mean: [0], std: [1], augment: false), provenance: provenance)
        #expect(!exported.metadata.architecture.layers.contains { $0.op == "dropout" })
        let file = try RLFReader.read(bytes: try RLFWriter().encode(exported))
        let rebuilt = try ModelExport.sequential(from: file.model)
        #expect(maxDifference(model, rebuilt, input([5, 1, 28, 28], seed: 2)) < 1e-5)
    }

    /// A pruned MLP loses its dead and unused units physically, and still computes the same logits.
    @Test func deadUnitsAreRemoved() throws {
        let model = try ModelZoo.make("lenet-300-100", seed: 4)
        try BaselinePruner.magnitudeGlobal.prune(model, keeping: 0.02)
        let fc1 = model.layers.compactMap { $0 as? Linear }[0]
        // Kill hidden unit 0 entirely (no inputs, no bias) and unit 1's outputs.
        for i in 0..<784 { fc1.weight.value[i] = 0 }
        fc1.bias!.value[0] = 0
        let fc2 = model.layers.compactMap { $0 as? Linear }[1]
        for o in 0..<100 { fc2.weight.value[o * 300 + 1] = 0 }
        let exported = try ModelExport.export(model, classNames: [], pipeline: .init(mean: [0], std: [1], augment: false), provenance: provenance)
        let shapes = Dictionary(uniqueKeysWithValues: exported.tensors.map { ($0.name, $0.shape) })
        #expect(shapes["fc1.weight"]![0] <= 298)
        #expect(shapes["fc2.weight"]![1] == shapes["fc1.weight"]![0])
        #expect(shapes["fc3.weight"]![0] == 10)   // outputs are never removed
        let rebuilt = try ModelExport.sequential(from: try RLFReader.read(bytes: try RLFWriter().encode(exported)).model)
        #expect(maxDifference(model, rebuilt, input([8, 1, 28, 28], seed: 5)) < 1e-5)
        // No stored zero values: -0.0 from masking is written as +0.0.
        #expect(exported.tensors.allSatisfy { t in t.nnz == t.denseValues().filter { $0 != 0 }.count })
    }

    /// A residual network exports as a graph: each block's add reads its branch and its (option-A) shortcut.
    @Test func residualNetworksExportAsGraphs() throws {
        let model = try ModelZoo.make("resnet-20", seed: 1)
        let exported = try ModelExport.export(model, classNames: [], pipeline: .init(mean: [0], std: [1], augment: false), provenance: provenance)
        let layers = exported.metadata.architecture.layers
        #expect(layers.filter { $0.op == "add" }.count == 9)
        #expect(layers.filter { $0.op == "shortcut" }.count == 2)
        let add = layers.first { $0.op == "add" }!
        #expect(add.inputs.count == 2 && add.inputs[0].hasSuffix("conv2"))
        // No batch norm left: folded into the convolutions.
        #expect(!layers.contains { $0.op == "batchnorm" })
        _ = try RLFReader.read(bytes: try RLFWriter().encode(exported))
    }
}
