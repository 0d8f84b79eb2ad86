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
    /// direct with the pooling computed in. So after the per-layer timing, each convolution it put on
    /// im2col (and no cache settled) is tried direct on the whole network, in order, and kept direct
    /// when the whole network runs faster. Only that way round: what timing alone misses is what a
    /// direct convolution does beyond its product, and trying every convolution both ways cost
    /// ResNet-110 at batch 64 a minute and a half of loading (each trial runs the whole network),
    /// while the flips to im2col it kept on ResNet-20 at batch 1 were within the noise (0.258 ms
    /// against 0.260 before). Trials stop after `budget` seconds, so a deep network on im2col
    /// throughout still loads in bounded time.
    struct PlanTuning {
        /// Whether a trial plan beats the current one (both given as layer → kernel choices).
        typealias Judge = (_ trial: [String: String], _ current: [String: String]) throws(InferenceError) -> Bool

        /// Greedy, in layer order: tries each convolution in `tunable` (all on im2col) direct,
        /// keeping it direct when `better` says so, until `budget` seconds have passed. Returns the
        /// final choices.
        static func tune(_ initial: [String: String], tunable: [String], budget: Double = .infinity,
                         better: Judge) throws(InferenceError) -> [String: String] {
            var current = initial
            let start = DispatchTime.now().uptimeNanoseconds
            for layer in tunable {
                guard Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < budget else { break }
                var trial = current
                trial[layer] = "direct"
                if try better(trial, current) { current = trial }
            }
            return current
        }
    }

    /// Every weighted layer's choice for a `.fastest` plan: timed layer by layer (unless `cached`),
    /// then tuned on the whole plan. `reuse` keeps the kernels built on the way, so the final plan,
    /// built from these choices, times and builds nothing again.
    static func tunedChoices(_ model: RLFModel, batch: Int, cached: [String: String], table: [KernelEntry],
                             reuse: BuiltKernels) throws(InferenceError) -> [String: String] {
        let first = try InferenceModel(building: model, policy: .fastest(batch: batch, cached: cached), table: table, reuse: reuse)
        let tunable = first.weightedLayers.compactMap { node, w -> String? in
            guard case .convolution = node.operation, cached[node.name] == nil, w.direct == nil else { return nil }
            return node.name
        }
        guard !tunable.isEmpty else { return first.kernelChoices }
        let timer = try PlanTimer(first, batch: batch)
        return try PlanTuning.tune(first.kernelChoices, tunable: tunable, budget: Self.tuningBudget) { (trial, _) throws(InferenceError) in
            let candidate = try InferenceModel(building: model, policy: .fastest(batch: batch, cached: trial), table: table, reuse: reuse)
            return try timer.adoptIfFaster(candidate)
        }
    }

    /// Seconds after which whole-plan tuning tries no further convolution.
    static let tuningBudget = 2.0

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
            x = model.timingInputs(batch: batch)
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
