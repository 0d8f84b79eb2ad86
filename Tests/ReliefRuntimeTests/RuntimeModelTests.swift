import Foundation
import ReliefExport
import ReliefFormat
import ReliefKernels
import ReliefKernelsCHOLMOD
import ReliefRandom
import ReliefRuntime
import ReliefTraining
import Testing

/// The runtime against the training engine's evaluation forward pass: every model of the zoo, with
/// random weights pruned to several densities and random batch-norm statistics (so folding is
/// exercised), exported, written, read back and run.
@Suite struct RuntimeModelTests {
    static let provenance = RLFMetadata.Provenance(method: "test", toolVersion: "tests")

    /// A zoo model with seeded weights, a random fraction `density` of its weights kept, and
    /// non-trivial batch-norm statistics.
    static func prunedModel(_ name: String, density: Double, seed: UInt64) throws -> Sequential {
        let model = try ModelZoo.make(name, seed: seed)
        var g = SeededGenerator(seed: seed &+ 17)
        for p in model.prunableParameters where density < 1 {
            for i in 0..<p.count where Double(g.unit()) >= density { p.value[i] = 0 }
        }
        for p in model.parameters {
            switch p.kind {
            case .normWeight: for i in 0..<p.count { p.value[i] = 0.5 + g.unit() }
            case .normBias: for i in 0..<p.count { p.value[i] = g.unit() - 0.5 }
            default: break
            }
        }
        for layer in model.layers.flatMap(Self.norms) {
            for c in 0..<layer.channels {
                layer.runningMean.value[c] = 0.2 * (g.unit() - 0.5)
                layer.runningVariance.value[c] = 0.5 + g.unit()
            }
        }
        return model
    }

    static func norms(_ layer: Layer) -> [BatchNorm2d] {
        if let bn = layer as? BatchNorm2d { return [bn] }
        if let r = layer as? ResidualBlock { return [r.bn1, r.bn2] }
        return []
    }

    static func exported(_ model: Sequential) throws -> RLFModel {
        let m = try ModelExport.export(model, classNames: [], pipeline: .init(mean: [0], std: [1], augment: false), provenance: provenance)
        return try RLFReader.read(bytes: try RLFWriter().encode(m)).model
    }

    static func input(_ shape: [Int], batch: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<(batch * shape.reduce(1, *))).map { _ in g.unit() }
    }

    static func maxError(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
    }

    @Test(arguments: ModelZoo.names)
    func zooModelMatchesTheTrainingEngine(name: String) throws {
        let big = name.hasPrefix("vgg-1") || name == "resnet-110" || name == "resnet-56"
        for density in big ? [0.1] : [1.0, 0.3, 0.05] {
            let seed = UInt64(name.utf8.reduce(0) { $0 &* 31 &+ UInt32($1) }) &+ UInt64(density * 100)
            let model = try Self.prunedModel(name, density: density, seed: seed)
            let batch = 3
            let x = Self.input(model.inputShape, batch: batch, seed: seed)
            let expected = model.forward(Tensor(shape: [batch] + model.inputShape, data: x), training: false).data
            let file = try Self.exported(model)
            let kernels: [InferenceModel.KernelPolicy] = big ? [.fastest(batch: batch), .forced("direct"), .forced("strips")] : [.forced("dense"), .forced("csr"), .forced("bitmask"), .forced("sell8"), .forced("sellsigma"), .forced("sellsigma16"), .forced("sell16"), .forced("direct"), .forced("strips"), .fastest(batch: batch), .fastest(batch: 1)]
            for policy in kernels {
                let runtime = try InferenceModel(file, policy: policy)
                let session = try InferenceSession(model: runtime, maxBatch: 4, threads: 2)
                let y = try session.run(x, batch: batch)
                let error = Self.maxError(y, expected)
                #expect(error < 1e-4, "\(name), density \(density), \(policy), seed \(seed): max relative error \(error)")
            }
        }
    }

    /// At batches of 8 and more the convolutions that run batch-interleaved hand their outputs to the
    /// next convolution or pooling in that layout (no transposes between them) and compute the 2x2
    /// max pooling after them; the outputs still match the training engine, with a partial last
    /// group of images and split between threads.
    @Test(arguments: [("vgg-11", 0.1), ("resnet-20", 0.3)])
    func interleavedHandOffsMatchTheTrainingEngine(name: String, density: Double) throws {
        let seed: UInt64 = name == "vgg-11" ? 41 : 43
        let model = try Self.prunedModel(name, density: density, seed: seed)
        let file = try Self.exported(model)
        let runtime = try InferenceModel(file, policy: .forced("direct"))
        for batch in [11, 16] {
            let x = Self.input(model.inputShape, batch: batch, seed: seed &+ UInt64(batch))
            let expected = model.forward(Tensor(shape: [batch] + model.inputShape, data: x), training: false).data
            for threads in [1, 2] {
                let session = try InferenceSession(model: runtime, maxBatch: 16, threads: threads)
                let y = try session.run(x, batch: batch, profile: threads == 1)
                let error = Self.maxError(y, expected)
                #expect(error < 1e-4, "\(name), batch \(batch), \(threads) threads, seed \(seed): max relative error \(error)")
                guard SIMDSupport.avx2FMA && threads == 1 else { continue }
                // The hand-offs this test is about did happen: VGG-11's convolutions and poolings from conv2
                // on, ResNet-20's first convolution of each block in the later stages.
                let interleaved = runtime.nodes.indices.filter { session.layouts[$0].isInterleaved }.map { runtime.nodes[$0].name }
                let minimum = name == "vgg-11" ? 10 : 4
                #expect(interleaved.count >= minimum, "\(name), batch \(batch): interleaved outputs \(interleaved)")
                // VGG-11's max poolings after conv2, conv4, conv6 and conv8 are computed inside them.
                let fused = runtime.nodes.indices.filter { session.fusedPools[$0] }.map { runtime.nodes[$0].name }
                #expect(name != "vgg-11" || fused.count >= 4, "\(name), batch \(batch): fused poolings \(fused)")
            }
        }
    }

    /// At small batches the first convolution of each ResNet-20 block writes the padded copy the
    /// second one reads (`ActivationLayout.padded`). The outputs match the training engine, also
    /// with batches of different sizes in turn in one session: the layout's zeros move with the
    /// batch, and are only taken as in place after a run at the same batch.
    @Test func paddedHandOffsMatchTheTrainingEngine() throws {
        let seed: UInt64 = 47
        let model = try Self.prunedModel("resnet-20", density: 0.1, seed: seed)
        let runtime = try InferenceModel(try Self.exported(model), policy: .forced("direct"))
        let session = try InferenceSession(model: runtime, maxBatch: 3, threads: 1)
        for (step, batch) in [1, 3, 1, 1, 2, 3, 2, 1].enumerated() {
            let x = Self.input(model.inputShape, batch: batch, seed: seed &+ UInt64(step))
            let expected = model.forward(Tensor(shape: [batch] + model.inputShape, data: x), training: false).data
            let y = try session.run(x, batch: batch)
            let error = Self.maxError(y, expected)
            #expect(error < 1e-4, "resnet-20, step \(step), batch \(batch), seed \(seed): max relative error \(error)")
            guard SIMDSupport.avx2FMA else { continue }
            let padded = runtime.nodes.indices.filter { k in
                guard case .padded = session.layouts[k], case .convolution = runtime.nodes[k].operation else { return false }
                return true
            }
            #expect(padded.count == 9, "resnet-20, batch \(batch): padded outputs \(padded.map { runtime.nodes[$0].name })")
        }
    }

    /// On the strip path every first convolution of a ResNet-20 block (strides 1 and 2) writes the
    /// row-padded layout its second one's aligned taps read in place (`paddedInput`), at every batch;
    /// the outputs match the training engine, on one and two threads, batches changing in turn.
    @Test func stripHandOffsMatchTheTrainingEngine() throws {
        guard SIMDSupport.avx512 else { return }
        let seed: UInt64 = 53
        let model = try Self.prunedModel("resnet-20", density: 0.1, seed: seed)
        let runtime = try InferenceModel(try Self.exported(model), policy: .forced("strips"))
        for threads in [1, 2] {
            let session = try InferenceSession(model: runtime, maxBatch: 9, threads: threads)
            for (step, batch) in [1, 9, 2, 2, 1].enumerated() {
                let x = Self.input(model.inputShape, batch: batch, seed: seed &+ UInt64(step))
                let expected = model.forward(Tensor(shape: [batch] + model.inputShape, data: x), training: false).data
                let y = try session.run(x, batch: batch)
                let error = Self.maxError(y, expected)
                #expect(error < 1e-4, "resnet-20, \(threads) threads, step \(step), batch \(batch), seed \(seed): max relative error \(error)")
                let padded = runtime.nodes.indices.filter { k in
                    guard session.layouts[k] == .padded(padY: 1, padX: 0), case .convolution = runtime.nodes[k].operation else { return false }
                    return true
                }
                #expect(padded.count == 9, "resnet-20, batch \(batch): row-padded outputs \(padded.map { runtime.nodes[$0].name })")
            }
        }
    }

    /// Below a batch of 8 (and for LeNet-5's full 5x5 filters at any batch) the direct convolutions run
    /// planar row tiles, which compute the 2x2 max pooling after them as they write: both of
    /// LeNet-5's poolings are fused, their outputs planar, and the outputs match the training engine.
    @Test(arguments: [1, 5, 16])
    func rowTilesComputeLeNet5sPoolings(batch: Int) throws {
        let seed = UInt64(50 + batch)
        let model = try Self.prunedModel("lenet-5", density: 1.0, seed: seed)
        let runtime = try InferenceModel(try Self.exported(model), policy: .forced("direct"))
        let x = Self.input(model.inputShape, batch: batch, seed: seed)
        let expected = model.forward(Tensor(shape: [batch] + model.inputShape, data: x), training: false).data
        for threads in [1, 2] {
            let session = try InferenceSession(model: runtime, maxBatch: batch, threads: threads)
            let y = try session.run(x, batch: batch)
            let error = Self.maxError(y, expected)
            #expect(error < 1e-4, "lenet-5, batch \(batch), \(threads) threads, seed \(seed): max relative error \(error)")
            // (On two threads a batch of 16 is split between per-thread sessions, which keep their own.)
            guard SIMDSupport.avx2FMA && threads == 1 else { continue }
            let fused = runtime.nodes.indices.filter { session.fusedPools[$0] }.map { runtime.nodes[$0].name }
            #expect(fused.count == 2, "batch \(batch): fused poolings \(fused)")
            #expect(runtime.nodes.indices.allSatisfy { session.layouts[$0] == .planar }, "batch \(batch): row tiles write planar")
        }
    }

    /// Input features no weight of the first layer reads (here every column of fc1 but the middle
    /// 14 x 14 pixels) are neither transposed nor kept in its kernel; the outputs still match the
    /// training engine at batches 1 to 16, on one and two threads, and a dense plan keeps them all.
    @Test func unreadInputFeaturesAreLeftOut() throws {
        let seed: UInt64 = 61
        let model = try Self.prunedModel("lenet-300-100", density: 0.3, seed: seed)
        let fc1 = model.prunableParameters[0]
        #expect(fc1.count == 300 * 784)
        let read = (0..<784).filter { ($0 / 28) >= 7 && ($0 / 28) < 21 && ($0 % 28) >= 7 && ($0 % 28) < 21 }
        let readSet = Set(read)
        for i in 0..<fc1.count where !readSet.contains(i % 784) { fc1.value[i] = 0 }
        let file = try Self.exported(model)
        for policy in [InferenceModel.KernelPolicy.fastest(batch: 8), .forced("csr"), .forced("sell8"), .forced("sell16"), .forced("dense")] {
            let runtime = try InferenceModel(file, policy: policy)
            if case .forced("dense") = policy {
                #expect(runtime.inputFeatures == nil, "a dense plan keeps every input feature")
            } else {
                #expect(runtime.inputFeatures == read.map { Int32($0) }, "\(policy): \(runtime.inputFeatures?.count ?? 784) features kept")
                #expect(runtime.nodes[0].outputShape == [read.count])
            }
            for batch in [1, 9, 16] {
                let x = Self.input(model.inputShape, batch: batch, seed: seed &+ UInt64(batch))
                let expected = model.forward(Tensor(shape: [batch] + model.inputShape, data: x), training: false).data
                for threads in [1, 2] {
                    let session = try InferenceSession(model: runtime, maxBatch: 16, threads: threads)
                    let error = Self.maxError(try session.run(x, batch: batch), expected)
                    #expect(error < 1e-4, "\(policy), batch \(batch), \(threads) threads, seed \(seed): max relative error \(error)")
                }
            }
        }
        // The report still counts fc1's dense work and density over all 784 columns.
        let report = try InferenceReport.measure(file, fileBytes: 0, batches: [2], seconds: 0.01, sparsePolicy: { _ in .forced("csr") })
        let row = try #require(report.layers["2"]?.first { $0.name == "fc1" })
        #expect(row.denseFLOPs == 2 * 300 * 784 * 2 && row.weightShape == [300, 784], "\(row.denseFLOPs), \(row.weightShape)")
        #expect(abs(row.density - Double(row.nonzeros) / Double(300 * 784)) < 1e-12)
    }

    /// A ReLU whose producer (convolution, linear or addition) has no other reader is folded into it;
    /// a ReLU after pooling, or after a node something else also reads, is not.
    @Test func reluIsFusedIntoItsOnlyProducer() throws {
        let mlp = try InferenceModel(try Self.exported(try Self.prunedModel("lenet-300-100", density: 0.3, seed: 2)))
        let fused = mlp.reluFusedInto.enumerated().compactMap { k, p in p.map { "\(mlp.nodes[$0].name)>\(mlp.nodes[k].name)" } }
        #expect(fused.count == 2 && fused.allSatisfy { $0.hasPrefix("fc") }, "\(fused)")
        let resnet = try InferenceModel(try Self.exported(try Self.prunedModel("resnet-20", density: 0.3, seed: 3)))
        for (k, p) in resnet.reluFusedInto.enumerated() {
            guard let p else { continue }
            #expect(p == k - 1 && resnet.nodes[k].op == "relu")
            #expect(["conv2d", "add", "linear"].contains(resnet.nodes[p].op))
        }
        #expect(resnet.reluFusedInto.contains { $0.map { resnet.nodes[$0].op == "add" } ?? false })
    }

    /// A residual addition right after a direct convolution is folded into it when its other operand
    /// is computed earlier: identity shortcuts, and the downsampling (option-A) shortcuts too, which
    /// the plan computes right after the layer they read instead of after the block's second
    /// convolution, where the file lists them; not when the convolution is not direct.
    @Test func additionIsFusedIntoTheDirectConvolutionBeforeIt() throws {
        let file = try Self.exported(try Self.prunedModel("resnet-20", density: 0.3, seed: 4))
        let direct = try InferenceModel(file, policy: .forced("direct"))
        let fused = direct.additionFusedInto.enumerated().compactMap { k, p in p.map { "\(direct.nodes[$0].name)>\(direct.nodes[k].name)" } }
        // Nine blocks, every addition after its second convolution.
        #expect(fused.count == 9 && fused.allSatisfy { $0.hasSuffix(".add") && $0.contains("conv2>") }, "\(fused)")
        #expect(fused.contains("layer2.0.conv2>layer2.0.add") && fused.contains("layer3.0.conv2>layer3.0.add"), "\(fused)")
        for (k, node) in direct.nodes.enumerated() where node.op == "shortcut" {
            #expect(node.input == k - 1, "\(node.name) right after the layer it reads")
        }
        let csr = try InferenceModel(file, policy: .forced("csr"))
        #expect(csr.additionFusedInto.allSatisfy { $0 == nil })
    }

    @Test func suiteSparseBackendsRunWholeModels() throws {
        let model = try Self.prunedModel("lenet-5", density: 0.2, seed: 9)
        let x = Self.input(model.inputShape, batch: 2, seed: 9)
        let expected = model.forward(Tensor(shape: [2] + model.inputShape, data: x), training: false).data
        let file = try Self.exported(model)
        for kernel in ["cxsparse", "cholmod"] {
            let runtime = try InferenceModel(file, policy: .forced(kernel), table: KernelTable.builtIn + [CHOLMODKernel.entry])
            let y = try InferenceSession(model: runtime, maxBatch: 2).run(x, batch: 2)
            #expect(Self.maxError(y, expected) < 1e-4, "kernel \(kernel)")
        }
    }

    @Test func batchesOfOneToMaxGiveTheSameRowsAsOneByOne() throws {
        let model = try Self.prunedModel("lenet-5", density: 0.1, seed: 21)
        let runtime = try InferenceModel(try Self.exported(model), policy: .forced("csr"))
        let session = try InferenceSession(model: runtime, maxBatch: 100)
        let x = Self.input(model.inputShape, batch: 100, seed: 21)
        let all = try session.run(x, batch: 100)
        let single = try InferenceSession(model: runtime, maxBatch: 1)
        for b in [0, 1, 37, 99] {
            let one = try single.run(Array(x[(b * 784)..<((b + 1) * 784)]), batch: 1)
            #expect(Self.maxError(one, Array(all[(b * 10)..<((b + 1) * 10)])) < 1e-5, "example \(b)")
        }
    }

    /// One loaded model, several threads each with its own session: the same results as sequential runs.
    @Test func concurrentInferencesMatchSequentialOnes() throws {
        let model = try Self.prunedModel("lenet-300-100", density: 0.05, seed: 31)
        let runtime = try InferenceModel(try Self.exported(model), policy: .fastest(batch: 8))
        let inputs = (0..<8).map { Self.input(model.inputShape, batch: 8, seed: 100 + UInt64($0)) }
        // The same thread count as below: a dense product split differently may round differently.
        let sequential = try inputs.map { try InferenceSession(model: runtime, maxBatch: 8, threads: 2).run($0, batch: 8) }
        let results = Results(count: inputs.count)
        DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
            do {
                let session = try InferenceSession(model: runtime, maxBatch: 8, threads: 2)
                var last: [Float] = []
                for _ in 0..<20 { last = try session.run(inputs[i], batch: 8) }
                results.set(i, last)
            } catch {
                results.set(i, [])
            }
        }
        for i in inputs.indices { #expect(results.get(i) == sequential[i], "thread \(i)") }
    }

    /// Several threads and a batch large enough (examples and work): the batch is split into parts
    /// that each run the whole network on one thread; every example's outputs are those of a
    /// one-thread session, split or not.
    @Test func batchesSplitBetweenThreadsMatchOneThread() throws {
        // LeNet-300-100 at 1% (about 3k multiply-adds per example) stays below `splitWork` per part.
        for (name, density, bigEnough) in [("lenet-300-100", 0.01, false), ("lenet-5", 0.1, true), ("resnet-20", 0.2, true)] {
            let model = try Self.prunedModel(name, density: density, seed: 41)
            let runtime = try InferenceModel(try Self.exported(model), policy: .fastest(batch: 8))
            let maxBatch = 13
            let x = Self.input(model.inputShape, batch: maxBatch, seed: 41)
            let one = try InferenceSession(model: runtime, maxBatch: maxBatch, threads: 1)
            for threads in [2, 3] {
                let split = try InferenceSession(model: runtime, maxBatch: maxBatch, threads: threads)
                // Below and at the split size, uneven parts, and the whole batch.
                for batch in [1, 7, 8, 9, 12, 13] {
                    let input = Array(x[..<(batch * model.inputShape.reduce(1, *))])
                    let expected = try one.run(input, batch: batch)
                    let y = try split.run(input, batch: batch)
                    #expect(Self.maxError(y, expected) < 1e-5, "\(name), \(threads) threads, batch \(batch), seed 41")
                    // Batches of 4 per thread are split, unless the network is too small to be worth it.
                    #expect(split.splits(batch: batch) == (bigEnough && batch >= InferenceSession.splitBatch * threads),
                            "\(name), \(threads) threads, batch \(batch)")
                }
            }
        }
    }

    @Test func wrongBatchesAndInputsAreErrors() throws {
        let runtime = try InferenceModel(try Self.exported(try Self.prunedModel("lenet-300-100", density: 0.1, seed: 1)), policy: .forced("csr"))
        let session = try InferenceSession(model: runtime, maxBatch: 2)
        #expect(throws: InferenceError.badBatch(expected: "1 to 2", found: 3)) { try session.run([Float](repeating: 0, count: 3 * 784), batch: 3) }
        #expect(throws: InferenceError.inputSize(expected: 784, found: 783)) { try session.run([Float](repeating: 0, count: 783), batch: 1) }
        #expect(throws: InferenceError.self) { try InferenceSession(model: runtime, maxBatch: 0) }
        #expect(throws: InferenceError.unknownKernel("fast", known: KernelTable.builtIn.map(\.name) + ["direct", "strips"])) {
            try InferenceModel(try Self.exported(try Self.prunedModel("lenet-300-100", density: 0.1, seed: 1)), policy: .forced("fast"))
        }
    }
}

/// Results written by several threads, each to its own slot.
final class Results: @unchecked Sendable {
    private var values: [[Float]]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: [], count: count) }
    func set(_ i: Int, _ v: [Float]) { lock.lock(); values[i] = v; lock.unlock() }
    func get(_ i: Int) -> [Float] { lock.lock(); defer { lock.unlock() }; return values[i] }
}

/// A ResNet pruned by NNrelief, shortcut gates included, runs in the runtime as in the trainer.
@Suite struct PrunedResidualRuntimeTests {
    @Test func closedShortcutsExportAndRun() throws {
        let model = try ModelZoo.make("resnet-20", seed: 11)
        let block = model.layers.compactMap { $0 as? ResidualBlock }[4]
        block.shortcutGate.value[3] = 0
        block.shortcutGate.value[7] = 0
        let x = RuntimeModelTests.input(model.inputShape, batch: 2, seed: 11)
        let expected = model.forward(Tensor(shape: [2] + model.inputShape, data: x), training: false).data
        let file = try RuntimeModelTests.exported(model)
        #expect(file.metadata.architecture.layers.contains { $0.name == block.name + ".shortcut_gate" })
        let y = try InferenceSession(model: try InferenceModel(file, policy: .forced("csr")), maxBatch: 2).run(x, batch: 2)
        #expect(RuntimeModelTests.maxError(y, expected) < 1e-4)
    }
}
