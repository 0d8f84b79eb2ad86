import Foundation
import ReliefPruning
import ReliefTraining
import Testing

@Suite struct SelectionTests {
    let all = [Bool](repeating: true, count: 5)

    @Test func keepsTheFewestThatReachAlpha() {
        // Total 10; α = 0.8 needs 8: 4 + 3 = 7 is short, + 2 = 9 reaches it.
        #expect(ReliefSelection.keep(scores: [2, 4, 1, 3, 0], alive: all, alpha: 0.8) == [true, true, false, true, false])
        // α = 0.7 is reached by 4 + 3 exactly.
        #expect(ReliefSelection.keep(scores: [2, 4, 1, 3, 0], alive: all, alpha: 0.7) == [false, true, false, true, false])
        // α = 1 keeps every positive score but drops zeros.
        #expect(ReliefSelection.keep(scores: [2, 4, 1, 3, 0], alive: all, alpha: 1) == [true, true, true, true, false])
    }

    @Test func tiesKeepTheLowerIndexAndBiasLast() {
        // Four equal scores, α = 0.5: two are needed; the first two survive.
        #expect(ReliefSelection.keep(scores: [1, 1, 1, 1, 0], alive: all, alpha: 0.5) == [true, true, false, false, false])
        // The bias (last) ties with a weight: the weight wins.
        #expect(ReliefSelection.keep(scores: [0, 0, 3, 1, 3], alive: all, alpha: 0.4) == [false, false, true, false, false])
    }

    @Test func allZeroScoresPruneEverything() {
        #expect(ReliefSelection.keep(scores: [0, 0, 0, 0, 0], alive: all, alpha: 0.95) == [false, false, false, false, false])
    }

    @Test func aLoneConnectionSurvives() {
        let alive = [false, false, true, false, false]
        #expect(ReliefSelection.keep(scores: [0, 0, 0.001, 0, 0], alive: alive, alpha: 0.99) == alive)
    }

    @Test func prunedConnectionsStayPruned() {
        // Index 1 has the largest score but is already pruned.
        #expect(ReliefSelection.keep(scores: [1, 9, 1, 1, 0], alive: [true, false, true, true, true], alpha: 0.6)
            == [true, false, true, false, false])
    }
}

@Suite struct ScoreTests {
    /// Two outputs, three inputs, two samples; every contribution worked out by hand.
    @Test func linearScoresByHand() {
        let w: [Float] = [1, -2, 0.5,
                          0, 4, -1]
        let x = Tensor(shape: [2, 3], data: [1, 0, 2,
                                             3, 1, -2])
        let s = ReliefScores.linear(weight: w, bias: [-0.5, 2], outFeatures: 2, inFeatures: 3, inputs: x)
        // mean |x| = [2, 0.5, 2]
        #expect(s[0] == [2, 1, 1, 0.5])
        #expect(s[1] == [0, 2, 2, 2])
    }

    /// One 2x2 kernel over a 3x3 single-channel input, two samples.
    @Test func convolutionScoresByHand() {
        let conv = Conv2d(name: "c", inChannels: 1, outChannels: 1, kernel: 2)
        conv.weight.value = [1, -1, 0, 2]
        conv.bias!.value = [-3]
        let x = Tensor(shape: [2, 1, 3, 3], data: [1, 0, 0,  0, 0, 0,  0, 0, 0,
                                                   1, 1, 1,  1, 1, 1,  1, 1, 1])
        // |K| = [1, 1, 0, 2]. Sample 1: maps [1, 0, 0, 0] → norm 1. Sample 2: all windows sum 4 → [4, 4, 4, 4] → norm 8.
        let paper = ReliefScores.convolution(conv, inputs: x, rule: .paper)
        #expect(paper[0][0] == 4.5)          // (1 + 8) / 2
        #expect(paper[0][1] == 3 * 2)        // |b|·√(h·w), h = w = 2
        // Mean map input: [1, .5, .5, .5, .5, .5, .5, .5, .5] → maps [2.5, 2, 2, 2] → norm √(6.25 + 12), L1 8.5.
        let meanMap = ReliefScores.convolution(conv, inputs: x, rule: .meanMap)
        #expect(abs(meanMap[0][0] - (18.25 as Double).squareRoot()) < 1e-9)
        let l1 = ReliefScores.convolution(conv, inputs: x, rule: .meanMapL1)
        #expect(l1[0][0] == 8.5 && l1[0][1] == 12)
    }

    static func fixture() throws -> [String: Tensor] {
        try SafetensorsFile.read(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scores.safetensors").path).tensors
    }

    func close(_ a: [[Double]], _ b: Tensor, _ what: String) {
        let flat = a.flatMap { $0 }
        #expect(flat.count == b.count, "\(what): \(flat.count) scores, fixture \(b.count)")
        for (i, (x, y)) in zip(flat, b.data).enumerated() where abs(x - Double(y)) > 1e-4 * max(1, abs(Double(y))) {
            Issue.record("\(what): score \(i) is \(x), PyTorch \(y)")
            return
        }
    }

    /// Scores computed independently with PyTorch (tools/make_pruning_fixtures.py).
    @Test func matchPyTorch() throws {
        let f = try Self.fixture()
        let linear = ReliefScores.linear(weight: f["linear.weight"]!.data, bias: f["linear.bias"]!.data, outFeatures: 6,
                                         inFeatures: 9, inputs: f["linear.x"]!)
        close(linear, f["linear.scores"]!, "linear")
        let conv = Conv2d(name: "c", inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1)
        conv.weight.value = f["conv.weight"]!.data
        conv.bias!.value = f["conv.bias"]!.data
        for rule in ReliefScores.ConvolutionRule.allCases {
            close(ReliefScores.convolution(conv, inputs: f["conv.x"]!, rule: rule), f["conv.scores.\(rule.rawValue)"]!, "conv \(rule)")
        }
    }
}
