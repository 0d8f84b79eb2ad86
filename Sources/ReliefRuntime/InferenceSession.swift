import CReliefSIMD
import Foundation
import ReliefKernels

/// The working memory for running one `InferenceModel` on batches of up to `maxBatch` inputs: every
/// buffer is allocated here, once, so an inference allocates nothing. Not thread-safe itself: give
/// each thread its own session (the model is shared).
public final class InferenceSession {
    public let model: InferenceModel
    public let maxBatch: Int
    /// Threads each product may use.
    public let threads: Int
    /// Examples that go through the network together: a larger batch runs `chunk` examples at a
    /// time, each chunk through every layer before the next. Activations of a few examples stay in
    /// the core's caches where a whole batch's would not (ResNet-20 at batch 64 holds 4 MiB per
    /// layer), but a product over fewer columns uses its registers and weights less well, so the
    /// best size depends on the model: `InferenceSession.fastestChunk` measures it.
    public let chunk: Int
    /// The largest batch one pass through the network takes: `min(maxBatch, chunk)`, what the
    /// buffers hold.
    private let passBatch: Int
    /// Output of node k, `[C][B][pixels]`.
    private var buffers: [UnsafeMutablePointer<Float>]
    private let input: UnsafeMutablePointer<Float>
    private let columns: UnsafeMutablePointer<Float>
    private let scratch: UnsafeMutableRawPointer
    /// Per weighted node, what a run reads of its layer, held in a class: switching over the node's
    /// operation copied the whole `WeightedLayer` (eight reference-counted fields) on every run.
    private final class WeightedStep {
        let kernel: any WeightKernel
        let direct: DirectSparseConvolution?
        let bias: [Float]?
        let geometry: InferenceModel.Geometry?

        init(_ w: InferenceModel.WeightedLayer, geometry: InferenceModel.Geometry?) {
            kernel = w.kernel
            direct = w.direct
            bias = w.bias
            self.geometry = geometry
        }
    }
    private let weightedSteps: [WeightedStep?]
    /// Seconds spent in each node by the last `run` with `profile` set.
    public private(set) var nodeSeconds: [Double]
    /// `nodeSeconds` summed over the chunks of one run.
    private var chunkSeconds: [Double]
    /// The layout of each node's output in the last `run` (see `InferenceModel.assignLayouts`).
    public private(set) var layouts: [ActivationLayout]
    /// Per node whose output was last written in a `.padded` layout, that batch (else 0): its
    /// buffer's zeros are in place for the next run at that batch.
    private var paddedBatch: [Int]
    /// Per node, whether the last `run` computed this pooling inside its convolution.
    public private(set) var fusedPools: [Bool]
    /// Whether the first node flattens the model input and nothing else reads it: then `[B][C·H·W]`
    /// goes to `[C·H·W][B]` in one transpose, with no `[C][B][H·W]` copy first.
    private let flattensInput: Bool
    /// With several threads, one single-threaded session per thread: a batch of at least
    /// `Self.splitBatch` per thread is split into contiguous parts that run the whole network at once,
    /// with no hand-off between layers (threads inside each product stay for smaller batches).
    private let parts: [InferenceSession]
    /// Examples per thread from which a batch is split between the threads.
    public static let splitBatch = 4
    /// Multiply-adds per part below which a batch is not split. One hand-off to the spinning worker
    /// pool (about a microsecond) runs a whole network: LeNet-300-100 after NNrelief (4k multiply-adds
    /// per example) at batch 64 took 17 µs on two threads against 30 µs on one.
    public static let splitWork = 1 << 15
    /// Multiply-adds of one example through the weighted layers.
    private let multiplyAddsPerExample: Int

    /// `chunk` (default: `maxBatch`, one pass per batch) bounds the examples a pass through the
    /// network takes; with several threads, each thread's part of a batch runs in such chunks.
    public init(model: InferenceModel, maxBatch: Int = 1, threads: Int = 1, chunk: Int? = nil) throws(InferenceError) {
        guard maxBatch >= 1 else { throw .badBatch(expected: "at least 1", found: maxBatch) }
        if let chunk, chunk < 1 { throw .badBatch(expected: "a chunk of at least 1", found: chunk) }
        self.model = model
        self.maxBatch = maxBatch
        self.threads = max(1, threads)
        self.chunk = min(chunk ?? maxBatch, maxBatch)
        passBatch = self.chunk
        // Every buffer below holds one pass, not the whole batch.
        let maxBatch = passBatch
        weightedSteps = model.nodes.map { node in
            switch node.operation {
            case let .linear(w): return WeightedStep(w, geometry: nil)
            case let .convolution(w, g): return WeightedStep(w, geometry: g)
            default: return nil
            }
        }
        var im2col = 1, scratchBytes = 1
        for node in model.nodes {
            switch node.operation {
            case let .convolution(w, g):
                let s = node.input < 0 ? model.inputShape : model.nodes[node.input].outputShape
                im2col = max(im2col, w.kernel.columns * maxBatch * node.pixels
                                 + Im2Col.extraFloats(channels: s[0], batch: maxBatch, height: s[1], width: s[2], geometry: g))
                scratchBytes = max(scratchBytes, w.kernel.scratchBytes(n: maxBatch * node.pixels))
                if let d = w.direct {
                    scratchBytes = max(scratchBytes, d.scratchBytes(batch: maxBatch, height: s[1], width: s[2]))
                }
            case let .linear(w):
                scratchBytes = max(scratchBytes, w.kernel.scratchBytes(n: maxBatch))
            default: break
            }
        }
        // A fused ReLU works in its producer's buffer (same shape), so it gets none of its own.
        var owned: [UnsafeMutablePointer<Float>] = []
        for (k, node) in model.nodes.enumerated() {
            if let producer = model.reluFusedInto[k] ?? model.additionFusedInto[k] {
                owned.append(owned[producer])
                continue
            }
            // Room for the interleaved layout too, which rounds the batch up to 8 and adds a border.
            var count = max(node.outputShape.reduce(1, *) * maxBatch, 1)
            for candidate in [model.interleavedCandidates[k], model.paddedCandidates[k]] where candidate != .planar && node.outputShape.count == 3 {
                count = max(count, candidate.floats(channels: node.outputShape[0], batch: maxBatch,
                                                    height: node.outputShape[1], width: node.outputShape[2]))
            }
            // Cache-line aligned: an interleaved layout's 32-byte vectors then never straddle two lines.
            let p = UnsafeMutableRawPointer.allocate(byteCount: 4 * count, alignment: 64).bindMemory(to: Float.self, capacity: count)
            p.initialize(repeating: 0, count: count)
            owned.append(p)
        }
        buffers = owned
        // Aligned like the activations: the products read 64-byte vectors of their inputs (the first
        // layer's copy of the model input, im2col's columns), two cache lines each when misaligned.
        func aligned(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutableRawPointer.allocate(byteCount: 4 * count, alignment: 64).bindMemory(to: Float.self, capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        input = aligned(model.inputCount * maxBatch)
        columns = aligned(im2col)
        scratch = .allocate(byteCount: scratchBytes, alignment: 64)
        nodeSeconds = [Double](repeating: 0, count: model.nodes.count)
        chunkSeconds = nodeSeconds
        layouts = [ActivationLayout](repeating: .planar, count: model.nodes.count)
        paddedBatch = [Int](repeating: 0, count: model.nodes.count)
        fusedPools = [Bool](repeating: false, count: model.nodes.count)
        let readers = model.nodes.indices.filter { k in
            if model.nodes[k].input < 0 { return true }
            if case .add(other: let o) = model.nodes[k].operation, o < 0 { return true }
            return false
        }
        if case .flatten = model.nodes.first?.operation, readers == [0] { flattensInput = true } else { flattensInput = false }
        precondition(model.inputFeatures == nil || flattensInput, "kept input features need the input flatten")
        multiplyAddsPerExample = model.weightedLayers.reduce(0) { sum, entry in
            sum + entry.layer.nonzeros * entry.node.outputShape.dropFirst().reduce(1, *)
        }
        let share = (self.maxBatch + self.threads - 1) / self.threads, partChunk = min(passBatch, share)
        parts = self.threads > 1 && share >= Self.splitBatch
            ? try (0..<self.threads).map { _ throws(InferenceError) in
                try InferenceSession(model: model, maxBatch: share, threads: 1, chunk: partChunk)
            } : []
    }

    deinit {
        for (k, b) in buffers.enumerated() where model.reluFusedInto[k] == nil && model.additionFusedInto[k] == nil { UnsafeMutableRawPointer(b).deallocate() }
        UnsafeMutableRawPointer(input).deallocate()
        UnsafeMutableRawPointer(columns).deallocate()
        scratch.deallocate()
    }

    /// Bytes of activation buffers this session holds (its per-thread parts' included).
    public var bufferBytes: Int {
        let activations = model.nodes.indices.reduce(0) { sum, k in
            model.reluFusedInto[k] == nil && model.additionFusedInto[k] == nil ? sum + model.nodes[k].outputShape.reduce(1, *) * passBatch : sum
        }
        return 4 * (activations + model.inputCount * passBatch) + parts.reduce(0) { $0 + $1.bufferBytes }
    }

    /// Runs `batch` normalised inputs (`[B, input shape]`, example after example) and writes
    /// `[B, outputs]` to `output`. Allocation-free. With `profile`, `nodeSeconds` holds each node's
    /// time over the whole batch (summed over its chunks).
    public func run(_ x: UnsafePointer<Float>, batch: Int, into output: UnsafeMutablePointer<Float>, profile: Bool = false) throws(InferenceError) {
        guard batch >= 1, batch <= maxBatch else { throw .badBatch(expected: "1 to \(maxBatch)", found: batch) }
        // Per-node times are only meaningful for one network run, so profiling never splits.
        if !profile && splits(batch: batch) {
            let n = parts.count
            let (inputs, outputs) = (model.inputCount, model.outputCount)
            let shared = SplitRun(parts: parts, x: x, y: output)
            Parallel.run(parts: n) { p in
                let first = batch * p / n, count = batch * (p + 1) / n - first
                // Cannot fail: count is within the part's batch (at most ⌈maxBatch / n⌉).
                try? shared.parts[p].run(shared.x + first * inputs, batch: count, into: shared.y + first * outputs)
            }
            return
        }
        guard batch > passBatch else {
            pass(x, batch: batch, into: output, profile: profile)
            return
        }
        if profile { for k in chunkSeconds.indices { chunkSeconds[k] = 0 } }
        var first = 0
        while first < batch {
            let count = min(passBatch, batch - first)
            pass(x + first * model.inputCount, batch: count, into: output + first * model.outputCount, profile: profile)
            if profile { for k in chunkSeconds.indices { chunkSeconds[k] += nodeSeconds[k] } }
            first += count
        }
        if profile { for k in chunkSeconds.indices { nodeSeconds[k] = chunkSeconds[k] } }
    }

    /// One pass of at most `passBatch` examples through the network.
    private func pass(_ x: UnsafePointer<Float>, batch: Int, into output: UnsafeMutablePointer<Float>, profile: Bool) {
        // [B][C][P] → [C][B][P]
        let c0 = model.inputShape[0], p0 = model.inputCount / c0
        if !flattensInput {
            for b in 0..<batch {
                for c in 0..<c0 { (input + (c * batch + b) * p0).update(from: x + (b * c0 + c) * p0, count: p0) }
            }
        }
        model.assignLayouts(batch: batch, into: &layouts, fusedPools: &fusedPools)
        for (k, node) in model.nodes.enumerated() {
            let start = profile ? DispatchTime.now().uptimeNanoseconds : 0
            if k == 0 && flattensInput {
                if let features = model.inputFeatures {
                    Transpose.gather(x, rows: batch, columns: model.inputCount, keeping: features, into: buffers[0])
                } else {
                    Transpose.run(x, rows: batch, columns: model.inputCount, into: buffers[0])
                }
            } else {
                execute(node, k, batch: batch)
            }
            if profile { nodeSeconds[k] = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        }
        let out = model.nodes[model.output], result = buffers[model.output]
        let c = out.channels, p = out.pixels
        if p == 1 {
            // [C][B] → [B][C] (a classifier's logits): one transpose, not a copy call per value,
            // which cost LeNet-300-100 a fifth of its batch-64 time.
            Transpose.run(result, rows: c, columns: batch, into: output)
        } else {
            for b in 0..<batch {
                for ch in 0..<c { (output + (b * c + ch) * p).update(from: result + (ch * batch + b) * p, count: p) }
            }
        }
    }

    /// Whether `run` splits a batch of this size between the threads (a per-node profile never does).
    public func splits(batch: Int) -> Bool {
        !parts.isEmpty && batch >= Self.splitBatch * parts.count && multiplyAddsPerExample * batch >= Self.splitWork * parts.count
    }

    /// Array convenience: `[B, outputs]` for `[B, inputs]` (allocates the result).
    public func run(_ x: [Float], batch: Int, profile: Bool = false) throws(InferenceError) -> [Float] {
        guard x.count == batch * model.inputCount else { throw .inputSize(expected: batch * model.inputCount, found: x.count) }
        var y = [Float](repeating: 0, count: batch * model.outputCount)
        try x.withUnsafeBufferPointer { (xp) throws(InferenceError) in
            try y.withUnsafeMutableBufferPointer { (yp) throws(InferenceError) in
                try run(xp.baseAddress!, batch: batch, into: yp.baseAddress!, profile: profile)
            }
        }
        return y
    }

    private func source(_ i: Int) -> UnsafeMutablePointer<Float> { i < 0 ? input : buffers[i] }
    private func shape(_ i: Int) -> [Int] { i < 0 ? model.inputShape : model.nodes[i].outputShape }

    private func execute(_ node: InferenceModel.Node, _ k: Int, batch: Int) {
        let x = source(node.input), y = buffers[k]
        let s = shape(node.input)
        let inC = s[0], inP = s.dropFirst().reduce(1, *)
        // Whether the next node is a ReLU this one computes (see `InferenceModel.reluFusedInto`), or
        // an addition (`additionFusedInto`), itself maybe followed by a ReLU it would compute.
        let residual = model.fusedResidual(of: k)
        let after = residual == nil ? k : k + 1
        let relu = after + 1 < model.nodes.count && model.reluFusedInto[after + 1] == after
        let count = node.outputShape.reduce(1, *) * batch
        if model.reluFusedInto[k] != nil || model.additionFusedInto[k] != nil { return }
        // The direct convolution and the addition apply a fused ReLU as they write; others after.
        var reluApplied = false
        defer { if relu && !reluApplied { Elementwise.relu(y, y, count: count) } }
        if let step = weightedSteps[k] {
            guard let g = step.geometry else {
                // Linear. A flattened [F] input is [F][B][1]: already the columns x batch matrix.
                step.bias.withUnsafeBufferPointerOrNil { bias in
                    step.kernel.multiply(x, n: batch, bias: bias, into: y, scratch: scratch, threads: threads)
                }
                return
            }
            let (h, wd) = (s[1], s[2]), (oh, ow) = (node.outputShape[1], node.outputShape[2])
            let n = batch * oh * ow
            if let direct = step.direct {
                // With its pooling fused, the convolution writes the pooling's output instead of its own.
                let pool = model.pooledBy[k].flatMap { fusedPools[$0] ? $0 : nil }
                // A padded output's zeros are still in place from the last run at this batch.
                let output = layouts[pool ?? k], bordersZero = output.isPadded && paddedBatch[k] == batch
                step.bias.withUnsafeBufferPointerOrNil { bias in
                    direct.run(x, batch: batch, height: h, width: wd, outHeight: oh, outWidth: ow, bias: bias, into: pool.map { buffers[$0] } ?? y,
                               threads: threads, scratch: scratch, relu: relu, residual: residual.map { UnsafePointer(source($0)) },
                               input: node.input < 0 ? .planar : layouts[node.input], output: output, pooled: pool != nil,
                               outputBordersZero: bordersZero)
                }
                if case .padded = output { paddedBatch[k] = batch } else { paddedBatch[k] = 0 }
                reluApplied = true
                return
            }
            let cols: UnsafePointer<Float>
            if g.kernel == (1, 1) && g.stride == (1, 1) && g.padding == (0, 0) {
                cols = UnsafePointer(x)
            } else {
                Im2Col.fill(columns, from: x, channels: inC, batch: batch, height: h, width: wd, geometry: g, outHeight: oh, outWidth: ow,
                            threads: threads)
                cols = UnsafePointer(columns)
            }
            step.bias.withUnsafeBufferPointerOrNil { bias in
                step.kernel.multiply(cols, n: n, bias: bias, into: y, scratch: scratch, threads: threads)
            }
            return
        }
        switch node.operation {
        case .linear, .convolution:
            preconditionFailure("weighted nodes run from weightedSteps")
        case .relu:
            Elementwise.relu(x, y, count: count)
        case .flatten:
            // [C][B][P] → [C·P][B]: per channel, a [B][P] → [P][B] transpose in cache-sized tiles.
            if inP == 1 {
                y.update(from: x, count: inC * batch)
            } else {
                for c in 0..<inC {
                    Transpose.run(x + c * batch * inP, rows: batch, columns: inP, into: y + c * inP * batch)
                }
            }
        case .softmax:
            let f = inC * inP
            for b in 0..<batch {
                var m = -Float.infinity
                for i in 0..<f { m = max(m, x[i * batch + b]) }
                var sum: Float = 0
                for i in 0..<f {
                    let e = Foundation.exp(x[i * batch + b] - m)
                    y[i * batch + b] = e
                    sum += e
                }
                for i in 0..<f { y[i * batch + b] /= sum }
            }
        case .globalAveragePool:
            for plane in 0..<(inC * batch) {
                // Eight partial sums: one running sum waits on the adder's latency every element.
                let from = x + plane * inP
                var acc = SIMD8<Float>()
                var p = 0
                while p + 8 <= inP {
                    acc += UnsafeRawPointer(from + p).loadUnaligned(as: SIMD8<Float>.self)
                    p += 8
                }
                var sum = acc.sum()
                while p < inP { sum += from[p]; p += 1 }
                y[plane] = sum / Float(inP)
            }
        case let .maxPool(g), let .averagePool(g):
            if fusedPools[k] { return }
            var isMax = false
            if case .maxPool = node.operation { isMax = true }
            if node.input >= 0, layouts[node.input].isInterleaved {
                Pooling.runInterleaved(x, input: layouts[node.input], y, output: layouts[k], channels: inC, batch: batch, height: s[1],
                                       width: s[2], geometry: g, outHeight: node.outputShape[1], outWidth: node.outputShape[2], max: isMax)
                return
            }
            Pooling.run(x, y, planes: inC * batch, height: s[1], width: s[2], geometry: g,
                        outHeight: node.outputShape[1], outWidth: node.outputShape[2], max: isMax)
        case let .add(other):
            Elementwise.add(x, source(other), y, count: count, relu: relu)
            reluApplied = true
        case let .shortcut(stride, pad):
            let (h, wd) = (s[1], s[2]), (oh, ow) = (node.outputShape[1], node.outputShape[2])
            let outC = node.outputShape[0], plane = batch * oh * ow
            // Only the added channels are zero; the others are all overwritten.
            y.update(repeating: 0, count: pad * plane)
            (y + (pad + inC) * plane).update(repeating: 0, count: (outC - pad - inC) * plane)
            let (sy, sx) = stride
            if (sy, sx) == (2, 2) && SIMDSupport.avx2FMA {
                // Vector steps: the element loop took ResNet-20's layer2.0.shortcut 3.3 µs at batch 1.
                relief_subsample2(x, Int64(inC * batch), Int64(h), Int64(wd), Int64(oh), Int64(ow), y + pad * plane)
                return
            }
            for cb in 0..<(inC * batch) {
                let from = x + cb * h * wd, to = y + pad * plane + cb * oh * ow
                for oy in 0..<oh {
                    let row = from + oy * sy * wd, out = to + oy * ow
                    if sx == 1 {
                        out.update(from: row, count: ow)
                    } else {
                        for ox in 0..<ow { out[ox] = row[ox * sx] }
                    }
                }
            }
        }
    }
}

/// The per-thread sessions with the caller's input and output: each part runs on one thread only and
/// reads and writes only its own rows.
private struct SplitRun: @unchecked Sendable {
    let parts: [InferenceSession]
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with the array's base address, or nil.
    @inline(__always)
    func withUnsafeBufferPointerOrNil<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case let .some(a): a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: body(nil)
        }
    }
}

/// im2col for the feature-major layout: row `(c·kh + ky)·kw + kx`, column `(b·oh + oy)·ow + ox`
/// (`relief_im2col`; `reference` is the plain loop the tests check it against).
public enum Im2Col {
    /// Fills `cols` (`channels·kh·kw` rows of `batch·oh·ow`), using the `extraFloats` after them as
    /// working memory: the caller allocates both.
    ///
    /// With `threads` > 1 and at least `splitFloats` floats to write, channels are split between the
    /// threads (not at stride 2, whose padded copy is shared). At batch 1 the main thread spent 23%
    /// of VGG-11's two-thread inference in im2col for its 4x4 and 2x2 layers while the other thread
    /// waited (`perf`); a copy of 18k floats takes about 16 µs, a hand-off about 1.
    public static func fill(_ cols: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>, channels: Int, batch: Int,
                            height h: Int, width w: Int, geometry g: InferenceModel.Geometry, outHeight oh: Int, outWidth ow: Int,
                            threads: Int = 1, splitFloats: Int = Im2Col.splitFloats) {
        if paddsFirst(g) {
            // Stride 2: the input padded once, then every tap row read unchecked, 8 outputs a step.
            // The checked loop gathered element by element: ResNet-20's layer2.0.conv1 at batch 1
            // spent 23 µs on im2col against 3.7 µs on its product.
            let (ph, pw) = g.padding
            let stride = ActivationLayout.paddedChannelFloats(batch: batch, height: h, width: w, padY: ph, padX: pw)
            let padded = cols + channels * g.kernel.0 * g.kernel.1 * batch * oh * ow
            relief_pad_shared(x, Int64(channels), Int64(batch), Int64(h), Int64(w), Int64(ph), Int64(pw), Int64(stride),
                              Int64(paddedSlack), padded)
            relief_im2col_padded_s2(padded, Int64(channels), Int64(batch), Int64(h), Int64(w), Int64(g.kernel.0), Int64(g.kernel.1),
                                    Int64(ph), Int64(pw), Int64(oh), Int64(ow), Int64(stride), cols)
            return
        }
        let taps = g.kernel.0 * g.kernel.1, n = batch * oh * ow
        // Channel c reads plane c of x and writes rows c·taps ..< (c + 1)·taps: ranges of channels are disjoint work.
        func fillChannels(_ range: Range<Int>) {
            relief_im2col(x + range.lowerBound * batch * h * w, Int64(range.count), Int64(batch), Int64(h), Int64(w), Int64(g.kernel.0),
                          Int64(g.kernel.1), Int64(g.stride.0), Int64(g.stride.1), Int64(g.padding.0), Int64(g.padding.1), Int64(oh), Int64(ow),
                          cols + range.lowerBound * taps * n)
        }
        let parts = min(threads, channels)
        guard parts > 1, channels * taps * n >= splitFloats else {
            fillChannels(0..<channels)
            return
        }
        Parallel.run(parts: parts) { p in fillChannels((channels * p / parts)..<(channels * (p + 1) / parts)) }
    }

    /// Floats of columns from which `fill` splits between threads.
    public static let splitFloats = 16_384

    /// Floats `fill` uses after the columns: the padded copy of a stride-2 input (0 otherwise).
    public static func extraFloats(channels: Int, batch: Int, height h: Int, width w: Int, geometry g: InferenceModel.Geometry) -> Int {
        guard paddsFirst(g) else { return 0 }
        return channels * ActivationLayout.paddedChannelFloats(batch: batch, height: h, width: w, padY: g.padding.0, padX: g.padding.1)
            + paddedSlack
    }

    /// Zeros after the padded copy's last channel: the 8-output steps read one float past a row's
    /// last tap.
    static let paddedSlack = 16

    static func paddsFirst(_ g: InferenceModel.Geometry) -> Bool {
        SIMDSupport.avx2FMA && g.stride == (2, 2) && g.padding.0 >= 0 && g.padding.1 >= 0
    }

    /// The definition, element by element.
    public static func reference(_ cols: UnsafeMutablePointer<Float>, from x: UnsafePointer<Float>, channels: Int, batch: Int,
                                 height h: Int, width w: Int, geometry g: InferenceModel.Geometry, outHeight oh: Int, outWidth ow: Int) {
        let (kh, kw) = g.kernel, (sh, sw) = g.stride, (ph, pw) = g.padding
        let n = batch * oh * ow
        for c in 0..<channels {
            for ky in 0..<kh {
                for kx in 0..<kw {
                    for b in 0..<batch {
                        for oy in 0..<oh {
                            for ox in 0..<ow {
                                let (iy, ix) = (oy * sh - ph + ky, ox * sw - pw + kx)
                                let inside = iy >= 0 && iy < h && ix >= 0 && ix < w
                                cols[((c * kh + ky) * kw + kx) * n + (b * oh + oy) * ow + ox] = inside ? x[((c * batch + b) * h + iy) * w + ix] : 0
                            }
                        }
                    }
                }
            }
        }
    }
}

enum Elementwise {
    static func relu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let zero = SIMD8<Float>(repeating: 0)
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: v.replacing(with: zero, where: v .< zero), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { y[i] = x[i] > 0 ? x[i] : 0; i += 1 }
    }

    static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, relu: Bool = false) {
        var i = 0
        let zero = SIMD8<Float>(repeating: 0)
        while i + 8 <= count {
            var v = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            if relu { v.replace(with: zero, where: v .< zero) }
            UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            y[i] = relu ? max(a[i] + b[i], 0) : a[i] + b[i]
            i += 1
        }
    }
}

/// The layout changes of flattening: `[B][F]` example-major rows to the runtime's `[F][B]`.
public enum Transpose {
    /// `out[j][i] = a[i][j]` for a row-major `rows x columns` matrix: AVX2 8 x 8 register blocks where
    /// the CPU has them (`portable` keeps the Swift loop, for tests), else cache-sized tiles.
    public static func run(_ a: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>, portable: Bool = false) {
        if SIMDSupport.avx2FMA && !portable {
            relief_transpose(a, Int64(rows), Int64(columns), Int64(columns), out, Int64(rows))
        } else {
            tiled(a, rows: rows, columns: columns, into: out)
        }
    }

    /// `out[j][i] = a[i][kept[j]]` for a row-major `rows x columns` matrix and increasing column
    /// indices `kept`: the transpose of only those columns (the model input's features the first
    /// layer reads). Runs of consecutive columns go as 8 x 8 register blocks where the CPU has
    /// AVX2, 16 rows at a time with AVX-512 (`portable` keeps the Swift loop and `avx512: false`
    /// the AVX2 blocks, for tests).
    public static func gather(_ a: UnsafePointer<Float>, rows: Int, columns: Int, keeping kept: [Int32],
                              into out: UnsafeMutablePointer<Float>, portable: Bool = false, avx512: Bool = true) {
        assert(kept.allSatisfy { $0 >= 0 && Int($0) < columns }, "kept columns outside the matrix")
        kept.withUnsafeBufferPointer { k in
            if SIMDSupport.avx2FMA && !portable {
                let run = SIMDSupport.wide(avx512) ? relief_transpose_columns_avx512 : relief_transpose_columns
                run(a, Int64(rows), Int64(columns), k.baseAddress, Int64(k.count), out, Int64(rows))
                return
            }
            for i in 0..<rows {
                let row = a + i * columns
                for j in 0..<k.count { out[j * rows + i] = row[Int(k[j])] }
            }
        }
    }

    /// `out[j][i] = a[i][j]` for a row-major `rows x columns` matrix, in 16 x 16 tiles.
    static func tiled(_ a: UnsafePointer<Float>, rows: Int, columns: Int, into out: UnsafeMutablePointer<Float>) {
        let t = 16
        var i0 = 0
        while i0 < rows {
            let i1 = min(i0 + t, rows)
            var j0 = 0
            while j0 < columns {
                let j1 = min(j0 + t, columns)
                for i in i0..<i1 {
                    let row = a + i * columns
                    for j in j0..<j1 { out[j * rows + i] = row[j] }
                }
                j0 = j1
            }
            i0 = i1
        }
    }
}

/// Max and average pooling over planes of `height x width` (average over the whole window, padding
/// included, as the training engine computes it); 2x2 windows of stride 2 take a vectorised path
/// (AVX2 where the CPU has it; `portable` keeps the Swift loops, for tests).
public enum Pooling {
    /// Pooling (no padding) over a batch-interleaved input (`input`, any border) into `output`:
    /// interleaved (its border zeroed) or planar `[C][B][OH·OW]`. Needs AVX2 + FMA (only interleaved
    /// convolutions, which need it too, write such inputs).
    public static func runInterleaved(_ x: UnsafePointer<Float>, input: ActivationLayout, _ y: UnsafeMutablePointer<Float>,
                                      output: ActivationLayout, channels: Int, batch: Int, height h: Int, width w: Int,
                                      geometry g: InferenceModel.Geometry, outHeight oh: Int, outWidth ow: Int, max isMax: Bool) {
        precondition(SIMDSupport.avx2FMA && g.padding == (0, 0), "interleaved pooling needs AVX2 and no padding")
        precondition(input != .planar, "runInterleaved needs an interleaved input")
        input.withDescription(channels: channels, batch: batch, height: h, width: w) { from in
            output.withDescription(channels: channels, batch: batch, height: oh, width: ow) { to in
                relief_pool_interleaved(x, from!, Int64(channels), Int64((batch + 7) / 8), Int64(g.kernel.0), Int64(g.kernel.1),
                                        Int64(g.stride.0), Int64(g.stride.1), Int64(oh), Int64(ow), isMax ? 1 : 0, y, to, Int64(batch))
            }
        }
    }

    public static func run(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int, height h: Int, width w: Int,
                    geometry g: InferenceModel.Geometry, outHeight oh: Int, outWidth ow: Int, max isMax: Bool,
                    portable: Bool = false) {
        let (kh, kw) = g.kernel, (sh, sw) = g.stride, (ph, pw) = g.padding
        let area = Float(kh * kw)
        if ph == 0 && pw == 0 && kh == 2 && kw == 2 && sh == 2 && sw == 2 && SIMDSupport.avx2FMA && !portable {
            relief_pool2x2(x, y, Int64(planes), Int64(h), Int64(w), Int64(oh), Int64(ow), isMax ? 1 : 0)
            return
        }
        if ph == 0 && pw == 0 && kh == 2 && kw == 2 && sh == 2 && sw == 2 {
            // The common 2x2 window, stride 2: sixteen inputs of two rows give eight outputs at once.
            for plane in 0..<planes {
                let from = x + plane * h * w, to = y + plane * oh * ow
                for oy in 0..<oh {
                    let r0 = UnsafeRawPointer(from + 2 * oy * w), r1 = UnsafeRawPointer(from + (2 * oy + 1) * w)
                    let out = to + oy * ow
                    var ox = 0
                    while ox + 8 <= ow {
                        let a = r0.loadUnaligned(fromByteOffset: 8 * ox, as: SIMD16<Float>.self)
                        let b = r1.loadUnaligned(fromByteOffset: 8 * ox, as: SIMD16<Float>.self)
                        let v = isMax ? pointwiseMax(pointwiseMax(a.evenHalf, a.oddHalf), pointwiseMax(b.evenHalf, b.oddHalf))
                            : (a.evenHalf + a.oddHalf + b.evenHalf + b.oddHalf) * 0.25
                        UnsafeMutableRawPointer(out + ox).storeBytes(of: v, as: SIMD8<Float>.self)
                        ox += 8
                    }
                    let p0 = from + 2 * oy * w, p1 = from + (2 * oy + 1) * w
                    while ox < ow {
                        let (a, b, c, d) = (p0[2 * ox], p0[2 * ox + 1], p1[2 * ox], p1[2 * ox + 1])
                        out[ox] = isMax ? Swift.max(Swift.max(a, b), Swift.max(c, d)) : (a + b + c + d) * 0.25
                        ox += 1
                    }
                }
            }
            return
        }
        if ph == 0 && pw == 0 {
            // No padding: every window lies inside the image, no bounds to check.
            let scale = 1 / area
            for plane in 0..<planes {
                let from = x + plane * h * w, to = y + plane * oh * ow
                for oy in 0..<oh {
                    let top = from + oy * sh * w
                    for ox in 0..<ow {
                        let corner = top + ox * sw
                        var acc: Float = isMax ? corner[0] : 0
                        for ky in 0..<kh {
                            let line = corner + ky * w
                            for kx in 0..<kw { acc = isMax ? Swift.max(acc, line[kx]) : acc + line[kx] }
                        }
                        to[oy * ow + ox] = isMax ? acc : acc * scale
                    }
                }
            }
            return
        }
        for plane in 0..<planes {
            let from = x + plane * h * w, to = y + plane * oh * ow
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var acc: Float = isMax ? -.infinity : 0
                    for ky in 0..<kh {
                        let iy = oy * sh - ph + ky
                        guard iy >= 0 && iy < h else { continue }
                        for kx in 0..<kw {
                            let ix = ox * sw - pw + kx
                            guard ix >= 0 && ix < w else { continue }
                            let v = from[iy * w + ix]
                            acc = isMax ? Swift.max(acc, v) : acc + v
                        }
                    }
                    // Average pooling counts padding as zeros (the format's rule, PyTorch's default).
                    to[oy * ow + ox] = isMax ? acc : acc / area
                }
            }
        }
    }
}
