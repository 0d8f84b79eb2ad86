import ReliefFormat

extension InferenceModel {
    /// Removes from a model the fully connected units that cannot affect its output, before a plan is
    /// built: in a chain linear → (ReLU) → linear, a unit with no incoming weights whose output is
    /// always zero (bias 0, or bias ≤ 0 before the ReLU), or a unit no weight of the next layer reads.
    /// Its row and bias go, and the next layer's column. `relief-export` already removes such units;
    /// this covers files from elsewhere. Returns the model and the units removed per layer.
    public static func removingDeadUnits(_ model: RLFModel) -> (model: RLFModel, removed: [String: Int]) {
        var model = model
        var removed: [String: Int] = [:]
        let layers = model.metadata.architecture.layers
        for (i, l) in layers.enumerated() where l.op == "linear" && l.name != model.metadata.architecture.output {
            // The layers reading l (directly or through one ReLU) must be exactly one linear layer.
            let readers = layers.filter { $0.inputs.contains(l.name) }
            guard readers.count == 1 else { continue }
            var relu: RLFMetadata.Layer? = nil
            var next = readers[0]
            if next.op == "relu" {
                relu = next
                let after = layers.filter { $0.inputs.contains(next.name) }
                guard after.count == 1, relu!.name != model.metadata.architecture.output else { continue }
                next = after[0]
            }
            guard next.op == "linear", let wName = l.weight, let nName = next.weight,
                  let w = model.tensor(named: wName), let n = model.tensor(named: nName),
                  w.shape.count == 2, n.shape.count == 2, n.shape[1] == w.shape[0] else { continue }
            let bias = l.bias.flatMap(model.tensor(named:))?.denseValues()
            let a = w.csr(), b = n.csr()
            var read = [Bool](repeating: false, count: w.shape[0])
            for c in b.columnIndices { read[Int(c)] = true }
            let keep = (0..<w.shape[0]).filter { u in
                let incoming = a.rowPointers[u + 1] > a.rowPointers[u]
                let bu = bias?[u] ?? 0
                let constantZero = !incoming && (bu == 0 || (relu != nil && bu <= 0))
                return read[u] && !constantZero
            }
            guard keep.count < w.shape[0], !keep.isEmpty else { continue }
            removed[l.name] = w.shape[0] - keep.count
            // Trimmed in CSR, the form the plan converts every weight to anyway: no dense round trip.
            func replace(_ name: String, _ t: RLFTensor) {
                if let k = model.tensors.firstIndex(where: { $0.name == name }) { model.tensors[k] = t }
            }
            replace(wName, RLFTensor(name: wName, shape: [keep.count, w.shape[1]], storage: .csr(a.keepingRows(keep))))
            replace(nName, RLFTensor(name: nName, shape: [n.shape[0], keep.count], storage: .csr(b.keepingColumns(keep))))
            if let bName = l.bias, let bias { replace(bName, RLFTensor(name: bName, shape: [keep.count], values: keep.map { bias[$0] })) }
            model.metadata.architecture.layers[i].outputShape = [keep.count]
            if let relu, let r = layers.firstIndex(where: { $0.name == relu.name }) {
                model.metadata.architecture.layers[r].outputShape = [keep.count]
            }
        }
        return (model, removed)
    }
}
