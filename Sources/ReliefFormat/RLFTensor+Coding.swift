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
        let rows = tensor.rows
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
        // A dense payload over the reader's default limit could never be read back.
        if allowed.contains(.dense), UInt64(4 * tensor.count) <= RLFLimits.default.maxTensorBytes {
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
            let mask = BitmaskMatrix(csr).mask
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
            let (values, zeros) = readValues(payload, at: 0, count: record.count, shuffled: record.shuffledValues)
            let found = values.count - zeros
            guard found == nnz else { throw .nnzMismatch(tensor: name, declared: UInt64(nnz), found: UInt64(found)) }
            return RLFTensor(name: name, shape: record.shape, storage: .dense(values))
        case .csr:
            let pointers = try readRowPointers(record, payload)
            let columnStart = rows * record.rowCountWidth
            let indices = try readColumns(record, payload, at: columnStart, rowPointers: pointers)
            let (values, zeros) = readValues(payload, at: columnStart + nnz * record.columnWidth, count: nnz, shuffled: record.shuffledValues)
            try checkNoStoredZeros(values, zeros: zeros, tensor: name)
            let m = CSRMatrix(rows: rows, columns: columns, rowPointers: pointers, columnIndices: indices, values: values)
            return RLFTensor(name: name, shape: record.shape, storage: .csr(m))
        case .bitmask:
            let count = record.count
            let maskBytes = (count + 7) / 8
            let mask = Array(payload[0..<maskBytes])
            let bits = popcount(mask)
            if count % 8 != 0, mask[maskBytes - 1] >> UInt8(count % 8) != 0 {
                throw .bitmaskPaddingNotZero(tensor: name)
            }
            guard bits == nnz else { throw .nnzMismatch(tensor: name, declared: UInt64(nnz), found: UInt64(bits)) }
            let (values, zeros) = readValues(payload, at: maskBytes, count: nnz, shuffled: record.shuffledValues)
            try checkNoStoredZeros(values, zeros: zeros, tensor: name)
            let m = BitmaskMatrix(rows: rows, columns: columns, mask: mask, values: values)
            return RLFTensor(name: name, shape: record.shape, storage: .bitmask(m))
        }
    }

    private static func checkNoStoredZeros(_ values: [Float], zeros: Int, tensor: String) throws(RLFError) {
        guard zeros > 0 else { return }
        throw .storedZeroValue(tensor: tensor, position: values.firstIndex { $0.bitPattern == 0 } ?? 0)
    }

    /// Set bits of a byte array, a word at a time.
    static func popcount(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            var total = 0
            for w in 0..<words { total += raw.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self).nonzeroBitCount }
            for i in (8 * words)..<raw.count { total += raw[i].nonzeroBitCount }
            return total
        }
    }

    /// `n` float32 values from `start`, plain or byte-shuffled, and how many are +0.0 (counted in
    /// the same pass, which the compiler vectorises).
    private static func readValues(_ payload: [UInt8], at start: Int, count n: Int, shuffled: Bool) -> ([Float], zeros: Int) {
        guard n > 0 else { return ([], 0) }
        var zeros = 0
        let values = [Float](unsafeUninitializedCapacity: n) { out, initialized in
            payload.withUnsafeBytes { raw in
                let src = raw.baseAddress! + start
                let dst = UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: UInt32.self)
                if shuffled {
                    let p0 = src.assumingMemoryBound(to: UInt8.self)
                    let p1 = p0 + n, p2 = p0 + 2 * n, p3 = p0 + 3 * n
                    for i in 0..<n {
                        let bits = UInt32(p0[i]) | UInt32(p1[i]) << 8 | UInt32(p2[i]) << 16 | UInt32(p3[i]) << 24
                        dst[i] = bits
                        zeros &+= bits == 0 ? 1 : 0
                    }
                } else {
                    UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: 4 * n)   // little-endian host
                    for i in 0..<n { zeros &+= dst[i] == 0 ? 1 : 0 }
                }
            }
            initialized = n
        }
        return (values, zeros)
    }

    private static func readRowPointers(_ record: RLFTensorRecord, _ payload: [UInt8]) throws(RLFError) -> [Int] {
        let rows = record.rows, columns = UInt64(record.columns)
        let counts = readIntegers(payload, at: 0, count: rows, width: record.rowCountWidth, shuffled: record.shuffledIndices)
        var pointers = [Int](repeating: 0, count: rows + 1)
        var sum: UInt64 = 0
        for r in 0..<rows {
            let count = counts[r]
            guard count <= columns else {
                throw .rowCountTooLarge(tensor: record.name, row: r, count: count, columns: record.columns)
            }
            sum += count   // at most rows * columns <= 2^32: cannot overflow
            pointers[r + 1] = Int(sum)
        }
        guard sum == UInt64(record.nnz) else {
            throw .nnzMismatch(tensor: record.name, declared: UInt64(record.nnz), found: sum)
        }
        return pointers
    }

    private static func readColumns(_ record: RLFTensorRecord, _ payload: [UInt8], at start: Int,
                                    rowPointers: [Int]) throws(RLFError) -> [Int32] {
        // No columns to check (the row pointers already summed to nnz = 0). Every empty array below
        // is returned as [] rather than built with unsafeUninitializedCapacity: 0, which writes the
        // count into the runtime's one shared empty-array storage (ThreadSanitizer reports that as a
        // race when two threads do it).
        guard record.nnz > 0 else { return [] }
        let stored = readIntegers(payload, at: start, count: record.nnz, width: record.columnWidth, shuffled: record.shuffledIndices)
        let columns = UInt64(record.columns), delta = record.deltaColumns
        var failure: RLFError?
        let indices = [Int32](unsafeUninitializedCapacity: record.nnz) { out, initialized in
            stored.withUnsafeBufferPointer { s in
                rowPointers.withUnsafeBufferPointer { rp in
                    for r in 0..<record.rows where rp[r] < rp[r + 1] {
                        let first = rp[r]
                        var previous = s[first]
                        guard previous < columns else {
                            failure = .columnIndexOutOfRange(tensor: record.name, row: r, index: previous, columns: record.columns)
                            return
                        }
                        out[first] = Int32(truncatingIfNeeded: previous)
                        for k in (first + 1)..<rp[r + 1] {
                            let column = delta ? previous + s[k] : s[k]   // both < 2^33: no overflow
                            if column <= previous {
                                failure = column == previous
                                    ? .duplicateColumnIndex(tensor: record.name, row: r, index: column)
                                    : .columnsNotIncreasing(tensor: record.name, row: r, previous: previous, found: column)
                                return
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
        }
        if let failure { throw failure }
        return indices
    }

    /// `count` unsigned integers of `width` bytes from `start`, little-endian or in byte planes.
    /// One loop per layout, so each compiles to a tight (vectorised) loop.
    static func readIntegers(_ payload: [UInt8], at start: Int, count n: Int, width: Int, shuffled: Bool) -> [UInt64] {
        guard n > 0 else { return [] }
        return [UInt64](unsafeUninitializedCapacity: n) { out, initialized in
            payload.withUnsafeBytes { raw in
                let p = (raw.baseAddress! + start).assumingMemoryBound(to: UInt8.self)
                switch (width, shuffled) {
                case (1, _):
                    for i in 0..<n { out[i] = UInt64(p[i]) }
                case (_, true):
                    for i in 0..<n { out[i] = UInt64(p[i]) }
                    for b in 1..<width {
                        let plane = p + b * n, shift = UInt64(8 * b)
                        for i in 0..<n { out[i] |= UInt64(plane[i]) << shift }
                    }
                case (2, false):
                    for i in 0..<n { out[i] = UInt64(UInt16(littleEndian: UnsafeRawPointer(p + 2 * i).loadUnaligned(as: UInt16.self))) }
                case (4, false):
                    for i in 0..<n { out[i] = UInt64(UInt32(littleEndian: UnsafeRawPointer(p + 4 * i).loadUnaligned(as: UInt32.self))) }
                default:
                    for i in 0..<n { out[i] = UInt64(littleEndian: UnsafeRawPointer(p + 8 * i).loadUnaligned(as: UInt64.self)) }
                }
            }
            initialized = n
        }
    }
}
