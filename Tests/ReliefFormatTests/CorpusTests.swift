import Foundation
import ReliefFormat
import Testing

/// The files of `formats/corpus`, written by `tools/make_rlf_corpus.py`, an implementation of the
/// spec independent of the Swift writer.
@Suite struct CorpusTests {
    static let corpus = repositoryRoot.appendingPathComponent("formats/corpus")

    static func expectedErrors() -> [(file: String, error: String)] {
        let text = try! String(contentsOf: corpus.appendingPathComponent("bad/expected.tsv"), encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map {
            let parts = $0.split(separator: "\t")
            return (String(parts[0]), String(parts[1]))
        }
    }

    @Test(arguments: expectedErrors().map(\.file))
    func badFileGivesItsError(file: String) throws {
        let expected = Self.expectedErrors().first { $0.file == file }!.error
        let path = Self.corpus.appendingPathComponent("bad/\(file)").path
        let error = rlfError { _ = try RLFReader.read(path: path) }
        #expect(error.map(caseName) == expected, "\(file): \(error.map { "\($0)" } ?? "no error")")
        // Every message says something a person can act on.
        #expect((error?.description.count ?? 0) > 20)
    }

    struct ExpectedTensor: Decodable {
        var name: String
        var shape: [Int]
        var encoding: String
        var bits: [UInt32]
    }

    @Test(arguments: ["mlp-mixed", "all-encodings"])
    func goodFileDecodesExactly(name: String) throws {
        let file = try RLFReader.read(path: Self.corpus.appendingPathComponent("good/\(name).rlf").path)
        let json = try Data(contentsOf: Self.corpus.appendingPathComponent("good/\(name).json"))
        let expected = try JSONDecoder().decode([ExpectedTensor].self, from: json)
        #expect(file.tensors.count == expected.count)
        for (t, e) in zip(file.tensors, expected) {
            #expect(t.name == e.name && t.shape == e.shape && t.encoding.description == e.encoding)
            #expect(t.denseValues().map(\.bitPattern) == e.bits, "\(name): \(t.name)")
        }
        // The Swift writer's file of the same model reads back the same.
        let again = try RLFReader.read(bytes: try RLFWriter().encode(file.model))
        for (a, b) in zip(file.tensors, again.tensors) { #expect(a.sameContents(as: b)) }
        #expect(again.metadata == file.metadata)
    }

    /// Every case of `RLFError` is raised by some corpus file or named by a unit test below.
    @Test func everyErrorCaseIsCovered() throws {
        let source = try String(contentsOf: repositoryRoot.appendingPathComponent("Sources/ReliefFormat/RLFError.swift"), encoding: .utf8)
        let declared = Set(source.split(separator: "\n").compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("case "), !t.hasPrefix("case let") else { return nil }
            return String(t.dropFirst(5).prefix { $0.isLetter || $0.isNumber })
        })
        let fromCorpus = Set(Self.expectedErrors().map(\.error))
        let fromUnitTests: Set<String> = ["io", "fileTooLarge"]   // ReaderLimitTests
        let missing = declared.subtracting(fromCorpus).subtracting(fromUnitTests)
        #expect(declared.count > 40)
        #expect(missing.isEmpty, "error cases with no test: \(missing.sorted())")
    }
}
