import Foundation
import ReliefFormat
import ReliefKernels

extension InferenceModel {
    /// `batch` inputs of values spread over [0, 1), the same on every call: what the plan tuning,
    /// the chunk choice and the report time the model on.
    func timingInputs(batch: Int) -> [Float] {
        (0..<(batch * inputCount)).map { Float(($0 &* 2_654_435_761) % 1000) / 1000 }
    }
}

extension InferenceSession {
    /// A plan and the chunk it runs a batch in, chosen by `fastestChunk`.
    public struct ChunkChoice: Sendable {
        /// The model with its kernels chosen for batches of `chunk` examples.
        public let model: InferenceModel
        /// Examples per pass through the network.
        public let chunk: Int
        /// Median seconds of a whole batch at each chunk tried.
        public let medians: [Int: Double]
    }

    /// Chunks tried for a batch: the whole batch, then 16, 4 and 1 examples per pass (those below it).
    public static func chunkCandidates(batch: Int) -> [Int] {
        [batch] + [16, 4, 1].filter { $0 < batch }
    }

    /// The fastest way, on this machine, to run batches of `batch` examples on `threads` threads:
    /// for each chunk of `chunkCandidates`, the model built with `policy(chunk)` (kernels chosen
    /// for that many examples), timed on whole batches. Rounds go candidate after candidate, so a
    /// shared machine's slow stretches fall on all of them; the lowest median wins. A batch of one
    /// is never chunked and nothing is timed.
    ///
    /// On this project's Zen 4 machine (`relief-bench synth --model resnet-20 --density 0.1 -o r.rlf`,
    /// then `relief-bench model r.rlf --batches 64`, which prints every chunk tried), ResNet-20 ran a
    /// batch of 64 in 11.9 ms in chunks of 4 against 19.0 ms in one pass: a pass of the whole batch
    /// holds 4 MiB of activations per layer, far past the core's 1 MiB L2. VGG-11 at 5% was fastest
    /// in chunks of 16 (19.2 against 22.7 ms; 29 in chunks of 4): its large layers use a wide batch.
    public static func fastestChunk(_ file: RLFModel, batch: Int, threads: Int = 1, table: [KernelEntry] = KernelTable.builtIn,
                                    seconds: Double = 0.25, policy: (Int) -> InferenceModel.KernelPolicy) throws(InferenceError) -> ChunkChoice {
        guard batch >= 1 else { throw .badBatch(expected: "at least 1", found: batch) }
        let candidates = chunkCandidates(batch: batch)
        // One model per distinct policy (a forced kernel is the same plan at every chunk).
        var built: [(policy: InferenceModel.KernelPolicy, model: InferenceModel)] = []
        let models = try candidates.map { (chunk) throws(InferenceError) -> InferenceModel in
            let p = policy(chunk)
            if let same = built.first(where: { $0.policy == p }) { return same.model }
            let model = try InferenceModel(file, policy: p, table: table)
            built.append((p, model))
            return model
        }
        guard candidates.count > 1 else { return ChunkChoice(model: models[0], chunk: batch, medians: [:]) }
        let x = models[0].timingInputs(batch: batch)
        var y = [Float](repeating: 0, count: batch * models[0].outputCount)
        func run(_ session: InferenceSession) throws(InferenceError) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try x.withUnsafeBufferPointer { (xp) throws(InferenceError) in
                try y.withUnsafeMutableBufferPointer { (yp) throws(InferenceError) in
                    try session.run(xp.baseAddress!, batch: batch, into: yp.baseAddress!)
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        let sessions = try candidates.indices.map { (i) throws(InferenceError) in
            try InferenceSession(model: models[i], maxBatch: batch, threads: threads, chunk: candidates[i])
        }
        var times = [[Double]](repeating: [], count: candidates.count)
        let start = DispatchTime.now().uptimeNanoseconds
        // At least 5 rounds, then rounds until `seconds` have passed. In each round each candidate
        // runs once untimed (so its buffers, not the previous candidate's, are in cache) and once timed.
        var round = 0
        while round < 5 || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds {
            for (i, session) in sessions.enumerated() {
                _ = try run(session)
                times[i].append(try run(session))
            }
            round += 1
            if round >= 1000 { break }
        }
        var medians: [Int: Double] = [:]
        for (i, chunk) in candidates.enumerated() { medians[chunk] = InferenceReport.percentile(times[i], 0.5) }
        let best = candidates.indices.min { medians[candidates[$0]]! < medians[candidates[$1]]! }!
        return ChunkChoice(model: models[best], chunk: candidates[best], medians: medians)
    }
}
