import ArgumentParser
import Foundation

/// Exit codes every Relief command uses, so scripts can tell failures apart.
public enum ReliefExit {
    /// Success.
    public static let success: Int32 = 0
    /// A file or data set was missing, unreadable or invalid.
    public static let badInput: Int32 = 2
    // swift-argument-parser itself exits 64 on a usage error.
}

/// Runs a command's work, turning any error into one `error:` line on stderr and a non-zero exit code.
public func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        printError("error: \(error)")
        throw ExitCode(ReliefExit.badInput)
    }
}

/// One line on standard error.
public func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Pretty, key-sorted JSON of any encodable value on standard output.
public func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}
