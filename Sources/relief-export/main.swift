import ArgumentParser
import ReliefCLISupport

/// `relief-export`: exports a pruned checkpoint to an .rlf model file. Not built yet: issue 4.
@main
struct ReliefExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relief-export",
        abstract: "Exports a pruned checkpoint to an .rlf model file.",
        discussion: "Not built yet: exporting checkpoints arrives with issue 4. Until then this command exits with code 69.")

    @Argument(parsing: .allUnrecognized, help: "Arguments for the command once it is built.")
    var arguments: [String] = []

    func run() throws {
        throw notBuiltYet("exporting checkpoints (relief-export)", issue: 4)
    }
}
