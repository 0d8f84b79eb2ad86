import Foundation
import ReliefFormat
import ReliefRandom
import ReliefRuntime
import ReliefTraining
import Testing

/// Batches run in chunks (`InferenceSession.chunk`): the same outputs as the training engine,
/// whatever the chunk and however it divides the batch, on one thread and split between two.
@Suite struct ChunkingTests {
    @Test(arguments: ["lenet-300-100", "lenet-5", "resnet-20"])
    func chunkedBatchesMatchTheTrainingEngine(name: String) throws {
        let seed: UInt64 = 83
        let model = try RuntimeModelTests.prunedModel(name, density: 0.2, seed: seed)
        let file = try RuntimeModelTests.exported(model)
        let batch = 10
        let x = RuntimeModelTests.input(model.inputShape, batch: batch, seed: seed)
        let expected = model.forward(Tensor(shape: [batch] + model.inputShape, data: x), training: false).data
        // 3 and 4 leave a shorter last chunk; 16 is more than the batch (one pass).
        for chunk in [1, 3, 4, 10, 16] {
            let runtime = try InferenceModel(file, policy: .fastest(batch: min(chunk, batch)))
            for threads in [1, 2] {
                let session = try InferenceSession(model: runtime, maxBatch: batch, threads: threads, chunk: chunk)
                #expect(session.chunk == min(chunk, batch))
                for profile in [false, true] {
                    let error = RuntimeModelTests.maxError(try session.run(x, batch: batch, profile: profile), expected)
                    #expect(error < 1e-4, "\(name), chunk \(chunk), \(threads) threads, profile \(profile), seed \(seed): max relative error \(error)")
                }
                // A batch smaller than the session's largest, and than one chunk.
                let error = RuntimeModelTests.maxError(try session.run(Array(x.prefix(2 * model.inputShape.reduce(1, *))), batch: 2),
                                                       Array(expected.prefix(2 * 10)))
                #expect(error < 1e-4, "\(name), batch 2, chunk \(chunk), \(threads) threads, seed \(seed): max relative error \(error)")
            }
        }
    }

    /// A session holds activations for one chunk, not for the whole batch.
    @Test func buffersHoldOneChunk() throws {
        let runtime = try InferenceModel(try RuntimeModelTests.exported(try RuntimeModelTests.prunedModel("resnet-20", density: 0.2, seed: 4)),
                                         policy: .forced("csr"))
        let whole = try InferenceSession(model: runtime, maxBatch: 64)
        let chunked = try InferenceSession(model: runtime, maxBatch: 64, chunk: 4)
        let one = try InferenceSession(model: runtime, maxBatch: 4)
        #expect(chunked.bufferBytes == one.bufferBytes, "\(chunked.bufferBytes) against \(one.bufferBytes)")
        #expect(whole.bufferBytes > 15 * chunked.bufferBytes, "\(whole.bufferBytes) against \(chunked.bufferBytes)")
    }

    @Test func aChunkBelowOneIsRefused() throws {
        let runtime = try InferenceModel(try RuntimeModelTests.exported(try RuntimeModelTests.prunedModel("lenet-300-100", density: 0.2, seed: 5)))
        #expect(throws: InferenceError.badBatch(expected: "a chunk of at least 1", found: 0)) {
            _ = try InferenceSession(model: runtime, maxBatch: 8, chunk: 0)
        }
    }

    /// The chooser times every candidate and returns one of them with a plan that computes the
    /// model; a batch of one is neither chunked nor timed.
    @Test func fastestChunkIsOneOfTheCandidatesAndRunsTheModel() throws {
        let seed: UInt64 = 29
        let model = try RuntimeModelTests.prunedModel("lenet-5", density: 0.2, seed: seed)
        let file = try RuntimeModelTests.exported(model)
        #expect(InferenceSession.chunkCandidates(batch: 64) == [64, 16, 4, 1])
        #expect(InferenceSession.chunkCandidates(batch: 5) == [5, 4, 1])
        #expect(InferenceSession.chunkCandidates(batch: 1) == [1])
        let single = try InferenceSession.fastestChunk(file, batch: 1, seconds: 0) { .fastest(batch: $0) }
        #expect(single.chunk == 1 && single.medians.isEmpty)
        let batch = 20
        let choice = try InferenceSession.fastestChunk(file, batch: batch, seconds: 0.01) { .fastest(batch: $0) }
        #expect(Set(choice.medians.keys) == [20, 16, 4, 1] && choice.medians.values.allSatisfy { $0 > 0 })
        #expect(choice.medians[choice.chunk] == choice.medians.values.min())
        let x = RuntimeModelTests.input(model.inputShape, batch: batch, seed: seed)
        let expected = model.forward(Tensor(shape: [batch] + model.inputShape, data: x), training: false).data
        let session = try InferenceSession(model: choice.model, maxBatch: batch, chunk: choice.chunk)
        let error = RuntimeModelTests.maxError(try session.run(x, batch: batch), expected)
        #expect(error < 1e-4, "chunk \(choice.chunk), seed \(seed): max relative error \(error)")
    }
}

/// The report's peak memory restarts after the choosing: memory touched and freed before
/// `resetPeakResident` no longer counts.
@Suite struct PeakResidentTests {
    @Test func resetForgetsMemoryFreedBefore() throws {
        try #require(FileManager.default.fileExists(atPath: "/proc/self/clear_refs"), "needs Linux's /proc/self/clear_refs")
        let bytes = 256 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 4096)
        block.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        let during = InferenceReport.peakResidentBytes()
        block.deallocate()
        InferenceReport.resetPeakResident()
        let after = InferenceReport.peakResidentBytes()
        #expect(during >= bytes && after < during - bytes / 2, "peak \(during) bytes with the block, \(after) after it was freed and the peak reset")
    }
}
