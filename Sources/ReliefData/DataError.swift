/// Every way reading a data set can fail, with what was expected and what was found.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(path: String, reason: String)
    case datasetMissing(dataset: String, path: String, remedy: String)
    case unknownDataset(String, known: [String])
    case gzipCorrupt(path: String, reason: String)
    case gzipTooLarge(path: String, limit: Int)
    case idxTooShort(path: String, needed: Int, found: Int)
    case idxBadMagic(path: String, found: [UInt8])
    case idxUnsupportedType(path: String, typeCode: UInt8)
    case idxSizeOverflow(path: String, dimensions: [UInt32])
    case idxLengthMismatch(path: String, expected: Int, found: Int)
    case unexpectedShape(path: String, expected: String, found: [Int])
    case countMismatch(images: Int, labels: Int)
    case labelOutOfRange(path: String, index: Int, label: Int, classes: Int)
    case cifarLengthMismatch(path: String, recordSize: Int, found: Int)

    public var description: String {
        switch self {
        case let .io(path, reason): return "cannot read \(path): \(reason)"
        case let .datasetMissing(dataset, path, remedy): return "data set \(dataset) is not installed (looked for \(path)). \(remedy)"
        case let .unknownDataset(name, known): return "unknown data set \(name); known: \(known.joined(separator: ", "))"
        case let .gzipCorrupt(path, reason): return "\(path) is not a valid gzip file: \(reason)"
        case let .gzipTooLarge(path, limit): return "\(path) decompresses to more than \(limit) bytes"
        case let .idxTooShort(path, needed, found): return "\(path) is not an IDX file: its header needs \(needed) bytes, the file has \(found)"
        case let .idxBadMagic(path, found): return "\(path) is not an IDX file: expected magic 00 00 <type> <rank>, found \(found.map { String($0, radix: 16) })"
        case let .idxUnsupportedType(path, code): return "\(path): IDX element type 0x\(String(code, radix: 16)) is not supported (only 0x08, unsigned bytes)"
        case let .idxSizeOverflow(path, dims): return "\(path): dimensions \(dims) overflow"
        case let .idxLengthMismatch(path, expected, found): return found < expected
            ? "\(path) is truncated: its header implies \(expected) bytes, found \(found)"
            : "\(path) has \(found - expected) bytes after the \(expected) its header implies"
        case let .unexpectedShape(path, expected, found): return "\(path): expected \(expected), found dimensions \(found)"
        case let .countMismatch(images, labels): return "\(images) images but \(labels) labels"
        case let .labelOutOfRange(path, index, label, classes): return "\(path): label \(label) of example \(index) is not below \(classes)"
        case let .cifarLengthMismatch(path, record, found): return "\(path): \(found) bytes is not a whole number of \(record)-byte CIFAR records"
        }
    }
}
