/// Turning tensors into section payloads and back (see "Tensor sections" in `formats/rlf.md`).
enum TensorCoding {
    /// One way of storing a tensor: its directory record and its decoded payload.
    struct Candidate {
        var record: RLFTensorRecord
        var payload: [UInt8]
    }

    // MARK: Encoding

    /// One candidate per allowed encoding, each with its best options.
    ///
    /// Options are chosen part by part, by the stored size of each part alone (`storedSize`): whether
    /// to byte-shuffle the values, and for CSR whether columns are absolute or delta-coded and whether
    /// the index arrays are byte-shuffled. The writer then compresses each candidate whole and keeps
    /// the smallest.
    static func candidates(for tensor: RLFTensor, allowed: Set<TensorEncoding>,
                           storedSize: ([UInt8]) -> Int) -> [Candidate] {
        let (rows, columns) = (tensor.rows, tensor.columns)
        var out: [Candidate] = []
        func record(_ encoding: TensorEncoding, flags: UInt8, rowWidth: Int = 0, columnWidth: Int = 0, nnz: Int) -> RLFTensorRecord {
            RLFTensorRecord(name: tensor.name, encoding: encoding, shape: tensor.shape, flags: flags,
                            rowCountWidth: rowWidth, columnWidth: columnWidth, nnz: nnz)
        }
        /// The smaller of the plain and byte-shuffled value bytes, and the flag that says which.
        func bestValues(_ values: [Float]) -> ([UInt8], UInt8) {
            let plain = valueBytes(values, shuffled: false), shuffled = valueBytes(values, shuffled: true)
            return storedSize(shuffled) < storedSize(plain) ? (shuffled, RLFTensorRecord.shuffledValuesFlag) : (plain, 0)
        }
        if allowed.contains(.dense) {
            let dense = tensor.denseValues()
            let nnz = dense.reduce(0) { $0 + ($1.bitPattern != 0 ? 1 : 0) }
            let (bytes, flag) = bestValues(dense)
            out.append(Candidate(record: record(.dense, flags: flag, nnz: nnz), payload: bytes))
        }
        guard allowed.contains(.csr) || allowed.contains(.bitmask) else { return out }
        let csr = tensor.csr()
        let (values, valueFlag) = bestValues(csr.values)
        if allowed.contains(.csr) {
            var counts: [UInt64] = []
            counts.reserveCapacity(rows)
            var absolute: [UInt64] = []
            var delta: [UInt64] = []
            absolute.reserveCapacity(csr.nnz)
            delta.reserveCapacity(csr.nnz)
            for r in 0..<rows {
                let range = csr.rowPointers[r]..<csr.rowPointers[r + 1]
                counts.append(UInt64(range.count))
                var previous: Int32 = 0
                for k in range {
                    let c = csr.columnIndices[k]
                    absolute.append(UInt64(c))
                    delta.append(UInt64(k == range.lowerBound ? c : c - previous))
                    previous = c
                }
            }
            let rowWidth = narrowestWidth(counts.max() ?? 0, allowed: [1, 2, 4, 8])
            var best: (bytes: [UInt8], flags: UInt8, columnWidth: Int, size: Int)?
            for (columnsList, deltaFlag) in [(absolute, UInt8(0)), (delta, RLFTensorRecord.deltaColumnsFlag)] {
                let columnWidth = narrowestWidth(columnsList.max() ?? 0, allowed: [1, 2, 4])
                for shuffled in rowWidth > 1 || columnWidth > 1 ? [false, true] : [false] {
                    let bytes = integerBytes(counts, width: rowWidth, shuffled: shuffled)
                        + integerBytes(columnsList, width: columnWidth, shuffled: shuffled)
                    let size = storedSize(bytes)
                    if best == nil || size < best!.size {
                        best = (bytes, deltaFlag | (shuffled ? RLFTensorRecord.shuffledIndicesFlag : 0), columnWidth, size)
                    }
                }
            }
            out.append(Candidate(record: record(.csr, flags: best!.flags | valueFlag, rowWidth: rowWidth,
                                                 columnWidth: best!.columnWidth, nnz: csr.nnz),
                                 payload: best!.bytes + values))
        }
        if allowed.contains(.bitmask) {
            let mask = BitmaskMatrix(rows: rows, columns: columns, dense: tensor.denseValues()).mask
            out.append(Candidate(record: record(.bitmask, flags: valueFlag, nnz: csr.nnz), payload: mask + values))
        }
        return out
    }

    /// Unsigned integers of `width` bytes, little-endian, optionally as `width` byte planes.
    static func integerBytes(_ values: [UInt64], width: Int, shuffled: Bool) -> [UInt8] {
        let n = values.count
        var out = [UInt8](repeating: 0, count: n * width)
        for (i, v) in values.enumerated() {
            for b in 0..<width {
                out[shuffled ? b * n + i : i * width + b] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(b)))
            }
        }
        return out
    }

    /// The narrowest of `allowed` byte widths that holds `maximum`.
    static func narrowestWidth(_ maximum: UInt64, allowed: [Int]) -> Int {
        for w in allowed where w == 8 || maximum < (UInt64(1) << (8 * UInt64(w))) { return w }
        return allowed.last!
    }

    /// Float32 values as little-endian bytes, optionally as four byte planes.
    static func valueBytes(_ values: [Float], shuffled: Bool) -> [UInt8] {
        let n = values.count
        var out = [UInt8](repeating: 0, count: 4 * n)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let bits = src[i].bitPattern.littleEndian
                    if shuffled {
                        dst[i] = UInt8(truncatingIfNeeded: bits)
                        dst[n + i] = UInt8(truncatingIfNeeded: bits >> 8)
                        dst[2 * n + i] = UInt8(truncatingIfNeeded: bits >> 16)
                        dst[3 * n + i] = UInt8(truncatingIfNeeded: bits >> 24)
                    } else {
                        UnsafeMutableRawPointer(dst.baseAddress! + 4 * i).storeBytes(of: bits, as: UInt32.self)
                    }
                }
            }
        }
        return out
    }

    // MARK: Decoding

    /// The tensor a record and its payload describe, after checking every index and count.
    /// The payload's size was already checked against `record.payloadSize`.
    static func decode(_ record: RLFTensorRecord, payload: [UInt8]) throws(RLFError) -> RLFTensor {
        let name = record.name
        let rows = record.rows, columns = record.columns, nnz = record.nnz
        switch record.encoding {
        case .dense:
            let values = readValues(payload, at: 0, count: record.count, shuffled: record.shuffledValues)
            let found = values.reduce(0) { $0 + ($1.bitPattern != 0 ? 1 : 0) }
            guard found == nnz else { throw .nnzMismatch(tensor: name, declared: UInt64(nnz), found: UInt64(found)) }
            return RLFTensor(name: name, shape: record.shape, storage: .dense(values))
        case .csr:
            let pointers = try readRowPointers(record, payload)
            let columnStart = rows * record.rowCountWidth
            let indices = try readColumns(record, payload, at: columnStart, rowPointers: pointers)
            let values = readValues(payload, at: columnStart + nnz * record.columnWidth, count: nnz, shuffled: record.shuffledValues)
            try checkNoStoredZeros(values, tensor: name)
            let m = CSRMatrix(rows: rows, columns: columns, rowPointers: pointers, columnIndices: indices, values: values)
            return RLFTensor(name: name, shape: record.shape, storage: .csr(m))
        case .bitmask:
            let count = record.count
            let maskBytes = (count + 7) / 8
            let mask = Array(payload[0..<maskBytes])
            var bits = 0
            mask.withUnsafeBufferPointer { m in
                for b in m { bits += b.nonzeroBitCount }
            }
            if count % 8 != 0, mask[maskBytes - 1] >> UInt8(count % 8) != 0 {
                throw .bitmaskPaddingNotZero(tensor: name)
            }
            guard bits == nnz else { throw .nnzMismatch(tensor: name, declared: UInt64(nnz), found: UInt64(bits)) }
            let values = readValues(payload, at: maskBytes, count: nnz, shuffled: record.shuffledValues)
            try checkNoStoredZeros(values, tensor: name)
            let m = BitmaskMatrix(rows: rows, columns: columns, mask: mask, values: values)
            return RLFTensor(name: name, shape: record.shape, storage: .bitmask(m))
        }
    }

    private static func checkNoStoredZeros(_ values: [Float], tensor: String) throws(RLFError) {
        if let k = values.firstIndex(where: { $0.bitPattern == 0 }) { throw .storedZeroValue(tensor: tensor, position: k) }
    }

    private static func readValues(_ payload: [UInt8], at start: Int, count n: Int, shuffled: Bool) -> [Float] {
        [Float](unsafeUninitializedCapacity: n) { out, initialized in
            payload.withUnsafeBytes { raw in
                let src = raw.baseAddress! + start
                if shuffled {
                    let p0 = src.assumingMemoryBound(to: UInt8.self)
                    let p1 = p0 + n, p2 = p0 + 2 * n, p3 = p0 + 3 * n
                    for i in 0..<n {
                        let bits = UInt32(p0[i]) | UInt32(p1[i]) << 8 | UInt32(p2[i]) << 16 | UInt32(p3[i]) << 24
                        out[i] = Float(bitPattern: bits)
                    }
                } else {
                    for i in 0..<n {
                        out[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    }
                }
            }
            initialized = n
        }
    }

    private static func readRowPointers(_ record: RLFTensorRecord, _ payload: [UInt8]) throws(RLFError) -> [Int] {
        let rows = record.rows, columns = UInt64(record.columns), width = record.rowCountWidth
        var pointers = [Int](repeating: 0, count: rows + 1)
        var sum: UInt64 = 0
        var failure: RLFError?
        payload.withUnsafeBytes { raw in
            for r in 0..<rows {
                let count = loadIndex(raw, start: 0, index: r, count: rows, width: width, shuffled: record.shuffledIndices)
                guard count <= columns else {
                    failure = .rowCountTooLarge(tensor: record.name, row: r, count: count, columns: record.columns)
                    return
                }
                sum += count   // at most rows * columns <= 2^32: cannot overflow
                pointers[r + 1] = Int(sum)
            }
        }
        if let failure { throw failure }
        guard sum == UInt64(record.nnz) else {
            throw .nnzMismatch(tensor: record.name, declared: UInt64(record.nnz), found: sum)
        }
        return pointers
    }

    private static func readColumns(_ record: RLFTensorRecord, _ payload: [UInt8], at start: Int,
                                    rowPointers: [Int]) throws(RLFError) -> [Int32] {
        let width = record.columnWidth, columns = UInt64(record.columns), delta = record.deltaColumns
        var failure: RLFError?
        let indices = [Int32](unsafeUninitializedCapacity: record.nnz) { out, initialized in
            payload.withUnsafeBytes { raw in
                for r in 0..<record.rows {
                    var previous: UInt64 = 0
                    for k in rowPointers[r]..<rowPointers[r + 1] {
                        let stored = loadIndex(raw, start: start, index: k, count: record.nnz, width: width,
                                               shuffled: record.shuffledIndices)
                        let first = k == rowPointers[r]
                        let column = delta && !first ? previous + stored : stored   // both < 2^33: no overflow
                        if !first {
                            if column == previous {
                                failure = .duplicateColumnIndex(tensor: record.name, row: r, index: column)
                                return
                            }
                            if column < previous {
                                failure = .columnsNotIncreasing(tensor: record.name, row: r, previous: previous, found: column)
                                return
                            }
                        }
                        guard column < columns else {
                            failure = .columnIndexOutOfRange(tensor: record.name, row: r, index: column, columns: record.columns)
                            return
                        }
                        out[k] = Int32(truncatingIfNeeded: column)
                        previous = column
                    }
                }
                initialized = record.nnz
            }
        }
        if let failure { throw failure }
        return indices
    }
}

/// An unsigned little-endian integer of `width` bytes at `offset`; the caller checked the bounds.
@inline(__always)
func loadLE(_ raw: UnsafeRawBufferPointer, at offset: Int, width: Int) -> UInt64 {
    switch width {
    case 1: UInt64(raw[offset])
    case 2: UInt64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    case 4: UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    default: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}

/// Integer `index` of an array of `count` integers of `width` bytes starting at `start`, stored
/// little-endian or as byte planes. The caller checked the bounds.
@inline(__always)
func loadIndex(_ raw: UnsafeRawBufferPointer, start: Int, index: Int, count: Int, width: Int, shuffled: Bool) -> UInt64 {
    guard shuffled, width > 1 else { return loadLE(raw, at: start + index * width, width: width) }
    var v: UInt64 = 0
    for b in 0..<width { v |= UInt64(raw[start + b * count + index]) << (8 * UInt64(b)) }
    return v
}
