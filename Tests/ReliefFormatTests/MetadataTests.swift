import ReliefFormat
import Testing

@Suite struct MetadataTests {
    typealias Layer = RLFMetadata.Layer

    func metadata(_ layers: [Layer], output: String, input: [Int] = [3, 32, 32]) -> RLFMetadata {
        RLFMetadata(architecture: .init(name: "t", input: .init(shape: input, normalization: .init(scale: 1, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2])),
                                        layers: layers, output: output),
                    provenance: .init(method: "test", toolVersion: "tests"))
    }

    /// A ResNet-style block with an option-A shortcut: shapes inferred through every operator.
    @Test func residualBlockShapes() throws {
        let layers: [Layer] = [
            .init(name: "conv1", op: .conv2d, inputs: ["input"], outputShape: [16, 32, 32], weight: "c1", padding: [1, 1]),
            .init(name: "relu1", op: .relu, inputs: ["conv1"], outputShape: [16, 32, 32]),
            .init(name: "conv2", op: .conv2d, inputs: ["relu1"], outputShape: [32, 16, 16], weight: "c2", bias: "b2", stride: [2, 2], padding: [1, 1]),
            .init(name: "short", op: .shortcut, inputs: ["relu1"], outputShape: [32, 16, 16], stride: [2, 2], outChannels: 32),
            .init(name: "sum", op: .add, inputs: ["conv2", "short"], outputShape: [32, 16, 16]),
            .init(name: "pool", op: .avgpool2d, inputs: ["sum"], outputShape: [32, 8, 8], kernel: [2, 2]),
            .init(name: "gap", op: .globalavgpool2d, inputs: ["pool"], outputShape: [32]),
            .init(name: "fc", op: .linear, inputs: ["gap"], outputShape: [10], weight: "fw", bias: "fb"),
            .init(name: "prob", op: .softmax, inputs: ["fc"], outputShape: [10]),
        ]
        let shapes = ["c1": [16, 3, 3, 3], "c2": [32, 16, 3, 3], "b2": [32], "fw": [10, 32], "fb": [10]]
        let inferred = try metadata(layers, output: "prob").validate(tensorShapes: shapes)
        #expect(inferred["short"] == [32, 16, 16])
        #expect(inferred["prob"] == [10])

        // The same graph with one wrong declared shape is refused, naming the layer.
        var wrong = layers
        wrong[5].outputShape = [32, 7, 7]
        #expect(rlfError { try metadata(wrong, output: "prob").validate(tensorShapes: shapes) }
            == .layerShapeMismatch(layer: "pool", declared: [32, 7, 7], inferred: [32, 8, 8]))
        // add of unequal shapes.
        var unequal = layers
        unequal[4].inputs = ["conv2", "relu1"]
        #expect(rlfError { try metadata(unequal, output: "prob").validate(tensorShapes: shapes) }.map(caseName) == "incompatibleInputShape")
        // A window larger than its padded input.
        let tooBig: [Layer] = [.init(name: "p", op: .maxpool2d, inputs: ["input"], outputShape: [3, 1, 1], kernel: [40, 40], padding: [0, 0])]
        #expect(rlfError { try metadata(tooBig, output: "p").validate(tensorShapes: [:]) }.map(caseName) == "incompatibleInputShape")
        // A shortcut that would shrink channels.
        let shrink: [Layer] = [.init(name: "s", op: .shortcut, inputs: ["input"], outputShape: [1, 16, 16], stride: [2, 2], outChannels: 1)]
        #expect(rlfError { try metadata(shrink, output: "s").validate(tensorShapes: [:]) }.map(caseName) == "invalidLayerAttribute")
    }

    @Test func jsonRoundTripAndErrors() throws {
        let m = metadata([.init(name: "f", op: .flatten, inputs: ["input"], outputShape: [3072])], output: "f")
        #expect(try RLFMetadata.parse(try m.jsonData()) == m)
        #expect(rlfError { _ = try RLFMetadata.parse(Data("[]".utf8)) }.map(caseName) == "invalidMetadata")
    }
}

import Foundation
