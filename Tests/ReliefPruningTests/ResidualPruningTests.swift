import ReliefPruning
import ReliefRandom
import ReliefTraining
import Testing

/// NNrelief on a CIFAR ResNet: block convolutions scored and pruned, the residual rule, clean-up.
@Suite struct ResidualPruningTests {
    static func pruningSet(_ n: Int, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor(shape: [n, 3, 32, 32], data: (0..<(n * 3 * 32 * 32)).map { _ in g.normal() })
    }

    @Test func resnetPrunesEveryConvolutionAndStaysFinite() throws {
        let model = try ModelZoo.make("resnet-20", seed: 3)
        let x = Self.pruningSet(8, seed: 3)
        try ReliefPruner(alphaConvolution: 0.9, alphaLinear: 0.95).prune(model, pruningSet: x)
        let remaining = RemainingWeights(model)
        #expect(remaining.fraction < 0.9, "remaining \(remaining.fraction)")
        // Every block convolution lost something.
        for block in model.layers.compactMap({ $0 as? ResidualBlock }) {
            for conv in [block.conv1, block.conv2] {
                #expect(conv.weight.mask!.contains(0), "\(conv.name) was not pruned")
            }
            #expect(block.shortcutGate.value.allSatisfy { $0 == 0 || $0 == 1 })
        }
        let y = model.forward(x, training: false)
        #expect(y.data.allSatisfy { $0.isFinite })
    }

    /// A branch that carries almost nothing loses its filter; a shortcut that carries almost nothing is closed.
    @Test func residualRuleCutsTheWeakerSide() throws {
        let model = try ModelZoo.make("resnet-20", seed: 5)
        let blocks = model.layers.compactMap { $0 as? ResidualBlock }
        let first = blocks[0]
        // Channel 0: the branch's BN scale almost zero, so B_0 ≪ R_0.
        first.bn2.weight.value[0] = 1e-6
        first.bn2.bias.value[0] = 0
        // Channel 1: amplify the branch a thousandfold, so R_1 ≪ B_1.
        first.bn2.weight.value[1] = 1000
        try ReliefPruner(alphaConvolution: 0.95, alphaLinear: 0.99).prune(model, pruningSet: Self.pruningSet(8, seed: 5))
        let per = first.conv2.weight.count / first.outChannels
        #expect((0..<per).allSatisfy { first.conv2.weight.mask![$0] == 0 }, "branch filter 0 kept")
        #expect(first.bn2.weight.mask![0] == 0)
        #expect(first.shortcutGate.value[1] == 0, "shortcut of channel 1 kept")
        #expect(first.shortcutGate.value[0] == 1)
    }

    @Test func baselinesPruneResNetsToo() throws {
        let model = try ModelZoo.make("resnet-20", seed: 7)
        try BaselinePruner.magnitudeGlobal.prune(model, keeping: 0.1)
        #expect(abs(RemainingWeights(model).fraction - 0.1) < 0.01)
    }
}
