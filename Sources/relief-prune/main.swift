import ArgumentParser
import ReliefCLISupport

/// `relief-prune`: prunes a trained model with NNrelief or a baseline method. Not built yet: issue 4.
@main
struct ReliefPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relief-prune",
        abstract: "Prunes a trained model with NNrelief or a baseline method.",
        discussion: "Not built yet: the pruner arrives with issue 4. Until then this command exits with code 69.")

    @Argument(parsing: .allUnrecognized, help: "Arguments for the command once it is built.")
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("the pruner (relief-prune)", issue: 4)
    }
}
