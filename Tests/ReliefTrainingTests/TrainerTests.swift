import Foundation
import ReliefData
import ReliefRandom
import ReliefTestSupport
import ReliefTraining
import Testing

func toySet(count: Int, seed: UInt64) -> ImageSet { ToyData.bands(count: count, seed: seed) }
func temporaryFolder() -> String { ToyData.temporaryFolder() }

func trainingError(_ body: () throws -> Void) -> TrainingError? {
    do { try body() } catch let e as TrainingError { return e } catch { Issue.record("unexpected \(error)") }
    return nil
}

@Suite struct TrainerTests {
    static let train = toySet(count: 240, seed: 1)
    static let test = toySet(count: 100, seed: 2)

    func trainer(epochs: Int, optimizer: TrainingConfig.OptimizerKind = .adam, seed: UInt64 = 3) throws -> Trainer {
        var config = TrainingConfig(model: "lenet-300-100", dataset: "toy", epochs: epochs)
        config.batchSize = 32
        config.optimizer = optimizer
        config.learningRate = optimizer == .adam ? 1e-3 : 0.05
        config.milestones = [1]
        config.seed = seed
        return try Trainer(model: try ModelZoo.make("lenet-300-100", seed: seed), config: config, train: Self.train,
                           test: Self.test, pipeline: InputPipeline(mean: [0], std: [1], augment: false))
    }

    @Test func learnsASeparableProblem() throws {
        let t = try trainer(epochs: 3)
        var last: EpochRecord?
        for _ in 0..<3 { last = t.runEpoch() }
        #expect((last?.testAccuracy ?? 0) > 0.9, "seed 3: \(String(describing: last))")
        #expect(t.history.map(\.epoch) == [1, 2, 3])
        #expect(abs(t.history[1].learningRate - 1e-4) < 1e-9)   // milestone at epoch 1
    }

    /// Two epochs straight equal one epoch, a checkpoint written and read back, and one more epoch.
    @Test(arguments: [TrainingConfig.OptimizerKind.adam, .sgd])
    func resumingIsExact(optimizer: TrainingConfig.OptimizerKind) throws {
        let straight = try trainer(epochs: 2, optimizer: optimizer)
        _ = straight.runEpoch()
        _ = straight.runEpoch()

        let first = try trainer(epochs: 2, optimizer: optimizer)
        _ = first.runEpoch()
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try first.checkpoint().write(to: dir + "/c.safetensors")
        let resumed = try trainer(epochs: 2, optimizer: optimizer, seed: 3)
        // A fresh model (other random weights) restored from the checkpoint.
        for p in resumed.model.parameters { for i in p.value.indices { p.value[i] = 0.5 } }
        try resumed.resume(from: try Checkpoint.read(path: dir + "/c.safetensors"))
        #expect(resumed.completedEpochs == 1)
        _ = resumed.runEpoch()
        for (a, b) in zip(straight.model.parameters, resumed.model.parameters) {
            #expect(a.value == b.value, "\(optimizer): \(a.name) differs after resuming")
        }
        #expect(straight.history.last?.testAccuracy == resumed.history.last?.testAccuracy)
    }

    @Test func maskedWeightsStayZero() throws {
        let t = try trainer(epochs: 1)
        var g = SeededGenerator(seed: 4)
        for p in t.model.prunableParameters {
            p.mask = (0..<p.count).map { _ in g.next() % 3 == 0 ? 0 : 1 }
            p.applyMask()
        }
        _ = t.runEpoch()
        for p in t.model.prunableParameters {
            let mask = p.mask!
            #expect(zip(p.value, mask).allSatisfy { $1 != 0 || $0 == 0 }, "\(p.name) has a pruned entry that is not zero")
            #expect(zip(p.value, mask).contains { $1 != 0 && $0 != 0 }, "\(p.name) has no live entries")
        }
        #expect(t.model.remainingFraction < 0.75 && t.model.remainingFraction > 0.55)
    }

    @Test func badCheckpointsAreClearErrors() throws {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try trainer(epochs: 1)
        try t.checkpoint().write(to: dir + "/c.safetensors")
        let good = try Data(contentsOf: URL(fileURLWithPath: dir + "/c.safetensors"))

        // Another architecture.
        let other = try ModelZoo.make("lenet-5", seed: 1)
        #expect(trainingError { try Checkpoint.read(path: dir + "/c.safetensors").restore(into: other) }.map { "\($0)" }?
            .contains("lenet-300-100") == true)
        // A truncated file, garbage, a missing file.
        try good.prefix(good.count - 100).write(to: URL(fileURLWithPath: dir + "/cut.safetensors"))
        #expect(trainingError { _ = try Checkpoint.read(path: dir + "/cut.safetensors") } != nil)
        try Data("not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: dir + "/junk.safetensors"))
        #expect(trainingError { _ = try Checkpoint.read(path: dir + "/junk.safetensors") } != nil)
        #expect(trainingError { _ = try Checkpoint.read(path: dir + "/none.safetensors") }
            == .checkpointUnreadable(path: dir + "/none.safetensors", reason: "no such file"))
        // A safetensors file that is not a Relief checkpoint.
        try SafetensorsFile(tensors: ["w": Tensor(zeros: [2])]).write(to: dir + "/plain.safetensors")
        #expect(trainingError { _ = try Checkpoint.read(path: dir + "/plain.safetensors") }.map { "\($0)" }?.contains("not a Relief checkpoint") == true)
        // A weight of the wrong shape.
        var file = try SafetensorsFile.read(path: dir + "/c.safetensors")
        file.tensors["fc2.weight"] = Tensor(zeros: [100, 299])
        try file.write(to: dir + "/shape.safetensors")
        #expect(trainingError { try Checkpoint.read(path: dir + "/shape.safetensors").restore(into: try ModelZoo.make("lenet-300-100", seed: 1)) }
            == .checkpointMismatch(reason: "tensor fc2.weight has shape [100, 299], the model needs [100, 300]"))
    }

    @Test func safetensorsValidation() throws {
        let good = SafetensorsFile(tensors: ["a": Tensor(shape: [2], data: [1, 2]), "b": Tensor(shape: [1, 1], data: [3])],
                                   metadata: ["k": "v"]).encoded()
        #expect(try SafetensorsFile.parse(good, path: "x").tensors["b"]?.data == [3])
        func header(_ json: String, data: Int) -> [UInt8] {
            var h = Array(json.utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            return (0..<8).map { UInt8(truncatingIfNeeded: h.count >> (8 * $0)) } + h + [UInt8](repeating: 0, count: data)
        }
        let cases: [(String, [UInt8])] = [
            ("too short", [1, 2, 3]),
            ("header past the end", [255, 255, 0, 0, 0, 0, 0, 0]),
            ("not JSON", header("[1,2]", data: 0)),
            ("wrong dtype", header(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: 4)),
            ("size lies", header(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: 8)),
            ("overlap", header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8)),
            ("hole", header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8)),
            ("trailing", header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 8)),
            ("negative", header(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: 4)),
        ]
        for (what, bytes) in cases {
            #expect(trainingError { _ = try SafetensorsFile.parse(bytes, path: "x") } != nil, "\(what) was accepted")
        }
    }
}

@Suite struct ModelZooTests {
    @Test func parameterCountsMatchTheAuthors() throws {
        func count(_ name: String) throws -> Int { try ModelZoo.make(name, seed: 1).prunableParameters.reduce(0) { $0 + $1.count } }
        #expect(try count("lenet-300-100") == 266_610)
        #expect(try count("lenet-5") == 431_080)
    }

    @Test(arguments: ModelZoo.names)
    func everyModelRunsForwardAndBackward(name: String) throws {
        let model = try ModelZoo.make(name, seed: 1)
        var g = SeededGenerator(seed: 2)
        let shape = [2] + model.inputShape
        let x = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in g.normal() })
        let y = model.forward(x, training: true)
        #expect(y.shape == [2, 10])
        #expect(y.data.allSatisfy { $0.isFinite })
        model.backward(SoftmaxCrossEntropy.lossAndGradient(logits: y, labels: [1, 7]).gradient)
        #expect(model.parameters.filter { $0.trainable }.allSatisfy { $0.grad.allSatisfy { $0.isFinite } })
    }

    @Test func unknownNamesAreErrors() {
        #expect(trainingError { _ = try ModelZoo.make("resnet-18", seed: 1) } != nil)
        #expect(trainingError { _ = try ModelZoo.make("vgg-12", seed: 1) } != nil)
        #expect(trainingError { _ = try ModelZoo.inputShape(of: "alexnet") }.map { "\($0)" }?.contains("lenet-300-100") == true)
    }

    /// Kaiming-normal initialisation: weight std √(2 / fan-in).
    @Test func initialisationScale() throws {
        let model = try ModelZoo.make("lenet-300-100", seed: 5)
        let w = model.parameters.first { $0.name == "fc1.weight" }!.value
        let std = (w.map { Double($0 * $0) }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(abs(std - (2.0 / 784).squareRoot()) < 0.002)
    }
}
