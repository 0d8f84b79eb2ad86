import Foundation
import ReliefFormat
import ReliefRandom
import Testing

@Suite struct ReaderRobustnessTests {
    static func sample() throws -> [UInt8] {
        var g = SeededGenerator(seed: 5)
        return try RLFWriter().encode(model([
            randomTensor(name: "a", shape: [6, 20], density: 0.2, using: &g),
            randomTensor(name: "b", shape: [20], density: 1, using: &g),
            randomTensor(name: "c", shape: [3, 2, 2, 2], density: 0.5, using: &g),
        ]))
    }

    /// Every proper prefix of a valid file is refused with an error, never a crash.
    @Test func everyTruncationIsAnError() throws {
        let bytes = try Self.sample()
        for n in 0..<bytes.count {
            let error = rlfError { _ = try RLFReader.read(bytes: Array(bytes.prefix(n))) }
            #expect(error != nil, "prefix of \(n) bytes was accepted")
        }
    }

    /// Flipping any single byte is caught (checksums cover every byte but the padding, which must be zero).
    @Test func everySingleByteCorruptionIsAnError() throws {
        let bytes = try Self.sample()
        var g = SeededGenerator(seed: 11)
        for i in 0..<bytes.count {
            var copy = bytes
            copy[i] ^= UInt8(truncatingIfNeeded: g.next() | 1)
            let error = rlfError { _ = try RLFReader.read(bytes: copy) }
            #expect(error != nil, "flipping byte \(i) went unnoticed (seed 11)")
        }
    }

    @Test func limitsAreEnforced() throws {
        let bytes = try Self.sample()
        var limits = RLFLimits()
        limits.maxFileSize = UInt64(bytes.count - 1)
        #expect(rlfError { _ = try RLFReader.read(bytes: bytes, limits: limits) }.map(caseName) == "fileTooLarge")
        limits = RLFLimits()
        limits.maxTensorBytes = 16
        #expect(rlfError { _ = try RLFReader.read(bytes: bytes, limits: limits) }.map(caseName) == "declaredSizeTooLarge")
        limits = RLFLimits()
        limits.maxTotalDecodedBytes = 100
        #expect(rlfError { _ = try RLFReader.read(bytes: bytes, limits: limits) }.map(caseName) == "declaredSizeTooLarge")
    }

    @Test func fileErrors() throws {
        let (dir, cleanup) = temporaryFolder()
        defer { cleanup() }
        #expect(rlfError { _ = try RLFReader.read(path: dir + "/missing.rlf") }.map(caseName) == "io")
        #expect(rlfError { _ = try RLFReader.read(path: dir) }.map(caseName) == "io")
        let big = dir + "/big.rlf"
        try Data(count: 4096).write(to: URL(fileURLWithPath: big))
        var limits = RLFLimits()
        limits.maxFileSize = 1024
        #expect(rlfError { _ = try RLFReader.read(path: big, limits: limits) }.map(caseName) == "fileTooLarge")
    }
}

@Suite struct AtomicWriteTests {
    @Test func writeReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let (dir, cleanup) = temporaryFolder()
        defer { cleanup() }
        let path = dir + "/m.rlf"
        let first = model([RLFTensor(name: "w", shape: [2], values: [1, 2])])
        try RLFWriter().write(first, to: path)
        try RLFWriter().write(model([RLFTensor(name: "w", shape: [3], values: [1, 2, 3])]), to: path)
        #expect(try RLFReader.read(path: path).tensors[0].shape == [3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.rlf"])
    }

    @Test func failedWriteKeepsTheOldFile() throws {
        let (dir, cleanup) = temporaryFolder()
        defer { cleanup() }
        let path = dir + "/m.rlf"
        try RLFWriter().write(model([RLFTensor(name: "w", shape: [2], values: [1, 2])]), to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        // An invalid model is refused before anything is written.
        let broken = model([RLFTensor(name: "w", shape: [2], values: [1, 2, 3])])
        #expect(rlfError { try RLFWriter().write(broken, to: path) }.map(caseName) == "tensorSizeMismatch")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // A folder that does not exist is an error naming the path, and nothing appears.
        let error = rlfError { try RLFWriter().write(model([]), to: dir + "/no/such/m.rlf") }
        #expect(error.map(caseName) == "io")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.rlf"])
    }

    @Test func writerRejectsInvalidTensors() {
        let badCSR = RLFTensor(name: "w", shape: [1, 3], storage: .csr(CSRMatrix(rows: 1, columns: 3, rowPointers: [0, 2],
                                                                                   columnIndices: [2, 1], values: [1, 2])))
        #expect(rlfError { _ = try RLFWriter().encode(model([badCSR])) }.map(caseName) == "columnsNotIncreasing")
        let dup = [RLFTensor(name: "w", shape: [1], values: [1]), RLFTensor(name: "w", shape: [1], values: [2])]
        #expect(rlfError { _ = try RLFWriter().encode(model(dup)) }.map(caseName) == "duplicateTensorName")
        #expect(rlfError { _ = try RLFWriter().encode(model([RLFTensor(name: "", shape: [1], values: [1])])) }.map(caseName) == "invalidTensorName")
    }
}
