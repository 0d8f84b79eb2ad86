import Foundation
import ReliefFormat
import ReliefKernels

extension InferenceModel {
    /// How a convolution's choice between direct and im2col is settled on the whole plan.
    ///
    /// Each convolution's kernel is first timed alone, but alone is not how it runs: a direct
    /// convolution may also compute the 2x2 max pooling after it, write its output interleaved or
    /// padded for the next one, or add a residual as it writes, and the im2col path's products run
    /// on activations that come out of cache differently inside the network. On VGG-11 at 5%
    /// density, batch 64, the first convolution timed alone looked faster on im2col (2.4 ms against
    /// 3.2 direct), and in the network took 5 ms plus 0.9 ms of separate pooling against 0.76 ms
    /// direct with the pooling computed in. So after the per-layer timing, each convolution not
    /// already settled by a cache is tried the other way on the whole network, in order, and kept the
    /// other way when the whole network runs faster.
    struct PlanTuning {
        /// Whether a trial plan beats the current one (both given as layer → kernel choices).
        typealias Judge = (_ trial: [String: String], _ current: [String: String]) throws(InferenceError) -> Bool

        /// Greedy, in layer order: flips each convolution in `tunable` between "direct" and its
        /// matrix kernel (`matrixKernel[layer]`), keeping the flip when `better` says so.
        /// Returns the final choices.
        static func tune(_ initial: [String: String], tunable: [String], matrixKernel: [String: String],
                         better: Judge) throws(InferenceError) -> [String: String] {
            var current = initial
            for layer in tunable {
                guard let now = current[layer], let matrix = matrixKernel[layer] else { continue }
                var trial = current
                trial[layer] = now == "direct" ? matrix : "direct"
                if try better(trial, current) { current = trial }
            }
            return current
        }
    }

    /// The choices of a `.fastest` plan after whole-plan tuning, or nil when there is nothing to tune
    /// (every convolution's choice came from `cached`, or there are no convolutions).
    /// `reuse` keeps the kernels built on the way, for the final plan.
    static func tunedChoices(_ model: RLFModel, batch: Int, cached: [String: String], table: [KernelEntry],
                             reuse: BuiltKernels) throws(InferenceError) -> [String: String]? {
        let first = try InferenceModel(building: model, policy: .fastest(batch: batch, cached: cached), table: table, reuse: reuse)
        var tunable: [String] = []
        var matrixKernel: [String: String] = [:]
        for (node, w) in first.weightedLayers {
            guard case .convolution = node.operation, cached[node.name] == nil else { continue }
            tunable.append(node.name)
            // The matrix kernel timing chose, whether or not direct won (the cache builds CSR for a
            // direct layer, so the name comes from here).
            matrixKernel[node.name] = w.kernel.name
        }
        guard !tunable.isEmpty else { return nil }
        let timer = try PlanTimer(first, batch: batch)
        return try PlanTuning.tune(first.kernelChoices, tunable: tunable, matrixKernel: matrixKernel) { (trial, _) throws(InferenceError) in
            let candidate = try InferenceModel(building: model, policy: .fastest(batch: batch, cached: trial), table: table, reuse: reuse)
            return try timer.adoptIfFaster(candidate)
        }
    }

    /// Kernels built for one model, by layer: plans of it that differ in a few layers' choices share
    /// them instead of building every layer again. Kernels are immutable once built.
    final class BuiltKernels {
        /// Layer name → kernel name → the matrix kernel.
        var matrix: [String: [String: any WeightKernel]] = [:]
        /// Layer name → the direct convolution.
        var direct: [String: DirectSparseConvolution] = [:]
    }

    /// Times whole runs of the current plan against a candidate, taking turns, on one thread.
    final class PlanTimer {
        private(set) var current: InferenceSession
        let batch: Int
        private var x: [Float]
        private var y: [Float]
        /// Whether `current` has run once.
        private var warm = false
        /// Fraction of the current plan's time a candidate must beat to be adopted: a difference
        /// smaller than this is noise on a shared machine, and keeping the first choice is as good.
        static let margin = 0.97
        /// How much slower than the current plan a candidate's fastest run after two turns may be
        /// before it is given up early.
        static let clearlySlower = 1.25

        init(_ model: InferenceModel, batch: Int) throws(InferenceError) {
            self.batch = batch
            current = try InferenceSession(model: model, maxBatch: batch, threads: 1)
            x = [Float](repeating: 0, count: batch * model.inputCount)
            for i in x.indices { x[i] = Float((i &* 2_654_435_761) % 1000) / 1000 }
            y = [Float](repeating: 0, count: batch * model.outputCount)
        }

        private func seconds(_ session: InferenceSession) throws(InferenceError) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try x.withUnsafeBufferPointer { (xp) throws(InferenceError) in
                try y.withUnsafeMutableBufferPointer { (yp) throws(InferenceError) in
                    try session.run(xp.baseAddress!, batch: batch, into: yp.baseAddress!)
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }

        /// Runs both plans in turns (after an untimed run of each new session, which touches its
        /// buffers) until each has at least 3 runs and together 20 ms, at most 25 runs; the fastest
        /// run of each decides. A candidate clearly slower after two turns is given up then.
        func adoptIfFaster(_ model: InferenceModel) throws(InferenceError) -> Bool {
            let trial = try InferenceSession(model: model, maxBatch: batch, threads: 1)
            if !warm { _ = try seconds(current); warm = true }
            _ = try seconds(trial)
            var best = (current: Double.infinity, trial: Double.infinity)
            var spent = 0.0, reps = 0
            while reps < 3 || (spent < 0.02 && reps < 25) {
                let a = try seconds(current), b = try seconds(trial)
                best = (min(best.current, a), min(best.trial, b))
                spent += a + b
                reps += 1
                // Clearly slower after two turns: no need for more.
                if reps >= 2 && best.trial > best.current * Self.clearlySlower { return false }
            }
            guard best.trial < best.current * Self.margin else { return false }
            current = trial  // warm: it has run
            return true
        }
    }
}
