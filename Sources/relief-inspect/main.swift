import ArgumentParser
import ReliefCLISupport
import ReliefFormat

/// `relief-inspect`: validates an `.rlf` file and shows its header, sections, tensors and metadata.
@main
struct ReliefInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relief-inspect",
        abstract: "Validate an .rlf model file and show what it holds.",
        discussion: """
        Prints the header, every section (codec, offset, sizes, checksum), every tensor (shape, encoding, \
        nonzeros, density, bytes on disk and in memory) and the metadata. A file that breaks any rule of \
        formats/rlf.md is reported with the reason and exit code 2.
        """)

    @Argument(help: "The .rlf file.")
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        let report = try reportingErrors { RLFReport(try RLFReader.read(path: model)) }
        if json {
            try printJSON(report)
        } else {
            print(report.text(), terminator: "")
        }
    }
}
