/// An IDX array of unsigned bytes (the format of MNIST and Fashion-MNIST), big-endian dimensions.
public struct IDXArray: Equatable, Sendable {
    public var dimensions: [Int]
    public var bytes: [UInt8]

    public init(dimensions: [Int], bytes: [UInt8]) {
        self.dimensions = dimensions
        self.bytes = bytes
    }

    /// Reads a plain or gzip'd IDX file.
    public static func read(path: String) throws(DataError) -> IDXArray {
        try parse(try FileBytes.read(path), path: path)
    }

    /// Parses IDX bytes, checking the magic, the element type and that the length matches the dimensions exactly.
    public static func parse(_ data: [UInt8], path: String) throws(DataError) -> IDXArray {
        guard data.count >= 4 else { throw .idxTooShort(path: path, needed: 4, found: data.count) }
        guard data[0] == 0, data[1] == 0, data[3] >= 1 else { throw .idxBadMagic(path: path, found: Array(data[0..<4])) }
        guard data[2] == 0x08 else { throw .idxUnsupportedType(path: path, typeCode: data[2]) }
        let rank = Int(data[3])
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else { throw .idxTooShort(path: path, needed: headerSize, found: data.count) }
        var dims: [UInt32] = []
        for i in 0..<rank {
            let o = 4 + 4 * i
            dims.append(UInt32(data[o]) << 24 | UInt32(data[o + 1]) << 16 | UInt32(data[o + 2]) << 8 | UInt32(data[o + 3]))
        }
        var count = 1
        for d in dims {
            let (p, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow else { throw .idxSizeOverflow(path: path, dimensions: dims) }
            count = p
        }
        let (expected, overflow) = headerSize.addingReportingOverflow(count)
        guard !overflow else { throw .idxSizeOverflow(path: path, dimensions: dims) }
        guard data.count == expected else { throw .idxLengthMismatch(path: path, expected: expected, found: data.count) }
        return IDXArray(dimensions: dims.map { Int($0) }, bytes: Array(data[headerSize...]))
    }

    /// The IDX encoding of this array.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for d in dimensions {
            let v = UInt32(d)
            out += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
        }
        return out + bytes
    }
}
