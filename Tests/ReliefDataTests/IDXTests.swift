import Foundation
import ReliefData
import Testing

func dataError(_ body: () throws -> Void) -> DataError? {
    do { try body() } catch let e as DataError { return e } catch { Issue.record("unexpected \(error)") }
    return nil
}

func caseName(_ e: DataError) -> String { Mirror(reflecting: e).children.first?.label ?? "\(e)" }

func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "relief-data-tests-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    let dir = temporaryFolder()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/f"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["gzip", "-n", path]
    try p.run()
    p.waitUntilExit()
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + ".gz")))
}

@Suite struct IDXTests {
    let images = IDXArray(dimensions: [3, 2, 2], bytes: Array(0..<12))

    @Test func roundTripPlainAndGzip() throws {
        let bytes = images.serialized()
        #expect(try IDXArray.parse(bytes, path: "x") == images)
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gz = try gzip(bytes)
        try Data(gz).write(to: URL(fileURLWithPath: dir + "/a.gz"))
        #expect(try IDXArray.read(path: dir + "/a.gz") == images)
        // Two gzip members one after the other still read as one stream.
        try Data(try gzip(Array(bytes[0..<10])) + (try gzip(Array(bytes[10...])))).write(to: URL(fileURLWithPath: dir + "/b.gz"))
        #expect(try IDXArray.read(path: dir + "/b.gz") == images)
    }

    @Test func malformedFilesAreTypedErrors() throws {
        let good = images.serialized()
        #expect(dataError { _ = try IDXArray.parse([0, 0], path: "x") }.map(caseName) == "idxTooShort")
        #expect(dataError { _ = try IDXArray.parse([0, 0, 8, 3, 0, 0], path: "x") }.map(caseName) == "idxTooShort")
        #expect(dataError { _ = try IDXArray.parse([1] + good.dropFirst(), path: "x") }.map(caseName) == "idxBadMagic")
        #expect(dataError { _ = try IDXArray.parse([0, 0, 0x0D] + good.dropFirst(3), path: "x") }.map(caseName) == "idxUnsupportedType")
        #expect(dataError { _ = try IDXArray.parse(Array(good.dropLast()), path: "x") } == .idxLengthMismatch(path: "x", expected: 28, found: 27))
        #expect(dataError { _ = try IDXArray.parse(good + [0], path: "x") }.map(caseName) == "idxLengthMismatch")
        let huge: [UInt8] = [0, 0, 8, 4] + [UInt8](repeating: 0xFF, count: 16)
        #expect(dataError { _ = try IDXArray.parse(huge, path: "x") }.map(caseName) == "idxSizeOverflow")
    }

    @Test func gzipDamageIsAnError() throws {
        let gz = try gzip(images.serialized())
        #expect(dataError { _ = try FileBytesProbe.gunzip(Array(gz.dropLast(12))) }.map(caseName) == "gzipCorrupt")
        var flipped = gz
        flipped[12] ^= 0xFF
        #expect(dataError { _ = try FileBytesProbe.gunzip(flipped) }.map(caseName) == "gzipCorrupt")
    }

    @Test func missingFileIsAnError() {
        #expect(dataError { _ = try IDXArray.read(path: "/nonexistent/x") }.map(caseName) == "io")
    }
}

/// Reads bytes through the same path as files, from a temporary file.
enum FileBytesProbe {
    static func gunzip(_ bytes: [UInt8]) throws -> IDXArray {
        let dir = temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/x.gz"))
        return try IDXArray.read(path: dir + "/x.gz")
    }
}
