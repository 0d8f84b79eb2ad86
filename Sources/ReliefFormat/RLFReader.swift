import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads `.rlf` files, validating every field before using it (see `formats/rlf.md`).
///
/// Every size, offset, count and dimension is checked with overflow-checked arithmetic and against
/// `RLFLimits` before any allocation depends on it; each way a file can be wrong is one `RLFError`.
public enum RLFReader {
    /// Reads and validates the file at `path`.
    public static func read(path: String, limits: RLFLimits = .default) throws(RLFError) -> RLFFile {
        try read(bytes: try readFile(path, limit: limits.maxFileSize), limits: limits)
    }

    /// Validates and decodes a whole file held in memory.
    public static func read(bytes: [UInt8], limits: RLFLimits = .default) throws(RLFError) -> RLFFile {
        let (header, sections) = try readLayout(bytes, limits: limits)

        let verify = limits.verifyChecksums
        let metadataBytes = try decodeSection(bytes, sections[0], index: 0, verify: verify)
        let metadata = try RLFMetadata.parse(Data(metadataBytes))
        let records = try parseDirectory(try decodeSection(bytes, sections[1], index: 1, verify: verify), sections: sections)

        var shapes: [String: [Int]] = [:]
        for r in records { shapes[r.name] = r.shape }
        try metadata.validate(tensorShapes: shapes)

        var tensors: [RLFTensor] = []
        tensors.reserveCapacity(records.count)
        for k in records.indices {
            tensors.append(try decodeTensor(k, records: records, sections: sections, bytes: bytes, verify: verify))
        }
        return RLFFile(header: header, sections: sections, records: records,
                       model: RLFModel(metadata: metadata, tensors: tensors))
    }

    /// Decodes tensor `k` again from the bytes of a file that `read` accepted: checksum, decompression,
    /// index validation and decoding, the work a tensor costs to load (what `relief-bench encoding` times).
    public static func decodeTensor(_ k: Int, of file: RLFFile, bytes: [UInt8]) throws(RLFError) -> RLFTensor {
        try decodeTensor(k, records: file.records, sections: file.sections, bytes: bytes)
    }

    static func decodeTensor(_ k: Int, records: [RLFTensorRecord], sections: [RLFSectionEntry],
                             bytes: [UInt8], verify: Bool = true) throws(RLFError) -> RLFTensor {
        let payload = try decodeSection(bytes, sections[k + 2], index: k + 2, verify: verify)
        return try TensorCoding.decode(records[k], payload: payload)
    }

    // MARK: Header and section table

    /// Checks the header, the section table and the layout of sections in the file.
    static func readLayout(_ bytes: [UInt8], limits: RLFLimits) throws(RLFError) -> (RLFHeader, [RLFSectionEntry]) {
        let actualSize = UInt64(bytes.count)
        let magicCount = RLFConstants.magic.count
        guard bytes.count >= magicCount else { throw .fileTooSmall(minimum: UInt64(RLFConstants.headerSize), found: actualSize) }
        guard Array(bytes[0..<magicCount]) == RLFConstants.magic else { throw .badMagic(found: Array(bytes[0..<magicCount])) }
        guard bytes.count >= RLFConstants.headerSize else { throw .fileTooSmall(minimum: UInt64(RLFConstants.headerSize), found: actualSize) }
        guard actualSize <= limits.maxFileSize else { throw .fileTooLarge(limit: limits.maxFileSize, found: actualSize) }

        var c = ByteCursor(bytes, offset: magicCount)
        let major = try c.u16(), minor = try c.u16()
        guard major == RLFConstants.majorVersion else {
            throw .unsupportedVersion(major: major, minor: minor, supportedMajor: RLFConstants.majorVersion)
        }
        let headerSize = try c.u32()
        let fileSize = try c.u64()
        let tableOffset = try c.u64()
        let sectionCount = try c.u32()
        let alignment = try c.u32()
        let tableChecksum = try c.u64()
        let reserved = try c.u64()
        let headerChecksum = try c.u64()
        let computed = bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<56])) }
        guard computed == headerChecksum || !limits.verifyChecksums else { throw .headerChecksumMismatch(expected: headerChecksum, found: computed) }
        guard headerSize == UInt32(RLFConstants.headerSize) else {
            throw .badHeaderSize(expected: UInt32(RLFConstants.headerSize), found: headerSize)
        }
        guard reserved == 0 else { throw .reservedNotZero(field: "header bytes 48-55") }
        guard fileSize == actualSize else { throw .fileSizeMismatch(declared: fileSize, actual: actualSize) }
        guard tableOffset == UInt64(RLFConstants.headerSize) else {
            throw .badTableOffset(expected: UInt64(RLFConstants.headerSize), found: tableOffset)
        }
        guard alignment >= 8, alignment <= 65_536, alignment.nonzeroBitCount == 1 else { throw .badAlignment(found: alignment) }
        guard sectionCount >= 2, sectionCount <= UInt32(RLFConstants.maxSections) else {
            throw .badSectionCount(found: sectionCount, minimum: 2, maximum: UInt32(RLFConstants.maxSections))
        }
        let n = Int(sectionCount)
        let tableEnd = RLFConstants.headerSize + n * RLFConstants.sectionEntrySize   // n is bounded: no overflow
        guard tableEnd <= bytes.count else { throw .fileTooSmall(minimum: UInt64(tableEnd), found: actualSize) }
        let tableHash = bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[RLFConstants.headerSize..<tableEnd])) }
        guard tableHash == tableChecksum || !limits.verifyChecksums else { throw .tableChecksumMismatch(expected: tableChecksum, found: tableHash) }
        let header = RLFHeader(major: major, minor: minor, fileSize: fileSize, sectionCount: sectionCount,
                               alignment: alignment, tableChecksum: tableChecksum)

        var sections: [RLFSectionEntry] = []
        sections.reserveCapacity(n)
        var previousEnd = UInt64(tableEnd)
        var totalDecoded: UInt64 = 0
        let align = UInt64(alignment)
        for i in 0..<n {
            let kindRaw = try c.u32(), codecRaw = try c.u32()
            let offset = try c.u64(), stored = try c.u64(), decoded = try c.u64(), checksum = try c.u64()
            let entryReserved = try c.u64()
            let expectedKind: RLFSectionKind = i == 0 ? .metadata : i == 1 ? .directory : .tensor
            guard kindRaw == expectedKind.rawValue else {
                throw .unexpectedSectionKind(section: i, expected: expectedKind.rawValue, found: kindRaw)
            }
            guard let codec = RLFCodec(rawValue: codecRaw) else { throw .unknownCodec(section: i, found: codecRaw) }
            guard entryReserved == 0 else { throw .reservedNotZero(field: "section \(i) bytes 40-47") }

            guard offset >= previousEnd else { throw .sectionsOverlap(section: i, offset: offset, previousEnd: previousEnd) }
            guard offset % align == 0 else { throw .sectionMisaligned(section: i, offset: offset, alignment: alignment) }
            let expectedOffset = alignUp(previousEnd, align)!   // previousEnd <= file size, far below overflow
            guard offset == expectedOffset else { throw .sectionGap(section: i, offset: offset, expected: expectedOffset) }
            let (end, overflow) = offset.addingReportingOverflow(stored)
            guard !overflow, end <= actualSize else {
                throw .sectionOutOfBounds(section: i, end: overflow ? UInt64.max : end, fileSize: actualSize)
            }
            if let nonZero = bytes[Int(previousEnd)..<Int(offset)].firstIndex(where: { $0 != 0 }) {
                throw .nonZeroPadding(offset: UInt64(nonZero))
            }
            let limit = expectedKind == .metadata ? limits.maxMetadataBytes
                : expectedKind == .directory ? limits.maxDirectoryBytes : limits.maxTensorBytes
            guard decoded <= limit else { throw .declaredSizeTooLarge(section: i, declared: decoded, limit: limit) }
            let (total, totalOverflow) = totalDecoded.addingReportingOverflow(decoded)
            guard !totalOverflow, total <= limits.maxTotalDecodedBytes else {
                throw .declaredSizeTooLarge(section: i, declared: decoded, limit: limits.maxTotalDecodedBytes - totalDecoded)
            }
            totalDecoded = total
            if codec == .raw, stored != decoded { throw .rawSizeMismatch(section: i, stored: stored, decoded: decoded) }
            sections.append(RLFSectionEntry(kind: expectedKind, codec: codec, offset: offset, storedSize: stored,
                                            decodedSize: decoded, checksum: checksum))
            previousEnd = end
        }
        guard previousEnd == actualSize else { throw .trailingBytes(lastSectionEnd: previousEnd, fileSize: actualSize) }
        return (header, sections)
    }

    /// The decoded bytes of one section, after checking its checksum. Sizes were checked by `readLayout`.
    static func decodeSection(_ bytes: [UInt8], _ entry: RLFSectionEntry, index: Int, verify: Bool) throws(RLFError) -> [UInt8] {
        let start = Int(entry.offset), end = start + Int(entry.storedSize)
        let stored = bytes[start..<end]
        let hash = verify ? stored.withUnsafeBytes { XXH64.hash($0) } : entry.checksum
        guard hash == entry.checksum else { throw .sectionChecksumMismatch(section: index, expected: entry.checksum, found: hash) }
        switch entry.codec {
        case .raw:
            return Array(stored)
        case .zstd:
            var failure: RLFError?
            // Uninitialised on purpose: zstd writes every byte or the call fails.
            let out = [UInt8](unsafeUninitializedCapacity: Int(entry.decodedSize)) { dst, initialized in
                stored.withUnsafeBytes { src in
                    do throws(RLFError) {
                        try Zstd.decompress(src, into: UnsafeMutableRawBufferPointer(dst), section: index)
                        initialized = dst.count
                    } catch { failure = error }
                }
            }
            if let failure { throw failure }
            return out
        }
    }

    // MARK: Tensor directory

    static func parseDirectory(_ bytes: [UInt8], sections: [RLFSectionEntry]) throws(RLFError) -> [RLFTensorRecord] {
        var c = ByteCursor(bytes)
        let count = try c.u32()
        let reserved = try c.u32()
        guard Int(count) == sections.count - 2 else { throw .tensorCountMismatch(directory: count, sections: sections.count - 2) }
        guard reserved == 0 else { throw .reservedNotZero(field: "directory bytes 4-7") }
        var records: [RLFTensorRecord] = []
        var names = Set<String>()
        for k in 0..<Int(count) {
            let encodingRaw = try c.u8(), dtype = try c.u8(), rank = Int(try c.u8()), flags = try c.u8()
            let rowWidth = try c.u8(), columnWidth = try c.u8()
            let nameLength = Int(try c.u16())
            let nnz = try c.u64()
            var dims: [UInt64] = []
            for _ in 0..<min(rank, RLFConstants.maxRank + 1) { dims.append(try c.u64()) }
            guard nameLength >= 1, nameLength <= RLFConstants.maxNameBytes else {
                throw .invalidTensorName(reason: "tensor \(k)'s name is \(nameLength) bytes; names are 1 to \(RLFConstants.maxNameBytes)")
            }
            let nameBytes = Array(try c.take(nameLength))
            try checkName(nameBytes)
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard names.insert(name).inserted else { throw .duplicateTensorName(name) }
            guard let encoding = TensorEncoding(rawValue: encodingRaw) else { throw .unknownEncoding(tensor: name, found: encodingRaw) }
            guard dtype == 1 else { throw .unsupportedDType(tensor: name, found: dtype) }
            guard rank <= RLFConstants.maxRank else { throw .rankTooLarge(tensor: name, rank: rank, limit: RLFConstants.maxRank) }
            let allowedFlags = encoding == .csr
                ? RLFTensorRecord.shuffledValuesFlag | RLFTensorRecord.deltaColumnsFlag | RLFTensorRecord.shuffledIndicesFlag
                : RLFTensorRecord.shuffledValuesFlag
            guard flags & ~allowedFlags == 0 else { throw .unknownFlags(tensor: name, flags: flags) }
            if encoding == .csr {
                guard [1, 2, 4, 8].contains(rowWidth) else { throw .badIndexWidth(tensor: name, field: "row count", found: rowWidth) }
                guard [1, 2, 4].contains(columnWidth) else { throw .badIndexWidth(tensor: name, field: "column index", found: columnWidth) }
            } else {
                guard rowWidth == 0 else { throw .badIndexWidth(tensor: name, field: "row count", found: rowWidth) }
                guard columnWidth == 0 else { throw .badIndexWidth(tensor: name, field: "column index", found: columnWidth) }
            }
            let elements = try checkedCount(name: name, shape: dims)
            guard nnz <= elements else { throw .nnzExceedsCount(tensor: name, nnz: nnz, count: elements) }
            // Every factor is below 2^33, so these products and sums fit in UInt64 without overflow.
            let rows = rank >= 2 ? dims[0] : 1
            let expected: UInt64 = switch encoding {
            case .dense: 4 * elements
            case .csr: rows * UInt64(rowWidth) + nnz * (UInt64(columnWidth) + 4)
            case .bitmask: (elements + 7) / 8 + 4 * nnz
            }
            let declared = sections[k + 2].decodedSize
            guard expected == declared else { throw .tensorSizeMismatch(tensor: name, expected: expected, declared: declared) }
            records.append(RLFTensorRecord(name: name, encoding: encoding, shape: dims.map { Int($0) }, flags: flags,
                                           rowCountWidth: Int(rowWidth), columnWidth: Int(columnWidth), nnz: Int(nnz)))
        }
        guard c.remaining == 0 else { throw .directoryTrailingBytes(count: c.remaining) }
        return records
    }

    /// Names are 1 to 256 bytes of UTF-8 without control characters.
    static func checkName(_ bytes: [UInt8]) throws(RLFError) {
        guard !bytes.isEmpty, bytes.count <= RLFConstants.maxNameBytes else {
            throw .invalidTensorName(reason: "a name is \(bytes.count) bytes; names are 1 to \(RLFConstants.maxNameBytes)")
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw .invalidTensorName(reason: "bytes \(hex(Array(bytes.prefix(16)))) are not UTF-8")
        }
        guard !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw .invalidTensorName(reason: "\(s.debugDescription) contains a control character")
        }
    }

    /// The element count of a shape, after checking each dimension and the product against the limits.
    static func checkedCount(name: String, shape: [UInt64]) throws(RLFError) -> UInt64 {
        var count: UInt64 = 1
        var columns: UInt64 = 1
        for (i, d) in shape.enumerated() {
            guard d <= RLFConstants.maxDimension else {
                throw .dimensionTooLarge(tensor: name, dimension: d, limit: RLFConstants.maxDimension)
            }
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, p <= RLFConstants.maxElements else {
                throw .tensorTooLarge(tensor: name, elements: shape.map(String.init).joined(separator: "x"), limit: RLFConstants.maxElements)
            }
            count = p
            if i > 0 || shape.count == 1 { columns *= d }   // bounded by count
        }
        guard columns <= RLFConstants.maxDimension else {
            throw .tensorTooLarge(tensor: name, elements: "\(columns) columns of", limit: RLFConstants.maxDimension)
        }
        return count
    }

    // MARK: Files

    /// The whole file, refusing one larger than `limit` before reading it.
    static func readFile(_ path: String, limit: UInt64) throws(RLFError) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, reason: "not a regular file") }
        let size = UInt64(st.st_size)
        guard size <= limit else { throw .fileTooLarge(limit: limit, found: size) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        var done = 0
        var failure: String?
        bytes.withUnsafeMutableBytes { raw in
            while done < raw.count {
                let n = Glibc.read(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = String(cString: strerror(errno)); return }
                if n == 0 { failure = "the file shrank while it was read"; return }
                done += n
            }
        }
        if let failure { throw .io(path: path, reason: failure) }
        return bytes
    }
}
