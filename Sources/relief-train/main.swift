import ArgumentParser
import ReliefCLISupport

/// `relief-train`: trains a model from the zoo on a data set. Not built yet: issue 3.
@main
struct ReliefTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relief-train",
        abstract: "Trains a model from the zoo on a data set.",
        discussion: "Not built yet: the training engine arrives with issue 3. Until then this command exits with code 69.")

    @Argument(parsing: .allUnrecognized, help: "Arguments for the command once it is built.")
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("the training engine (relief-train)", issue: 3)
    }
}
