import ReliefFormat
import ReliefRandom
import ReliefRuntime
import Testing

/// Units that cannot affect the output are removed from the plan, and the outputs do not change.
@Suite struct DeadUnitTests {
    @Test func deadAndUnreadUnitsLeaveThePlan() throws {
        var g = SeededGenerator(seed: 42)
        let (inputs, hidden, outputs) = (20, 8, 3)
        var w1 = (0..<(hidden * inputs)).map { _ in g.normal() }
        var b1 = (0..<hidden).map { _ in g.normal() }
        var w2 = (0..<(outputs * hidden)).map { _ in g.normal() }
        let b2 = (0..<outputs).map { _ in g.normal() }
        // Unit 2: no inputs, negative bias: always zero after the ReLU. Unit 5: nothing reads it.
        // Unit 6: no inputs but a positive bias: a constant the next layer uses, so it stays.
        for i in 0..<inputs { w1[2 * inputs + i] = 0; w1[6 * inputs + i] = 0 }
        b1[2] = -0.5
        b1[6] = 0.7
        for o in 0..<outputs { w2[o * hidden + 5] = 0 }
        let layers = [
            RLFMetadata.Layer(name: "fc1", op: .linear, inputs: ["input"], outputShape: [hidden], weight: "fc1.weight", bias: "fc1.bias"),
            RLFMetadata.Layer(name: "relu", op: .relu, inputs: ["fc1"], outputShape: [hidden]),
            RLFMetadata.Layer(name: "fc2", op: .linear, inputs: ["relu"], outputShape: [outputs], weight: "fc2.weight", bias: "fc2.bias"),
        ]
        let model = RLFModel(metadata: RLFMetadata(architecture: .init(name: "mlp", input: .init(shape: [inputs], normalization: .unitBytes),
                                                                      layers: layers, output: "fc2"),
                                                   provenance: .init(method: "test", toolVersion: "tests")),
                             tensors: [RLFTensor(name: "fc1.weight", shape: [hidden, inputs], values: w1), RLFTensor(name: "fc1.bias", shape: [hidden], values: b1),
                                       RLFTensor(name: "fc2.weight", shape: [outputs, hidden], values: w2), RLFTensor(name: "fc2.bias", shape: [outputs], values: b2)])
        let runtime = try InferenceModel(model, policy: .forced("csr"))
        #expect(runtime.removedUnits == ["fc1": 2])
        #expect(runtime.nodes[0].outputShape == [hidden - 2])
        let x = (0..<(4 * inputs)).map { _ in g.normal() }
        let y = try InferenceSession(model: runtime, maxBatch: 4).run(x, batch: 4)
        for b in 0..<4 {
            let h = (0..<hidden).map { u in max(0, b1[u] + (0..<inputs).reduce(Float(0)) { $0 + w1[u * inputs + $1] * x[b * inputs + $1] }) }
            for o in 0..<outputs {
                let expected = b2[o] + (0..<hidden).reduce(Float(0)) { $0 + w2[o * hidden + $1] * h[$1] }
                #expect(abs(y[b * outputs + o] - expected) < 1e-4, "example \(b), output \(o)")
            }
        }
    }
}
