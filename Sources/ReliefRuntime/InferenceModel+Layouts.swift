import ReliefKernels

/// Which activations stay batch-interleaved between layers (`ActivationLayout.interleaved`).
///
/// The batch-interleaved direct convolution reads its input as `[B/8][C][H][W][8]`. Copying a
/// planar input into that layout and transposing its outputs back took about a tenth of VGG-11's
/// time at batch 64, and the 2x2 max pooling between the convolutions as much again on planar 4x4
/// and 2x2 maps (one scalar window at a time). So a convolution or pooling whose every reader is an
/// interleaved convolution or a pooling writes its output interleaved, with the reading
/// convolution's padding as a zero border, and the readers take it as it is.
extension InferenceModel {
    /// Per node, the nodes whose input it is, and whether an addition reads it as its other operand.
    static func readersOf(_ nodes: [Node]) -> (readers: [[Int]], readAsOther: [Bool]) {
        var readers = [[Int]](repeating: [], count: nodes.count)
        var readAsOther = [Bool](repeating: false, count: nodes.count)
        for (j, node) in nodes.enumerated() {
            if node.input >= 0 { readers[node.input].append(j) }
            if case let .add(other) = node.operation, other >= 0 { readAsOther[other] = true }
        }
        return (readers, readAsOther)
    }

    /// Per node, the layout its output takes when the batch allows it (`.planar`: always planar):
    /// a convolution that can run interleaved (and adds no residual) or an unpadded pooling, not the
    /// model's output, whose readers (through a ReLU fused into it) are all unpadded poolings or
    /// direct convolutions that can interleave; the border is those convolutions' padding (they
    /// must agree), else none.
    static func interleavedCandidates(_ nodes: [Node], output: Int, reluFusedInto: [Int?], additionFusedInto: [Int?]) -> [ActivationLayout] {
        let (readers, readAsOther) = readersOf(nodes)
        return nodes.indices.map { k in
            let node = nodes[k]
            // The buffer's last name: a ReLU fused into this node shares its buffer and its readers.
            let alias = k + 1 < nodes.count && reluFusedInto[k + 1] == k ? k + 1 : k
            guard reluFusedInto[k] == nil, additionFusedInto[k] == nil, k != output, alias != output,
                  !readAsOther[k], !readAsOther[alias], !readers[alias].isEmpty else { return .planar }
            switch node.operation {
            case let .convolution(w, _):
                guard let d = w.direct, d.interleavable || d.rowTiles, k + 1 >= nodes.count || additionFusedInto[k + 1] != k else { return .planar }
            case let .maxPool(g), let .averagePool(g):
                guard g.padding == (0, 0) else { return .planar }
            default:
                return .planar
            }
            var border: (Int, Int)? = nil
            for r in readers[alias] {
                switch nodes[r].operation {
                case let .convolution(w, g):
                    guard let d = w.direct, d.interleavable || d.rowTiles, d.padding == g.padding else { return .planar }
                    if let b = border, b != g.padding { return .planar }
                    border = g.padding
                case let .maxPool(g), let .averagePool(g):
                    guard g.padding == (0, 0) else { return .planar }
                default:
                    return .planar
                }
            }
            let (py, px) = border ?? (0, 0)
            return .interleaved(padY: py, padX: px)
        }
    }

    /// Per node, the `.padded` layout its output takes when the batch allows (else `.planar`): a
    /// direct convolution with no residual or pooling fused into it, not the model's output, whose
    /// only reader (through a ReLU fused into it) is a direct convolution of stride 1 that pads its
    /// input itself (`DirectSparseConvolution.readsPadded`); the layout carries that padding (on the
    /// strip path, one zero row around each image: `paddedInput`). The
    /// writer then writes the reader's padded copy, zeros included, instead of a planar output the
    /// reader copies: at batch 1 the copies were about a sixth of ResNet-20's time.
    /// Each candidate comes with that reader's index.
    static func paddedCandidates(_ nodes: [Node], output: Int, reluFusedInto: [Int?], additionFusedInto: [Int?],
                                 pooledBy: [Int?]) -> [(layout: ActivationLayout, reader: Int?)] {
        let (readers, readAsOther) = readersOf(nodes)
        return nodes.indices.map { k in
            let alias = k + 1 < nodes.count && reluFusedInto[k + 1] == k ? k + 1 : k
            guard reluFusedInto[k] == nil, additionFusedInto[k] == nil, pooledBy[k] == nil, k != output, alias != output,
                  !readAsOther[k], !readAsOther[alias], readers[alias].count == 1,
                  case let .convolution(w, _) = nodes[k].operation, w.direct != nil,
                  k + 1 >= nodes.count || additionFusedInto[k + 1] != k,
                  case let .convolution(rw, g) = nodes[readers[alias][0]].operation, let reader = rw.direct,
                  g.stride == (1, 1), reader.padding == g.padding, g.padding != (0, 0) else { return (.planar, nil) }
            // The strip path reads only its aligned taps' layout in place.
            let o = nodes[k].outputShape
            guard !reader.strips || reader.alignedTaps(height: o[1], width: o[2]) else { return (.planar, nil) }
            return (reader.paddedInput, readers[alias][0])
        }
    }

    /// Per candidate node (see `interleavedCandidates`), the convolutions that read its buffer
    /// (through a ReLU fused into it); empty for the others.
    static func convolutionReaders(_ nodes: [Node], candidates: [ActivationLayout], reluFusedInto: [Int?]) -> [[Int]] {
        nodes.indices.map { k in
            guard candidates[k] != .planar else { return [] }
            let alias = k + 1 < nodes.count && reluFusedInto[k + 1] == k ? k + 1 : k
            return nodes.indices.filter { r in
                guard nodes[r].input == alias, case .convolution = nodes[r].operation else { return false }
                return true
            }
        }
    }

    /// Per node, for a 2x2 max pooling of stride 2 that the direct convolution before it can compute
    /// as it writes (`DirectSparseConvolution.run(pooled:)`): that convolution. The pooling reads
    /// the convolution (or the ReLU fused into it) and nothing else does; the convolution can run
    /// interleaved or in row tiles, adds no residual and has at least 2 x 2 outputs. Whether it
    /// happens depends on the batch and the output size (`fusesPool`).
    static func poolFusions(_ nodes: [Node], output: Int, reluFusedInto: [Int?], additionFusedInto: [Int?]) -> [Int?] {
        let readers = readerCounts(nodes)
        return nodes.indices.map { p in
            guard case let .maxPool(g) = nodes[p].operation, g == Geometry(kernel: (2, 2), stride: (2, 2), padding: (0, 0)) else { return nil }
            let i = nodes[p].input
            guard i >= 0, i != output, readers[i] == 1 else { return nil }
            let k = reluFusedInto[i] ?? i
            guard k != output, readers[k] == 1, case let .convolution(w, _) = nodes[k].operation, let d = w.direct, d.interleavable || d.rowTiles,
                  k + 1 >= nodes.count || additionFusedInto[k + 1] != k, nodes[k].outputShape[1] >= 2, nodes[k].outputShape[2] >= 2 else { return nil }
            return k
        }
    }

    /// Whether pooling node `p` is computed by its convolution (`poolFusedInto`) at this batch size:
    /// when that convolution runs interleaved or in planar row tiles (`DirectSparseConvolution.fusesPool`).
    public func fusesPool(_ p: Int, batch: Int) -> Bool {
        guard let k = poolFusedInto[p], case let .convolution(w, _) = nodes[k].operation, let d = w.direct else { return false }
        return d.fusesPool(batch: batch, outHeight: nodes[k].outputShape[1], outWidth: nodes[k].outputShape[2])
    }

    /// The layout of every node's output for a batch of `batch`, written into `layouts` (one per
    /// node; nothing allocated): a candidate (see `interleavedCandidates`) is interleaved when it
    /// runs interleaved at this batch (a convolution: `interleaves`; a pooling: its input is
    /// interleaved, or its convolution computes it) and so do all its convolution readers. A fused
    /// ReLU takes its producer's. `fusedPools[p]` tells whether pooling p is computed by its
    /// convolution this time; that convolution's own output is then never written.
    func assignLayouts(batch: Int, into layouts: inout [ActivationLayout], fusedPools: inout [Bool]) {
        func interleaves(_ k: Int) -> Bool {
            guard case let .convolution(w, _) = nodes[k].operation, let d = w.direct else { return false }
            return d.interleaves(batch: batch, outHeight: nodes[k].outputShape[1], outWidth: nodes[k].outputShape[2])
        }
        for k in nodes.indices { fusedPools[k] = fusesPool(k, batch: batch) }
        for k in nodes.indices {
            if let p = reluFusedInto[k] ?? additionFusedInto[k] {
                layouts[k] = layouts[p]
                continue
            }
            layouts[k] = .planar
            guard case .interleaved = interleavedCandidates[k] else { continue }
            switch nodes[k].operation {
            case .convolution: guard interleaves(k) else { continue }
            default:
                // A pooling fused into planar row tiles is written planar.
                let interleavedInput = fusedPools[k] ? poolFusedInto[k].map(interleaves) ?? false
                    : nodes[k].input >= 0 && layouts[nodes[k].input] != .planar
                guard interleavedInput else { continue }
            }
            if interleavedConvolutionReaders[k].allSatisfy(interleaves) { layouts[k] = interleavedCandidates[k] }
        }
        // Padded outputs, where the writer and its one reader both run that way at this batch.
        for k in nodes.indices where layouts[k] == .planar {
            guard case let .padded(py, px) = paddedCandidates[k], let r = paddedReaders[k], case let .convolution(w, _) = nodes[k].operation,
                  let d = w.direct, case let .convolution(rw, _) = nodes[r].operation, let reader = rw.direct else { continue }
            let alias = k + 1 < nodes.count && reluFusedInto[k + 1] == k ? k + 1 : k
            let s = nodes[k].input < 0 ? inputShape : nodes[nodes[k].input].outputShape, o = nodes[k].outputShape
            guard d.writesPadded(batch: batch, height: s[1], width: s[2], padding: (py, px)),
                  reader.readsPadded(batch: batch, height: o[1], width: o[2]) else { continue }
            layouts[k] = paddedCandidates[k]
            if alias != k { layouts[alias] = layouts[k] }
        }
    }
}
