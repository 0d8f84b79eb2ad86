import Foundation
import ReliefFormat
import ReliefKernels
@testable import ReliefRuntime
import Testing

/// Whole-plan tuning of each convolution's direct-or-im2col choice (`InferenceModel.PlanTuning`).
@Suite struct PlanTuningTests {
    /// Greedy in layer order: each tunable convolution (on im2col) is offered direct, one at a time,
    /// against the plan as it stands after the earlier decisions; only accepted flips stay, layers
    /// not offered (a cached choice, a direct one, a fully connected layer) never change, and
    /// nothing is offered once the time budget is spent.
    @Test func eachConvolutionIsTriedDirectAgainstThePlanSoFar() throws {
        let initial = ["conv1": "bitmask", "conv2": "csr", "conv3": "csr", "conv4": "direct", "fc": "sell16"]
        var asked: [(trial: [String: String], current: [String: String])] = []
        // Accepts conv2 direct, and conv3 direct only once conv2 is; refuses conv1.
        let tuned = try InferenceModel.PlanTuning.tune(initial, tunable: ["conv1", "conv2", "conv3"]) { trial, current in
            asked.append((trial, current))
            return trial["conv2"] == "direct" && current["conv2"] != "direct" || trial["conv3"] == "direct" && current["conv2"] == "direct"
        }
        #expect(tuned == ["conv1": "bitmask", "conv2": "direct", "conv3": "direct", "conv4": "direct", "fc": "sell16"])
        try #require(asked.count == 3)
        #expect(asked[0].trial["conv1"] == "direct" && asked[0].current == initial)
        #expect(asked[1].trial["conv2"] == "direct" && asked[1].current == initial)
        // The third question is asked of the plan with conv2's flip kept.
        #expect(asked[2].current["conv2"] == "direct" && asked[2].trial["conv3"] == "direct")
        for (trial, current) in asked {
            #expect(trial.filter { current[$0.key] != $0.value }.count == 1, "one layer flipped at a time: \(trial) vs \(current)")
        }
        // Out of time before the first layer: nothing is tried.
        var tried = 0
        let untouched = try InferenceModel.PlanTuning.tune(initial, tunable: ["conv1", "conv2"], budget: 0) { _, _ in
            tried += 1
            return true
        }
        #expect(untouched == initial && tried == 0)
    }

    /// A `.fastest` plan of LeNet-5 is tuned; its choices, given back as the cache (what relief-infer
    /// stores beside the model), rebuild the same plan with nothing left to tune, and it computes
    /// what the plan forced onto CSR computes.
    @Test func tunedChoicesRebuildTheSamePlanFromTheCache() throws {
        let seed: UInt64 = 53
        let model = try RuntimeModelTests.prunedModel("lenet-5", density: 0.2, seed: seed)
        let file = try RuntimeModelTests.exported(model)
        for batch in [1, 16] {
            let tuned = try InferenceModel(file, policy: .fastest(batch: batch))
            let choices = tuned.kernelChoices
            let convolutions = tuned.weightedLayers.filter { if case .convolution = $0.node.operation { true } else { false } }
            #expect(convolutions.count == 2)
            for (node, _) in convolutions {
                let name = try #require(choices[node.name])
                #expect(InferenceModel.convolutionKernels.contains(name) || KernelTable.builtIn.contains { $0.name == name && $0.automatic }, "\(node.name): \(name)")
            }
            let again = try InferenceModel(file, policy: .fastest(batch: batch, cached: choices))
            #expect(again.kernelChoices == choices, "batch \(batch)")
            #expect(try InferenceModel.tunedChoices(file, batch: batch, cached: choices, table: KernelTable.builtIn,
                                                    reuse: InferenceModel.BuiltKernels()) == choices)

            let x = RuntimeModelTests.input(model.inputShape, batch: batch, seed: seed &+ UInt64(batch))
            let expected = try InferenceSession(model: try InferenceModel(file, policy: .forced("csr")), maxBatch: batch).run(x, batch: batch)
            let y = try InferenceSession(model: tuned, maxBatch: batch).run(x, batch: batch)
            let error = RuntimeModelTests.maxError(y, expected)
            #expect(error < 1e-4, "batch \(batch), seed \(seed): \(choices), max relative error \(error)")
        }
    }
}
