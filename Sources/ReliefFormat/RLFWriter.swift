import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes `.rlf` files, choosing for each tensor the encoding that is smallest on disk.
public struct RLFWriter: Sendable {
    /// Encodings the writer may choose from; all by default.
    public var allowedEncodings: Set<TensorEncoding> = Set(TensorEncoding.allCases)
    /// zstd level for every section. 9 by default: on float weights level 19 saves about 1% more
    /// but compresses some 50 times slower (`relief-bench encoding --level N` measures it).
    public var compressionLevel: Int32 = 9
    public var alignment: UInt32 = RLFConstants.defaultAlignment

    public init() {}

    public init(allowedEncodings: Set<TensorEncoding>, compressionLevel: Int32 = 9) {
        self.allowedEncodings = allowedEncodings
        self.compressionLevel = compressionLevel
    }

    /// The file's bytes. Checks the model first: its tensors against their shapes, and its graph.
    public func encode(_ model: RLFModel) throws(RLFError) -> [UInt8] {
        precondition(!allowedEncodings.isEmpty, "RLFWriter needs at least one allowed encoding")
        try Self.checkTensors(model.tensors)
        var shapes: [String: [Int]] = [:]
        for t in model.tensors { shapes[t.name] = t.shape }
        try model.metadata.validate(tensorShapes: shapes)

        let metadataJSON: [UInt8]
        do { metadataJSON = Array(try model.metadata.jsonData()) } catch {
            throw .invalidMetadata(reason: "cannot encode metadata as JSON: \(error)")
        }
        var sections: [(kind: RLFSectionKind, codec: RLFCodec, stored: [UInt8], decodedSize: Int)] = []
        func add(_ kind: RLFSectionKind, _ payload: [UInt8]) {
            let (codec, stored) = smallestStorage(payload)
            sections.append((kind, codec, stored, payload.count))
        }
        add(.metadata, metadataJSON)

        var directory = ByteWriter()
        directory.u32(UInt32(model.tensors.count))
        directory.u32(0)
        var tensorSections: [(RLFCodec, [UInt8], Int)] = []
        for tensor in model.tensors {
            var best: (record: RLFTensorRecord, codec: RLFCodec, stored: [UInt8], decoded: Int)?
            let candidates = TensorCoding.candidates(for: tensor, allowed: allowedEncodings) { smallestStorage($0).1.count }
            for candidate in candidates {
                let (codec, stored) = smallestStorage(candidate.payload)
                if best == nil || stored.count < best!.stored.count {
                    best = (candidate.record, codec, stored, candidate.payload.count)
                }
            }
            let chosen = best!
            Self.appendRecord(chosen.record, to: &directory)
            tensorSections.append((chosen.codec, chosen.stored, chosen.decoded))
        }
        add(.directory, directory.bytes)
        for (codec, stored, decoded) in tensorSections { sections.append((.tensor, codec, stored, decoded)) }

        // Layout: header, table, then each section at the next aligned offset.
        let align = UInt64(alignment)
        var offsets: [UInt64] = []
        var cursor = UInt64(RLFConstants.headerSize + RLFConstants.sectionEntrySize * sections.count)
        for s in sections {
            cursor = alignUp(cursor, align)!
            offsets.append(cursor)
            cursor += UInt64(s.stored.count)
        }
        let fileSize = cursor

        var table = ByteWriter()
        for (i, s) in sections.enumerated() {
            table.u32(s.kind.rawValue)
            table.u32(s.codec.rawValue)
            table.u64(offsets[i])
            table.u64(UInt64(s.stored.count))
            table.u64(UInt64(s.decodedSize))
            table.u64(XXH64.hash(s.stored))
            table.u64(0)
        }
        var out = ByteWriter()
        out.bytes.reserveCapacity(Int(fileSize))
        out.append(RLFConstants.magic)
        out.u16(RLFConstants.majorVersion)
        out.u16(RLFConstants.minorVersion)
        out.u32(UInt32(RLFConstants.headerSize))
        out.u64(fileSize)
        out.u64(UInt64(RLFConstants.headerSize))
        out.u32(UInt32(sections.count))
        out.u32(alignment)
        out.u64(XXH64.hash(table.bytes))
        out.u64(0)
        out.u64(XXH64.hash(out.bytes))
        out.append(table.bytes)
        for (i, s) in sections.enumerated() {
            out.zeros(Int(offsets[i]) - out.bytes.count)
            out.append(s.stored)
        }
        return out.bytes
    }

    /// Writes the model to `path` atomically: a temporary file in the same folder, flushed, then renamed.
    public func write(_ model: RLFModel, to path: String) throws(RLFError) {
        try AtomicFile.write(try encode(model), to: path)
    }

    /// Raw or zstd, whichever is smaller (raw on a tie: it reads faster).
    private func smallestStorage(_ payload: [UInt8]) -> (RLFCodec, [UInt8]) {
        let compressed = payload.withUnsafeBytes { Zstd.compress($0, level: compressionLevel) }
        return compressed.count < payload.count ? (.zstd, compressed) : (.raw, payload)
    }

    static func appendRecord(_ r: RLFTensorRecord, to w: inout ByteWriter) {
        let name = Array(r.name.utf8)
        w.u8(r.encoding.rawValue)
        w.u8(1)   // float32
        w.u8(UInt8(r.shape.count))
        w.u8(r.flags)
        w.u8(UInt8(r.rowCountWidth))
        w.u8(UInt8(r.columnWidth))
        w.u16(UInt16(name.count))
        w.u64(UInt64(r.nnz))
        for d in r.shape { w.u64(UInt64(d)) }
        w.append(name)
    }

    /// The checks the reader would make of names and shapes, made before anything is written.
    static func checkTensors(_ tensors: [RLFTensor]) throws(RLFError) {
        guard tensors.count <= RLFConstants.maxTensors else {
            throw .badSectionCount(found: UInt32(clamping: tensors.count + 2), minimum: 2, maximum: UInt32(RLFConstants.maxSections))
        }
        var names = Set<String>()
        for t in tensors {
            try RLFReader.checkName(Array(t.name.utf8))
            guard names.insert(t.name).inserted else { throw .duplicateTensorName(t.name) }
            guard t.shape.count <= RLFConstants.maxRank else {
                throw .rankTooLarge(tensor: t.name, rank: t.shape.count, limit: RLFConstants.maxRank)
            }
            _ = try RLFReader.checkedCount(name: t.name, shape: t.shape.map { UInt64(max($0, 0)) })
            if let negative = t.shape.first(where: { $0 < 0 }) {
                throw .dimensionTooLarge(tensor: t.name, dimension: UInt64(bitPattern: Int64(negative)), limit: RLFConstants.maxDimension)
            }
            let (rows, columns) = (t.rows, t.columns)
            switch t.storage {
            case let .dense(v):
                guard v.count == t.count else {
                    throw .tensorSizeMismatch(tensor: t.name, expected: UInt64(4 * t.count), declared: UInt64(4 * v.count))
                }
            case let .csr(m):
                guard m.rows == rows, m.columns == columns, m.rowPointers.count == rows + 1, m.rowPointers.first == 0,
                      m.rowPointers.last == m.values.count, m.columnIndices.count == m.values.count else {
                    throw .nnzMismatch(tensor: t.name, declared: UInt64(m.values.count), found: UInt64(m.rowPointers.last ?? 0))
                }
                for r in 0..<rows {
                    var previous = -1
                    for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                        let c = Int(m.columnIndices[k])
                        guard c >= 0, c < columns else {
                            throw .columnIndexOutOfRange(tensor: t.name, row: r, index: UInt64(bitPattern: Int64(c)), columns: columns)
                        }
                        guard c > previous else {
                            throw c == previous ? .duplicateColumnIndex(tensor: t.name, row: r, index: UInt64(c))
                                : .columnsNotIncreasing(tensor: t.name, row: r, previous: UInt64(previous), found: UInt64(c))
                        }
                        previous = c
                    }
                }
            case let .bitmask(m):
                let bits = m.mask.reduce(0) { $0 + $1.nonzeroBitCount }
                guard m.rows == rows, m.columns == columns, m.mask.count == (t.count + 7) / 8, bits == m.values.count else {
                    throw .nnzMismatch(tensor: t.name, declared: UInt64(m.values.count), found: UInt64(bits))
                }
            }
        }
    }
}

/// Whole-file writes that never leave a partial file under the target name.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws(RLFError) {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temporary = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                done += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil, rename(temporary, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw .io(path: path, reason: failure)
        }
    }
}
