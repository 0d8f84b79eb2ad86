import ArgumentParser
import Foundation
import ReliefCLISupport
import ReliefData
import ReliefExport
import ReliefFormat
import ReliefPruning
import ReliefRandom
import ReliefTraining

/// `relief-bench synth`: a zoo model with seeded random weights pruned to a density, exported, for
/// benchmarks of models this machine cannot train (VGG and ResNet need CIFAR).
struct SynthBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write an .rlf model of the zoo with seeded random weights pruned to a density (for benchmarks).",
        discussion: """
        Kaiming-initialised weights, random batch-norm statistics, then per-layer magnitude pruning to --density of \
        every layer's weights (random weights, so the pattern is random too), exported with batch norm folded. \
        Latency depends on shapes and sparsity, not on what the weights learned; accuracy is meaningless.
        """)

    @Option(help: "Model of the zoo.") var model: String
    @Option(help: "Fraction of weights kept, (0, 1].") var density: Double
    @Option var seed: UInt64 = 1
    @Option(name: [.short, .long], help: "The .rlf file to write.") var output: String

    func run() throws {
        try reportingErrors {
            guard density > 0, density <= 1 else { throw ValidationError("--density must be in (0, 1]") }
            let net = try ModelZoo.make(model, classes: 10, seed: seed)
            var g = SeededGenerator(seed: seed &+ 99)
            for layer in net.layers {
                let norms: [BatchNorm2d] = (layer as? BatchNorm2d).map { [$0] } ?? (layer as? ResidualBlock).map { [$0.bn1, $0.bn2] } ?? []
                for bn in norms {
                    for c in 0..<bn.channels {
                        bn.runningMean.value[c] = 0.2 * (g.unit() - 0.5)
                        bn.runningVariance.value[c] = 0.5 + g.unit()
                    }
                }
            }
            if density < 1 { try BaselinePruner.magnitudeLayerwise.prune(net, keeping: density) }
            let dataset: DatasetName = net.inputShape[0] == 3 ? .cifar10 : .mnist
            let exported = try ModelExport.export(net, classNames: dataset.classNames, pipeline: .standard(for: dataset),
                                                  provenance: .init(method: "synthetic", toolVersion: ReliefVersion.current,
                                                                    notes: "seeded random weights (seed \(seed)), magnitude-pruned per layer to \(density)"))
            try RLFWriter().write(exported, to: output)
            let file = try RLFReader.read(path: output)
            print("wrote \(output): \(model), \(file.tensors.reduce(0) { $0 + $1.nnz }) nonzeros of \(file.tensors.reduce(0) { $0 + $1.count }), \(file.header.fileSize) bytes")
        }
    }
}
