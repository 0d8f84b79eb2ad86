import Foundation
import ReliefFormat
import ReliefKernels

/// A loaded `.rlf` model ready to run: the graph as executable steps with each weighted layer's
/// kernel chosen and built once. Immutable and shared: every thread runs it through its own
/// `InferenceSession`, which holds the buffers.
///
/// Activations are kept feature-major: a tensor of per-example shape `[C, H, W]` (or `[F]`) for a
/// batch of B is stored `[C][B][H·W]`, so a fully connected layer is one product with B columns and a
/// convolution, after im2col, one product with B·H′·W′ columns, both through the same kernels.
public final class InferenceModel: Sendable {
    /// How each weighted layer's kernel is chosen.
    public enum KernelPolicy: Sendable, Equatable {
        /// The fastest of the table's automatic kernels for the layer's shape, density and the batch
        /// size given, timed on this machine when the model is loaded. Layers named in `cached` take
        /// the kernel recorded there (an earlier measurement, see `KernelChoiceCache`) without timing.
        case fastest(batch: Int, cached: [String: String] = [:])
        /// One kernel for every layer, by table name.
        case forced(String)
    }

    /// One executable step.
    public enum Operation: Sendable {
        case linear(WeightedLayer)
        case convolution(WeightedLayer, Geometry)
        case relu, flatten, softmax, globalAveragePool
        case maxPool(Geometry), averagePool(Geometry)
        case add(other: Int)
        case shortcut(stride: (Int, Int), padChannels: Int)
    }

    /// Convolution or pooling window geometry.
    public struct Geometry: Sendable, Equatable {
        public var kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
        public init(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) {
            self.kernel = kernel
            self.stride = stride
            self.padding = padding
        }
        public static func == (a: Geometry, b: Geometry) -> Bool {
            a.kernel == b.kernel && a.stride == b.stride && a.padding == b.padding
        }
    }

    /// A fully connected or convolution layer: its kernel, bias and sizes.
    public struct WeightedLayer: Sendable {
        /// The matrix kernel (for a convolution: applied after im2col).
        public let kernel: any WeightKernel
        /// For a convolution computed directly from its sparse kernels instead of im2col + `kernel`.
        public var direct: DirectSparseConvolution? = nil
        /// The name of what runs: the kernel's, or the direct convolution's ("direct" or "strips").
        public var kernelName: String { direct?.name ?? kernel.name }
        /// Resident bytes of what runs.
        public var residentBytes: Int { direct?.residentBytes ?? kernel.residentBytes }
        public let bias: [Float]?
        /// The weight tensor's shape in the file.
        public let weightShape: [Int]
        /// Columns of the weight matrix in the file (the kernel may keep fewer, `InferenceModel.inputFeatures`).
        public var fileColumns: Int { weightShape.dropFirst().reduce(1, *) }
        /// How long each automatic candidate took per call when the kernel was chosen (seconds).
        public let candidateSeconds: [String: Double]
        public var nonzeros: Int { nnz }
        let nnz: Int
        /// The weights while the plan is built (dropped after, so they are not held twice).
        var csr: CSRMatrix?
        /// The file's columns the kernel keeps, when it keeps fewer (see `InferenceModel.inputFeatures`).
        public var keptColumns: [Int32]? = nil
        let layerName: String
    }

    /// One node: its operation, the node it reads (−1: the model input) and its output shape.
    /// A class, not a struct: the session walks the nodes on every run, and copying a struct of two
    /// strings, an array and an enum with class payloads took a handful of atomic reference-count
    /// operations per node (half of the retains in a ResNet-20 batch-1 profile).
    public final class Node: Sendable {
        public let name: String
        public let op: String
        public let operation: Operation
        public let input: Int
        public let outputShape: [Int]

        init(name: String, op: String, operation: Operation, input: Int, outputShape: [Int]) {
            self.name = name
            self.op = op
            self.operation = operation
            self.input = input
            self.outputShape = outputShape
        }

        /// `outputShape[0]` and the product of the rest: rows and per-example pixels of the buffer.
        var channels: Int { outputShape[0] }
        var pixels: Int { outputShape.dropFirst().reduce(1, *) }
    }

    public let name: String
    public let inputShape: [Int]
    public let normalization: RLFMetadata.Normalization
    public let classNames: [String]
    public let nodes: [Node]
    /// The node whose output is the model's output.
    public let output: Int
    /// For a ReLU folded into the node before it (a convolution, linear layer or addition whose only
    /// reader it is): that node's index. The producer writes max(0, ·) itself and the ReLU shares its
    /// buffer, which saves a whole pass over the activations.
    public let reluFusedInto: [Int?]
    /// For a residual addition folded into the direct convolution right before it (the addition's
    /// only other operand computed earlier, the convolution read by nothing else): the
    /// convolution's index. The convolution adds the other operand as it writes its outputs and the
    /// addition shares its buffer: one pass over two activations fewer.
    public let additionFusedInto: [Int?]
    /// Per node, the batch-interleaved layout its output takes when the batch allows (see
    /// `assignLayouts`), or `.planar` when it is always planar.
    public let interleavedCandidates: [ActivationLayout]
    /// The convolutions reading each candidate's output (all must interleave for it to).
    let interleavedConvolutionReaders: [[Int]]
    /// Per node, the padded layout its output takes when the batch allows (see `paddedCandidates`),
    /// or `.planar`.
    public let paddedCandidates: [ActivationLayout]
    /// For each padded candidate, the convolution that reads it.
    let paddedReaders: [Int?]
    /// For a 2x2 max pooling its direct convolution can compute as it writes: that convolution (see
    /// `poolFusions`; whether it does depends on the batch, `fusesPool`).
    public let poolFusedInto: [Int?]
    /// The inverse: for such a convolution, its pooling.
    public let pooledBy: [Int?]
    public let provenance: RLFMetadata.Provenance
    public let policy: KernelPolicy
    /// Fully connected units removed from the plan because they cannot affect the output, per layer.
    public let removedUnits: [String: Int]
    /// When the first node flattens the model input for one linear layer only, and that layer's
    /// weights leave input features unread (pruning disconnects pixels that carry nothing, such as
    /// MNIST's borders: the NNrelief LeNet-300-100 reads 297 of 784): the features it reads, in
    /// order. The flatten then gathers only those, and the layer's kernel has only their columns.
    /// Not for a dense plan, which stays the dense model.
    public let inputFeatures: [Int32]?

    /// The kernel of each weighted layer, by layer name.
    public var kernelChoices: [String: String] {
        var out: [String: String] = [:]
        for node in nodes {
            switch node.operation {
            case let .linear(w), let .convolution(w, _): out[node.name] = w.kernelName
            default: break
            }
        }
        return out
    }

    /// The weighted layers, in order.
    public var weightedLayers: [(node: Node, layer: WeightedLayer)] {
        nodes.compactMap { node in
            switch node.operation {
            case let .linear(w), let .convolution(w, _): (node, w)
            default: nil
            }
        }
    }

    public var outputCount: Int { nodes[output].outputShape.reduce(1, *) }
    public var inputCount: Int { inputShape.reduce(1, *) }

    /// Loads and validates an `.rlf` file.
    public convenience init(path: String, policy: KernelPolicy = .fastest(batch: 1), table: [KernelEntry] = KernelTable.builtIn) throws {
        let file = try RLFReader.read(path: path)
        try self.init(file.model, policy: policy, table: table)
    }

    /// Builds the executable graph of a model the reader has validated. With `.fastest`, kernels are
    /// timed layer by layer and then each convolution's direct-or-im2col choice on the whole plan
    /// (see `PlanTuning`), except for the layers `cached` settles.
    public convenience init(_ model: RLFModel, policy: KernelPolicy = .fastest(batch: 1), table: [KernelEntry] = KernelTable.builtIn) throws(InferenceError) {
        var policy = policy
        let reuse = BuiltKernels()
        if case let .fastest(batch, cached) = policy, batch >= 1 {
            policy = .fastest(batch: batch, cached: try Self.tunedChoices(model, batch: batch, cached: cached, table: table, reuse: reuse))
        }
        try self.init(building: model, policy: policy, table: table, reuse: reuse)
    }

    /// Builds the executable graph with `policy`'s per-layer choices, no whole-plan tuning.
    /// `reuse` shares kernels between plans of one model that differ in a few layers' choices.
    init(building model: RLFModel, policy: KernelPolicy, table: [KernelEntry], reuse: BuiltKernels? = nil) throws(InferenceError) {
        let (model, removed) = Self.removingDeadUnits(model)
        removedUnits = removed
        let a = model.metadata.architecture
        name = a.name
        inputShape = a.input.shape
        normalization = a.input.normalization
        classNames = a.classNames
        provenance = model.metadata.provenance
        self.policy = policy
        guard !a.input.shape.isEmpty, a.input.shape.allSatisfy({ $0 >= 1 }) else {
            throw .unsupportedLayer(layer: "input", reason: "input shape \(a.input.shape) is empty or has a zero dimension")
        }
        let candidates: [KernelEntry]
        switch policy {
        case let .forced(kernel):
            // "direct" and "strips": convolutions computed from their sparse kernels (the strip path
            // where it applies), fully connected layers on CSR.
            if Self.convolutionKernels.contains(kernel) { candidates = [KernelTable.csr]; break }
            guard let e = table.first(where: { $0.name == kernel }) else { throw .unknownKernel(kernel, known: table.map(\.name) + Self.convolutionKernels) }
            candidates = [e]
        case let .fastest(batch, _):
            guard batch >= 1 else { throw .badBatch(expected: "at least 1", found: batch) }
            candidates = table.filter(\.automatic)
            guard !candidates.isEmpty else { throw .unknownKernel("(automatic)", known: table.map(\.name)) }
        }
        // The first layer flattens the input (nothing else reads the input) and only one linear layer
        // reads it (and not as the model's output).
        let compactsInput: Bool = {
            if case .forced("dense") = policy { return false }
            guard let first = a.layers.first, first.op == RLFMetadata.Operator.flatten.rawValue, first.inputs == ["input"],
                  first.name != a.output, a.layers.dropFirst().allSatisfy({ !$0.inputs.contains("input") }) else { return false }
            let readers = a.layers.filter { $0.inputs.contains(first.name) }
            return readers.count == 1 && readers[0].op == RLFMetadata.Operator.linear.rawValue && readers[0].inputs == [first.name]
        }()
        var keptFeatures: [Int32]? = nil
        var built: [Node] = []
        var index: [String: Int] = ["input": -1]
        func shapeOf(_ i: Int) -> [Int] { i < 0 ? a.input.shape : built[i].outputShape }
        for l in Self.shortcutsEarly(a.layers) {
            guard let op = RLFMetadata.Operator(rawValue: l.op) else {
                throw .unsupportedLayer(layer: l.name, reason: "operator \(l.op) is not one of \(RLFMetadata.Operator.allCases.map(\.rawValue))")
            }
            guard let first = l.inputs.first, let input = index[first] else {
                throw .unsupportedLayer(layer: l.name, reason: "its input \(l.inputs.first ?? "(none)") is not an earlier layer")
            }
            let s = shapeOf(input)
            var operation: Operation
            switch op {
            case .linear:
                let layer = try Self.weighted(l, model: model, rows: l.outputShape.first ?? 0, columns: s.reduce(1, *),
                                              pixels: 1, policy: policy, candidates: candidates, compactingColumns: compactsInput && input == 0,
                                              reuse: reuse)
                keptFeatures = layer.keptColumns ?? keptFeatures
                var plain = layer
                plain.csr = nil
                operation = .linear(plain)
            case .conv2d:
                guard s.count == 3, let w = l.weight.flatMap(model.tensor(named:)), w.shape.count == 4, w.shape[1] == s[0],
                      let stride = l.stride, let padding = l.padding, stride.count == 2, padding.count == 2 else {
                    throw .badTensor(layer: l.name, expected: "a [O, \(s.first ?? 0), kh, kw] weight with stride and padding", found: "other")
                }
                let g = Geometry(kernel: (w.shape[2], w.shape[3]), stride: (stride[0], stride[1]), padding: (padding[0], padding[1]))
                var layer = try Self.weighted(l, model: model, rows: w.shape[0], columns: w.shape[1] * w.shape[2] * w.shape[3],
                                              pixels: l.outputShape.dropFirst().reduce(1, *), policy: policy,
                                              candidates: candidates.filter { $0.name != "direct" } .isEmpty ? [KernelTable.csr] : candidates.filter { $0.name != "direct" },
                                              reuse: reuse)
                layer.direct = Self.directChoice(layer, geometry: g, input: s, output: l.outputShape, policy: policy, reuse: reuse)
                layer.csr = nil
                operation = .convolution(layer, g)
            case .maxpool2d, .avgpool2d:
                guard let k = l.kernel, k.count == 2 else { throw .unsupportedLayer(layer: l.name, reason: "pooling needs a kernel") }
                let stride = l.stride ?? k, padding = l.padding ?? [0, 0]
                let g = Geometry(kernel: (k[0], k[1]), stride: (stride[0], stride[1]), padding: (padding[0], padding[1]))
                operation = op == .maxpool2d ? .maxPool(g) : .averagePool(g)
            case .globalavgpool2d: operation = .globalAveragePool
            case .relu: operation = .relu
            case .softmax: operation = .softmax
            case .flatten: operation = .flatten
            case .add:
                guard l.inputs.count == 2, let other = index[l.inputs[1]], shapeOf(other) == s else {
                    throw .unsupportedLayer(layer: l.name, reason: "add needs two earlier inputs of equal shape")
                }
                operation = .add(other: other)
            case .shortcut:
                guard s.count == 3, let stride = l.stride, stride.count == 2, let o = l.outChannels, o >= s[0], (o - s[0]) % 2 == 0 else {
                    throw .unsupportedLayer(layer: l.name, reason: "shortcut needs a [C, H, W] input, a stride and outChannels ≥ C")
                }
                operation = .shortcut(stride: (stride[0], stride[1]), padChannels: (o - s[0]) / 2)
            }
            guard !l.outputShape.isEmpty else { throw .unsupportedLayer(layer: l.name, reason: "empty output shape") }
            index[l.name] = built.count
            built.append(Node(name: l.name, op: l.op, operation: operation, input: input, outputShape: l.outputShape))
        }
        guard let out = index[a.output], out >= 0 else { throw .unsupportedLayer(layer: a.output, reason: "the output is not a layer") }
        if let kept = keptFeatures {
            built[0] = Node(name: built[0].name, op: built[0].op, operation: .flatten, input: -1, outputShape: [kept.count])
        }
        inputFeatures = keptFeatures
        nodes = built
        output = out
        reluFusedInto = Self.fusibleReLUs(built, output: out)
        additionFusedInto = Self.fusibleAdditions(built, output: out)
        let layoutCandidates = Self.interleavedCandidates(built, output: out, reluFusedInto: reluFusedInto, additionFusedInto: additionFusedInto)
        interleavedCandidates = layoutCandidates
        interleavedConvolutionReaders = Self.convolutionReaders(built, candidates: layoutCandidates, reluFusedInto: reluFusedInto)
        let pools = Self.poolFusions(built, output: out, reluFusedInto: reluFusedInto, additionFusedInto: additionFusedInto)
        poolFusedInto = pools
        pooledBy = built.indices.map { k in pools.firstIndex { $0 == k } }
        let padded = Self.paddedCandidates(built, output: out, reluFusedInto: reluFusedInto, additionFusedInto: additionFusedInto,
                                           pooledBy: pooledBy)
        paddedCandidates = padded.map(\.layout)
        paddedReaders = padded.map(\.reader)
    }

    /// The layers in an order that computes each option-A shortcut right after the layer it reads
    /// (when that is a layer, not the model input) instead of where the file lists it, usually after
    /// the block's second convolution: the block's addition can then be fused into that convolution,
    /// its residual being ready (`fusibleAdditions`). Every layer still comes after its inputs.
    static func shortcutsEarly(_ layers: [RLFMetadata.Layer]) -> [RLFMetadata.Layer] {
        var order = layers
        for shortcut in layers where shortcut.op == RLFMetadata.Operator.shortcut.rawValue && shortcut.inputs.count == 1 {
            guard let from = order.firstIndex(where: { $0.name == shortcut.name }),
                  let producer = order.firstIndex(where: { $0.name == shortcut.inputs[0] }), producer + 1 < from else { continue }
            order.remove(at: from)
            order.insert(shortcut, at: producer + 1)
        }
        return order
    }

    /// Additions a direct convolution right before them can compute: the convolution is one operand,
    /// read by nothing else and not the model's output, and the other operand exists before it runs.
    static func fusibleAdditions(_ nodes: [Node], output: Int) -> [Int?] {
        let readers = readerCounts(nodes)
        return nodes.enumerated().map { k, node in
            guard case let .add(other) = node.operation, k >= 1 else { return nil }
            let p = k - 1
            guard case let .convolution(w, _) = nodes[p].operation, w.direct != nil, p != output, readers[p] == 1 else { return nil }
            // The convolution is one operand; the other (the residual) must be ready before it runs.
            let residual = node.input == p ? other : (other == p ? node.input : nil)
            guard let residual, residual < p else { return nil }
            return p
        }
    }

    /// The residual operand of an addition fused into node `p`, when node `p + 1` is one.
    func fusedResidual(of p: Int) -> Int? {
        guard p + 1 < nodes.count, additionFusedInto[p + 1] == p, case let .add(other) = nodes[p + 1].operation else { return nil }
        return nodes[p + 1].input == p ? other : nodes[p + 1].input
    }

    /// How many nodes read each node's output (as input or as an addition's other operand).
    static func readerCounts(_ nodes: [Node]) -> [Int] {
        var readers = [Int](repeating: 0, count: nodes.count)
        for node in nodes {
            if node.input >= 0 { readers[node.input] += 1 }
            if case let .add(other) = node.operation, other >= 0 { readers[other] += 1 }
        }
        return readers
    }

    /// ReLUs that can be computed by the node right before them: a convolution, linear layer or
    /// addition that nothing else reads and that is not the model's output.
    static func fusibleReLUs(_ nodes: [Node], output: Int) -> [Int?] {
        let readers = readerCounts(nodes)
        return nodes.enumerated().map { k, node in
            guard case .relu = node.operation, node.input == k - 1, node.input >= 0, node.input != output,
                  readers[node.input] == 1 else { return nil }
            switch nodes[node.input].operation {
            case .convolution, .linear, .add: return node.input
            default: return nil
            }
        }
    }

    /// The convolutions computed from their sparse kernels, by name: the direct convolution's
    /// planar and batch-interleaved paths, and its strip path (`DirectSparseConvolution.strips`).
    public static let convolutionKernels = ["direct", "strips"]

    /// Whether a convolution runs direct (or on the strip path): forced, cached, or when timing finds
    /// it faster than im2col followed by the layer's chosen matrix kernel (im2col's own time included).
    static func directChoice(_ layer: WeightedLayer, geometry g: Geometry, input s: [Int], output o: [Int],
                             policy: KernelPolicy, reuse: BuiltKernels? = nil) -> DirectSparseConvolution? {
        func make(strips: Bool = false) -> DirectSparseConvolution {
            let key = strips ? layer.layerName + "#strips" : layer.layerName
            if let built = reuse?.direct[key] { return built }
            let made = DirectSparseConvolution(layer.csr!, inChannels: s[0], kernel: g.kernel, stride: g.stride, padding: g.padding, strips: strips)
            reuse?.direct[key] = made
            return made
        }
        switch policy {
        case let .forced(name): return convolutionKernels.contains(name) ? make(strips: name == "strips") : nil
        case let .fastest(batch, cached):
            if let name = cached[layer.layerName] { return convolutionKernels.contains(name) ? make(strips: name == "strips") : nil }
            let direct = make()
            let (h, w, oh, ow) = (s[1], s[2], o[1], o[2])
            let n = batch * oh * ow
            // Aligned as the session's buffers are (see `AlignedFloats`).
            let x = AlignedFloats(patternCount: s.reduce(1, *) * batch)
            let cols = AlignedFloats(count: layer.kernel.columns * n + Im2Col.extraFloats(channels: s[0], batch: batch, height: h, width: w, geometry: g))
            let y = AlignedFloats(count: layer.kernel.rows * n)
            func best(_ body: () -> Void) -> Double {
                var fastest = Double.infinity, spent = 0.0, reps = 0
                while reps < 3 || (spent < 0.002 && reps < 200) {
                    let start = DispatchTime.now().uptimeNanoseconds
                    body()
                    let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    fastest = min(fastest, t); spent += t; reps += 1
                }
                return fastest
            }
            let im2col = best {
                Im2Col.fill(cols.pointer, from: x.pointer, channels: s[0], batch: batch, height: h, width: w, geometry: g, outHeight: oh, outWidth: ow)
            }
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(1, direct.scratchBytes(batch: batch, height: h, width: w)), alignment: 64)
            defer { scratch.deallocate() }
            let directTime = best {
                direct.run(x.pointer, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: nil, into: y.pointer,
                           threads: 1, scratch: scratch)
            }
            var fastest = (direct, directTime)
            // Not where the batch interleaves: the interleaved path's layouts and fused pooling pay
            // off in the network beyond what a layer's own timing shows (VGG-11 at batch 64 took the
            // strip path in conv1 and ran 1.15x slower whole).
            if DirectSparseConvolution.stripsApply(stride: g.stride, padding: g.padding, wide: SIMDSupport.avx512)
                && !direct.interleaves(batch: batch, outHeight: oh, outWidth: ow) {
                let strips = make(strips: true)
                let stripScratch = UnsafeMutableRawPointer.allocate(byteCount: max(1, strips.scratchBytes(batch: batch, height: h, width: w)), alignment: 64)
                defer { stripScratch.deallocate() }
                let stripTime = best {
                    strips.run(x.pointer, batch: batch, height: h, width: w, outHeight: oh, outWidth: ow, bias: nil, into: y.pointer,
                               threads: 1, scratch: stripScratch)
                }
                if stripTime < directTime { fastest = (strips, stripTime) }
            }
            let matrixTime = layer.candidateSeconds[layer.kernel.name] ?? .infinity
            return fastest.1 < im2col + matrixTime ? fastest.0 : nil
        }
    }

    /// Builds a weighted layer's kernel: forced, or the fastest candidate timed at this layer's size.
    /// With `compactingColumns`, columns no weight uses are left out of the kernel (`keptColumns`
    /// lists the others), when there are any such columns and not all are.
    static func weighted(_ l: RLFMetadata.Layer, model: RLFModel, rows: Int, columns: Int, pixels: Int,
                         policy: KernelPolicy, candidates: [KernelEntry], compactingColumns: Bool = false,
                         reuse: BuiltKernels? = nil) throws(InferenceError) -> WeightedLayer {
        guard let name = l.weight, let w = model.tensor(named: name) else {
            throw .badTensor(layer: l.name, expected: "a weight tensor", found: "none")
        }
        guard w.rows == rows, w.columns == columns else {
            throw .badTensor(layer: l.name, expected: "a weight of \(rows) x \(columns)", found: "\(w.shape)")
        }
        var bias: [Float]? = nil
        if let b = l.bias {
            guard let t = model.tensor(named: b), t.count == rows else {
                throw .badTensor(layer: l.name, expected: "a bias of \(rows) values", found: model.tensor(named: b).map { "\($0.shape)" } ?? "none")
            }
            bias = t.denseValues()
        }
        var m = w.csr()
        var kept: [Int32]? = nil
        if compactingColumns {
            var used = [Bool](repeating: false, count: m.columns)
            for c in m.columnIndices { used[Int(c)] = true }
            let list = used.indices.filter { used[$0] }
            if !list.isEmpty && list.count < m.columns {
                var position = [Int32](repeating: -1, count: m.columns)
                for (j, c) in list.enumerated() { position[c] = Int32(j) }
                m = CSRMatrix(rows: m.rows, columns: list.count, rowPointers: m.rowPointers,
                              columnIndices: m.columnIndices.map { position[Int($0)] }, values: m.values)
                kept = list.map { Int32($0) }
            }
        }
        var layer = try Self.weightedKernel(l, m, weightShape: w.shape, bias: bias, pixels: pixels, policy: policy, candidates: candidates,
                                            reuse: reuse)
        layer.keptColumns = kept
        return layer
    }

    /// The kernel for a weighted layer's (possibly compacted) matrix: forced, cached, or the fastest
    /// candidate timed at this layer's size.
    static func weightedKernel(_ l: RLFMetadata.Layer, _ m: CSRMatrix, weightShape: [Int], bias: [Float]?, pixels: Int,
                               policy: KernelPolicy, candidates: [KernelEntry], reuse: BuiltKernels? = nil) throws(InferenceError) -> WeightedLayer {
        let (rows, columns) = (m.rows, m.columns)
        func make(_ entry: KernelEntry) -> any WeightKernel {
            if let built = reuse?.matrix[l.name]?[entry.name] { return built }
            let made = entry.make(m)
            reuse?.matrix[l.name, default: [:]][entry.name] = made
            return made
        }
        guard candidates.count > 1, case let .fastest(batch, cached) = policy else {
            return WeightedLayer(kernel: make(candidates[0]), bias: bias, weightShape: weightShape, candidateSeconds: [:], nnz: m.nnz, csr: m, layerName: l.name)
        }
        if let name = cached[l.name], convolutionKernels.contains(name) {
            // The matrix kernel is not run; a direct layer keeps the one timing chose when there is one.
            let kept = reuse?.matrix[l.name]?.values.first ?? make(KernelTable.csr)
            return WeightedLayer(kernel: kept, bias: bias, weightShape: weightShape, candidateSeconds: [:], nnz: m.nnz, csr: m, layerName: l.name)
        }
        if let name = cached[l.name], let entry = candidates.first(where: { $0.name == name }) {
            return WeightedLayer(kernel: make(entry), bias: bias, weightShape: weightShape, candidateSeconds: [:], nnz: m.nnz, csr: m, layerName: l.name)
        }
        // Time each candidate meant for this product size; keep the fastest.
        let n = batch * pixels
        let sized = candidates.filter { n <= $0.automaticColumns }
        let candidates = sized.isEmpty ? candidates : sized
        // Aligned as the session's buffers are (see `AlignedFloats`).
        let x = AlignedFloats(patternCount: columns * n), y = AlignedFloats(count: rows * n)
        var best: (any WeightKernel)? = nil
        var bestTime = Double.infinity
        var times: [String: Double] = [:]
        for entry in candidates {
            let kernel = entry.make(m)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(kernel.scratchBytes(n: n), 1), alignment: 64)
            defer { scratch.deallocate() }
            var fastest = Double.infinity
            var spent = 0.0
            var reps = 0
            // At least 3 calls; up to 2 ms per candidate.
            while reps < 3 || (spent < 0.002 && reps < 200) {
                let start = DispatchTime.now().uptimeNanoseconds
                kernel.multiply(x.pointer, n: n, bias: nil, into: y.pointer, scratch: scratch, threads: 1)
                let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                fastest = min(fastest, t)
                spent += t
                reps += 1
            }
            times[entry.name] = fastest
            if fastest < bestTime { bestTime = fastest; best = kernel }
        }
        reuse?.matrix[l.name] = [best!.name: best!]
        return WeightedLayer(kernel: best!, bias: bias, weightShape: weightShape, candidateSeconds: times, nnz: m.nnz, csr: m, layerName: l.name)
    }
}
