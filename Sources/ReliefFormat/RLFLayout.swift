/// Fixed numbers of format version 1.0 (see `formats/rlf.md`).
public enum RLFConstants {
    public static let magic: [UInt8] = [0x89, 0x52, 0x4C, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let majorVersion: UInt16 = 1
    public static let minorVersion: UInt16 = 0
    public static let headerSize = 64
    public static let sectionEntrySize = 48
    public static let defaultAlignment: UInt32 = 64
    public static let maxTensors = 65_536
    public static let maxSections = maxTensors + 2
    public static let maxRank = 8
    public static let maxNameBytes = 256
    /// Largest dimension, and largest column count, so column indices fit in `Int32`.
    public static let maxDimension: UInt64 = UInt64(Int32.max)
    /// Largest element count of one tensor.
    public static let maxElements: UInt64 = 1 << 32
}

/// Limits a reader enforces before it allocates anything; all sizes in bytes.
public struct RLFLimits: Sendable {
    public var maxFileSize: UInt64 = 16 << 30
    public var maxMetadataBytes: UInt64 = 16 << 20
    public var maxDirectoryBytes: UInt64 = 64 << 20
    public var maxTensorBytes: UInt64 = 4 << 30
    public var maxTotalDecodedBytes: UInt64 = 16 << 30
    /// Off only for fuzzing, so mutated inputs get past the checksums to the checks behind them.
    public var verifyChecksums = true

    public init() {}
    public static let `default` = RLFLimits()
}

/// The kinds of section, in the order a file holds them.
public enum RLFSectionKind: UInt32, Sendable, CustomStringConvertible {
    case metadata = 1, directory = 2, tensor = 3
    public var description: String {
        switch self {
        case .metadata: "metadata"
        case .directory: "directory"
        case .tensor: "tensor"
        }
    }
}

/// How a section's bytes are stored.
public enum RLFCodec: UInt32, Sendable, CustomStringConvertible {
    case raw = 0, zstd = 1
    public var description: String { self == .raw ? "raw" : "zstd" }
}

/// The fields of the 64-byte header.
public struct RLFHeader: Equatable, Sendable {
    public var major: UInt16
    public var minor: UInt16
    public var fileSize: UInt64
    public var sectionCount: UInt32
    public var alignment: UInt32
    public var tableChecksum: UInt64
}

/// One entry of the section table.
public struct RLFSectionEntry: Equatable, Sendable {
    public var kind: RLFSectionKind
    public var codec: RLFCodec
    public var offset: UInt64
    public var storedSize: UInt64
    public var decodedSize: UInt64
    public var checksum: UInt64
}

/// One record of the tensor directory.
public struct RLFTensorRecord: Equatable, Sendable {
    public static let shuffledValuesFlag: UInt8 = 1
    public static let deltaColumnsFlag: UInt8 = 2
    public static let shuffledIndicesFlag: UInt8 = 4

    public var name: String
    public var encoding: TensorEncoding
    public var shape: [Int]
    public var flags: UInt8
    public var rowCountWidth: Int
    public var columnWidth: Int
    public var nnz: Int

    public var shuffledValues: Bool { flags & Self.shuffledValuesFlag != 0 }
    public var deltaColumns: Bool { flags & Self.deltaColumnsFlag != 0 }
    public var shuffledIndices: Bool { flags & Self.shuffledIndicesFlag != 0 }
    public var rows: Int { RLFTensor.matrixView(of: shape).rows }
    public var columns: Int { RLFTensor.matrixView(of: shape).columns }
    public var count: Int { shape.reduce(1, *) }

    /// Decoded payload size this record implies. Sizes were bounded by the reader first, so this cannot overflow.
    var payloadSize: Int {
        switch encoding {
        case .dense: 4 * count
        case .csr: rows * rowCountWidth + nnz * (columnWidth + 4)
        case .bitmask: (count + 7) / 8 + 4 * nnz
        }
    }
}

/// Little-endian appends.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { uint(UInt64(v), width: 2) }
    mutating func u32(_ v: UInt32) { uint(UInt64(v), width: 4) }
    mutating func u64(_ v: UInt64) { uint(v, width: 8) }
    mutating func uint(_ v: UInt64, width: Int) {
        for i in 0..<width { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
    mutating func zeros(_ n: Int) { bytes.append(contentsOf: repeatElement(0, count: n)) }
}

/// Little-endian reads from a byte array, each checked against the bytes that remain.
struct ByteCursor {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    mutating func need(_ n: Int) throws(RLFError) {
        guard n <= remaining else { throw .directoryTruncated(offset: offset, needed: n, available: remaining) }
    }
    mutating func uint(width: Int) throws(RLFError) -> UInt64 {
        try need(width)
        let v = loadLE(bytes, at: offset, width: width)
        offset += width
        return v
    }
    mutating func u8() throws(RLFError) -> UInt8 { UInt8(try uint(width: 1)) }
    mutating func u16() throws(RLFError) -> UInt16 { UInt16(try uint(width: 2)) }
    mutating func u32() throws(RLFError) -> UInt32 { UInt32(try uint(width: 4)) }
    mutating func u64() throws(RLFError) -> UInt64 { try uint(width: 8) }
    mutating func take(_ n: Int) throws(RLFError) -> ArraySlice<UInt8> {
        try need(n)
        defer { offset += n }
        return bytes[offset..<offset + n]
    }
}

/// An unsigned little-endian integer of `width` bytes at `offset`; the caller checked the bounds.
@inline(__always)
func loadLE(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<width { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
    return v
}

/// `x` rounded up to a multiple of the power of two `a`, or nil on overflow.
func alignUp(_ x: UInt64, _ a: UInt64) -> UInt64? {
    let (sum, overflow) = x.addingReportingOverflow(a - 1)
    return overflow ? nil : sum & ~(a - 1)
}
