import ArgumentParser
import ReliefCLISupport

/// `relief-infer`: runs an .rlf model on input images with the sparse runtime. Not built yet: issue 5.
@main
struct ReliefInfer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relief-infer",
        abstract: "Runs an .rlf model on input images with the sparse runtime.",
        discussion: "Not built yet: the inference runtime arrives with issue 5. Until then this command exits with code 69.")

    @Argument(parsing: .allUnrecognized, help: "Arguments for the command once it is built.")
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("the inference runtime (relief-infer)", issue: 5)
    }
}
