import ReliefKernels

/// Which activations stay batch-interleaved between layers (`ActivationLayout.interleaved`).
///
/// The batch-interleaved direct convolution reads its input as `[C][B/8][H][W][8]`. Copying a
/// planar input into that layout and transposing its outputs back took about a tenth of VGG-11's
/// time at batch 64, and the 2x2 max pooling between the convolutions as much again on planar 4x4
/// and 2x2 maps (one scalar window at a time). So a convolution or pooling whose every reader is an
/// interleaved convolution or a pooling writes its output interleaved, with the reading
/// convolution's padding as a zero border, and the readers take it as it is.
extension InferenceModel {
    /// Per node, the layout its output takes when the batch allows it (`.planar`: always planar):
    /// a convolution that can run interleaved (and adds no residual) or an unpadded pooling, not the
    /// model's output, whose readers (through a ReLU fused into it) are all unpadded poolings or
    /// direct convolutions that can interleave; the border is those convolutions' padding (they
    /// must agree), else none.
    static func interleavedCandidates(_ nodes: [Node], output: Int, reluFusedInto: [Int?], additionFusedInto: [Int?]) -> [ActivationLayout] {
        var readers = [[Int]](repeating: [], count: nodes.count)
        var readAsOther = [Bool](repeating: false, count: nodes.count)
        for (j, node) in nodes.enumerated() {
            if node.input >= 0 { readers[node.input].append(j) }
            if case let .add(other) = node.operation, other >= 0 { readAsOther[other] = true }
        }
        return nodes.indices.map { k in
            let node = nodes[k]
            // The buffer's last name: a ReLU fused into this node shares its buffer and its readers.
            let alias = k + 1 < nodes.count && reluFusedInto[k + 1] == k ? k + 1 : k
            guard reluFusedInto[k] == nil, additionFusedInto[k] == nil, k != output, alias != output,
                  !readAsOther[k], !readAsOther[alias], !readers[alias].isEmpty else { return .planar }
            switch node.operation {
            case let .convolution(w, _):
                guard let d = w.direct, d.interleavable, k + 1 >= nodes.count || additionFusedInto[k + 1] != k else { return .planar }
            case let .maxPool(g), let .averagePool(g):
                guard g.padding == (0, 0) else { return .planar }
            default:
                return .planar
            }
            var border: (Int, Int)? = nil
            for r in readers[alias] {
                switch nodes[r].operation {
                case let .convolution(w, g):
                    guard let d = w.direct, d.interleavable, d.padding == g.padding else { return .planar }
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

    /// The layout of every node's output for a batch of `batch`, written into `layouts` (one per
    /// node; nothing allocated): a candidate (see `interleavedCandidates`) is interleaved when it
    /// runs interleaved at this batch (a convolution: `interleaves`; a pooling: its input is
    /// interleaved) and so do all its convolution readers. A fused ReLU takes its producer's.
    func assignLayouts(batch: Int, into layouts: inout [ActivationLayout]) {
        func interleaves(_ k: Int) -> Bool {
            guard case let .convolution(w, _) = nodes[k].operation, let d = w.direct else { return false }
            return d.interleaves(batch: batch, outHeight: nodes[k].outputShape[1], outWidth: nodes[k].outputShape[2])
        }
        for k in nodes.indices {
            if let p = reluFusedInto[k] ?? additionFusedInto[k] {
                layouts[k] = layouts[p]
                continue
            }
            layouts[k] = .planar
            guard case .interleaved = interleavedCandidates[k] else { continue }
            switch nodes[k].operation {
            case .convolution: guard interleaves(k) else { continue }
            default: guard nodes[k].input >= 0, layouts[nodes[k].input] != .planar else { continue }
            }
            let alias = k + 1 < nodes.count && reluFusedInto[k + 1] == k ? k + 1 : k
            var readersInterleave = true
            for r in (alias + 1)..<nodes.count where nodes[r].input == alias {
                if case .convolution = nodes[r].operation, !interleaves(r) { readersInterleave = false }
            }
            if readersInterleave { layouts[k] = interleavedCandidates[k] }
        }
    }
}
