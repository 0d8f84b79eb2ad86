/// NNrelief's selection rule for one output neuron or filter.
///
/// Given the importance of each of its incoming connections (and of its bias), keep the fewest,
/// taken from the most important down, whose importance sums to at least α of the total; prune
/// the rest. Defined edge cases (each tested):
/// - ties: among equal scores the lower index is kept first, the bias (index `scores.count - 1`
///   when present) after the weights of equal score; exactly the fewest needed are kept, so of
///   several connections tied at the boundary only as many as needed survive (the authors' code
///   instead prunes every connection tied with the threshold);
/// - all-zero scores (the neuron received nothing on the pruning set): nothing is needed to reach
///   α·0, so everything is pruned and the neuron is dead;
/// - one connection left with a positive score: it is kept (it alone reaches α of the total);
/// - already-pruned connections (`alive[k] == false`) are not candidates and stay pruned.
public enum ReliefSelection {
    /// Which of `scores` to keep. `alive` marks the candidates; the result is false for all others.
    public static func keep(scores: [Double], alive: [Bool], alpha: Double) -> [Bool] {
        precondition(scores.count == alive.count, "scores and alive differ in length")
        precondition(alpha > 0 && alpha <= 1, "alpha must be in (0, 1]")
        var candidates = scores.indices.filter { alive[$0] }
        let total = candidates.reduce(0.0) { $0 + scores[$1] }
        var result = [Bool](repeating: false, count: scores.count)
        guard total > 0 else { return result }
        // Descending score; ties by index (stable), which puts a trailing bias after weights of equal score.
        candidates.sort { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        let target = alpha * total
        var sum = 0.0
        for k in candidates {
            result[k] = true
            sum += scores[k]
            if sum >= target { break }
        }
        return result
    }
}
