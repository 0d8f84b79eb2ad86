import ReliefRandom
import ReliefTraining

/// The baselines NNrelief is compared with, on the same engine and masks.
public enum BaselinePruner: Sendable {
    /// Per layer, prune the smallest-magnitude surviving weights and biases until `fraction` of that layer's entries remain.
    case magnitudeLayerwise
    /// Over all layers together, keep the `fraction` of entries with the largest magnitude.
    case magnitudeGlobal
    /// Per layer, prune surviving entries at random until `fraction` remain.
    case random(seed: UInt64)

    /// Prunes so that about `fraction` of each layer's (or the network's) weights and biases remain.
    public func prune(_ model: Sequential, keeping fraction: Double) throws(PruningError) {
        guard fraction > 0, fraction <= 1 else { throw .invalidOption("the fraction to keep must be in (0, 1], found \(fraction)") }
        _ = try PrunableLayers.of(model)
        PrunableLayers.ensureMasks(model)
        let groups: [[Parameter]]
        switch self {
        case .magnitudeGlobal: groups = [model.prunableParameters]
        default: groups = Dictionary(grouping: model.prunableParameters) { $0.name.split(separator: ".").dropLast().joined(separator: ".") }
            .sorted { $0.key < $1.key }.map(\.value)
        }
        var g: SeededGenerator? = nil
        if case let .random(seed) = self { g = SeededGenerator(seed: seed) }
        for group in groups {
            var entries: [(p: Int, i: Int, key: Double)] = []
            var total = 0
            for (pi, p) in group.enumerated() {
                total += p.count
                for i in 0..<p.count where p.mask![i] != 0 {
                    let key = g != nil ? Double(g!.unit()) : Double(abs(p.value[i]))
                    entries.append((pi, i, key))
                }
            }
            let keep = Int((fraction * Double(total)).rounded())
            guard entries.count > keep else { continue }
            // Smallest keys go first; ties by position, so the result is deterministic.
            entries.sort { $0.key != $1.key ? $0.key < $1.key : ($0.p, $0.i) < ($1.p, $1.i) }
            for e in entries.prefix(entries.count - keep) { group[e.p].mask![e.i] = 0 }
            for p in group { p.applyMask() }
        }
    }
}
