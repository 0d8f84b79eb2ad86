/// How a tensor is laid out in an `.rlf` file (see `formats/rlf.md`).
public enum TensorEncoding: UInt8, Sendable, CaseIterable, Codable, CustomStringConvertible {
    /// Every element, row-major.
    case dense = 0
    /// Per-row counts, column indices and nonzero values.
    case csr = 1
    /// One bit per element, then the nonzero values.
    case bitmask = 2

    public var description: String {
        switch self {
        case .dense: "dense"
        case .csr: "csr"
        case .bitmask: "bitmask"
        }
    }
}

/// A sparse matrix in compressed sparse row form, the way sparse kernels want it.
public struct CSRMatrix: Sendable {
    public var rows: Int
    public var columns: Int
    /// `rows + 1` offsets into `columnIndices` and `values`; `rowPointers[rows] == nnz`.
    public var rowPointers: [Int]
    /// Column of each stored value, strictly increasing within a row.
    public var columnIndices: [Int32]
    public var values: [Float]

    public init(rows: Int, columns: Int, rowPointers: [Int], columnIndices: [Int32], values: [Float]) {
        self.rows = rows
        self.columns = columns
        self.rowPointers = rowPointers
        self.columnIndices = columnIndices
        self.values = values
    }

    /// The nonzeros (bit pattern other than +0.0) of a row-major dense matrix.
    public init(rows: Int, columns: Int, dense: [Float]) {
        precondition(dense.count == rows * columns, "dense array does not match \(rows)x\(columns)")
        var pointers = [Int](repeating: 0, count: rows + 1)
        var indices: [Int32] = []
        var values: [Float] = []
        for r in 0..<rows {
            for c in 0..<columns where dense[r * columns + c].bitPattern != 0 {
                indices.append(Int32(c))
                values.append(dense[r * columns + c])
            }
            pointers[r + 1] = indices.count
        }
        self.init(rows: rows, columns: columns, rowPointers: pointers, columnIndices: indices, values: values)
    }

    /// The nonzeros (bit pattern other than +0.0) of a bitmask matrix, read off its set bits without
    /// expanding it to dense (a dense round trip was a sixth of `relief-infer`'s whole process on
    /// LeNet-300-100). The mask's set bits must number `m.values.count`, as the reader checks.
    public init(_ m: BitmaskMatrix) {
        precondition(8 * m.mask.count >= m.rows * m.columns, "bitmask shorter than its matrix")
        var pointers = [Int](repeating: 0, count: m.rows + 1)
        var kept = 0
        var values: [Float] = []
        // Written through buffers sized for every present value, in one pass; `kept` of them are nonzeros.
        let indices = [Int32](unsafeUninitializedCapacity: m.nnz) { indexBuffer, indexCount in
            values = [Float](unsafeUninitializedCapacity: m.nnz) { valueBuffer, valueCount in
                m.mask.withUnsafeBufferPointer { mask in
                    m.values.withUnsafeBufferPointer { present in
                        var next = 0
                        // Up to 64 mask bits from element k on, the lowest being k's.
                        func word(at k: Int) -> UInt64 {
                            let b = k >> 3
                            var raw: UInt64 = 0
                            if b + 8 <= mask.count {
                                raw = UnsafeRawPointer(mask.baseAddress! + b).loadUnaligned(as: UInt64.self)
                            } else {
                                for i in 0..<(mask.count - b) { raw |= UInt64(mask[b + i]) << UInt64(8 * i) }
                            }
                            return raw >> UInt64(k & 7)
                        }
                        for r in 0..<m.rows {
                            let first = r * m.columns, end = first + m.columns
                            var k = first
                            while k < end {
                                // The bits of [k, k + span): at most 64, never past the row's end.
                                let span = min(64 - (k & 7), end - k)
                                var bits = word(at: k)
                                if span < 64 { bits &= (1 << UInt64(span)) - 1 }
                                while bits != 0 {
                                    let at = k + bits.trailingZeroBitCount
                                    bits &= bits - 1
                                    precondition(next < present.count, "bitmask has more set bits than values")
                                    let v = present[next]
                                    next += 1
                                    if v.bitPattern != 0 {
                                        indexBuffer[kept] = Int32(at - first)
                                        valueBuffer[kept] = v
                                        kept += 1
                                    }
                                }
                                k += span
                            }
                            pointers[r + 1] = kept
                        }
                    }
                }
                valueCount = kept
            }
            indexCount = kept
        }
        self.init(rows: m.rows, columns: m.columns, rowPointers: pointers, columnIndices: indices, values: values)
    }

    public var nnz: Int { values.count }

    /// The matrix of the rows `kept` (increasing, each in `0..<rows`), in that order.
    public func keepingRows(_ kept: [Int]) -> CSRMatrix {
        var pointers = [0]
        pointers.reserveCapacity(kept.count + 1)
        var indices: [Int32] = [], keptValues: [Float] = []
        for r in kept {
            precondition(r >= 0 && r < rows, "row \(r) outside 0..<\(rows)")
            indices += columnIndices[rowPointers[r]..<rowPointers[r + 1]]
            keptValues += values[rowPointers[r]..<rowPointers[r + 1]]
            pointers.append(indices.count)
        }
        return CSRMatrix(rows: kept.count, columns: columns, rowPointers: pointers, columnIndices: indices, values: keptValues)
    }

    /// The matrix of the columns `kept` (strictly increasing, each in `0..<columns`), renumbered
    /// `0..<kept.count`; values in the other columns are dropped.
    public func keepingColumns(_ kept: [Int]) -> CSRMatrix {
        // New number of each old column, -1 where it goes; increasing `kept` keeps rows sorted.
        var renumbered = [Int32](repeating: -1, count: columns)
        for (new, old) in kept.enumerated() {
            precondition(old >= 0 && old < columns && (new == 0 || old > kept[new - 1]), "columns to keep must increase within 0..<\(columns)")
            renumbered[old] = Int32(new)
        }
        var pointers = [0]
        pointers.reserveCapacity(rows + 1)
        var indices: [Int32] = [], keptValues: [Float] = []
        for r in 0..<rows {
            for k in rowPointers[r]..<rowPointers[r + 1] where renumbered[Int(columnIndices[k])] >= 0 {
                indices.append(renumbered[Int(columnIndices[k])])
                keptValues.append(values[k])
            }
            pointers.append(indices.count)
        }
        return CSRMatrix(rows: rows, columns: kept.count, rowPointers: pointers, columnIndices: indices, values: keptValues)
    }

    /// The row-major dense matrix.
    public func dense() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for k in rowPointers[r]..<rowPointers[r + 1] {
                out[r * columns + Int(columnIndices[k])] = values[k]
            }
        }
        return out
    }
}

/// A sparse matrix as a presence bitmask over its row-major elements plus the present values.
public struct BitmaskMatrix: Sendable {
    public var rows: Int
    public var columns: Int
    /// `ceil(rows * columns / 8)` bytes; element `k` is present when bit `k % 8` of byte `k / 8` is set.
    public var mask: [UInt8]
    /// The present values, row-major.
    public var values: [Float]

    public init(rows: Int, columns: Int, mask: [UInt8], values: [Float]) {
        self.rows = rows
        self.columns = columns
        self.mask = mask
        self.values = values
    }

    public init(rows: Int, columns: Int, dense: [Float]) {
        precondition(dense.count == rows * columns, "dense array does not match \(rows)x\(columns)")
        var mask = [UInt8](repeating: 0, count: (dense.count + 7) / 8)
        var values: [Float] = []
        for (k, v) in dense.enumerated() where v.bitPattern != 0 {
            mask[k >> 3] |= 1 << UInt8(k & 7)
            values.append(v)
        }
        self.init(rows: rows, columns: columns, mask: mask, values: values)
    }

    /// The same matrix from CSR form, without expanding it to dense.
    public init(_ m: CSRMatrix) {
        var mask = [UInt8](repeating: 0, count: (m.rows * m.columns + 7) / 8)
        for r in 0..<m.rows {
            for k in m.rowPointers[r]..<m.rowPointers[r + 1] {
                let element = r * m.columns + Int(m.columnIndices[k])
                mask[element >> 3] |= 1 << UInt8(element & 7)
            }
        }
        self.init(rows: m.rows, columns: m.columns, mask: mask, values: m.values)
    }

    public var nnz: Int { values.count }

    public func dense() -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        var next = 0
        for k in 0..<out.count where mask[k >> 3] & (1 << UInt8(k & 7)) != 0 {
            out[k] = values[next]
            next += 1
        }
        return out
    }
}

/// One named float32 tensor of a model, in the encoding it is stored or held in.
///
/// Sparse encodings view the tensor as a matrix: one row per element of the first dimension
/// (an output neuron or filter), the other dimensions flattened into columns.
public struct RLFTensor: Sendable {
    public enum Storage: Sendable {
        case dense([Float])
        case csr(CSRMatrix)
        case bitmask(BitmaskMatrix)
    }

    public var name: String
    public var shape: [Int]
    public var storage: Storage

    public init(name: String, shape: [Int], storage: Storage) {
        self.name = name
        self.shape = shape
        self.storage = storage
    }

    /// A dense tensor; `values.count` must equal the product of `shape`.
    public init(name: String, shape: [Int], values: [Float]) {
        self.init(name: name, shape: shape, storage: .dense(values))
    }

    /// Rows and columns of the matrix view: `shape[0]` by the rest for rank >= 2, `1 x n` below.
    public static func matrixView(of shape: [Int]) -> (rows: Int, columns: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (1, shape[0])
        default: return (shape[0], shape.dropFirst().reduce(1, *))
        }
    }

    public var rows: Int { Self.matrixView(of: shape).rows }
    public var columns: Int { Self.matrixView(of: shape).columns }
    public var count: Int { shape.reduce(1, *) }

    public var encoding: TensorEncoding {
        switch storage {
        case .dense: .dense
        case .csr: .csr
        case .bitmask: .bitmask
        }
    }

    /// Elements whose bit pattern is not +0.0.
    public var nnz: Int {
        switch storage {
        case let .dense(v): v.reduce(0) { $0 + ($1.bitPattern != 0 ? 1 : 0) }
        case let .csr(m): m.nnz
        case let .bitmask(m): m.nnz
        }
    }

    /// Fraction of elements that are nonzero (1 for an empty tensor).
    public var density: Double { count == 0 ? 1 : Double(nnz) / Double(count) }

    /// The row-major dense values.
    public func denseValues() -> [Float] {
        switch storage {
        case let .dense(v): v
        case let .csr(m): m.dense()
        case let .bitmask(m): m.dense()
        }
    }

    /// The tensor as a CSR matrix (converted if it is held another way).
    public func csr() -> CSRMatrix {
        if case let .csr(m) = storage { return m }
        if case let .bitmask(m) = storage { return CSRMatrix(m) }
        let (r, c) = (rows, columns)
        return CSRMatrix(rows: r, columns: c, dense: denseValues())
    }

    /// The same tensor held in `encoding`.
    public func converted(to encoding: TensorEncoding) -> RLFTensor {
        switch encoding {
        case .dense: return RLFTensor(name: name, shape: shape, storage: .dense(denseValues()))
        case .csr: return RLFTensor(name: name, shape: shape, storage: .csr(csr()))
        case .bitmask:
            if case let .bitmask(m) = storage { return RLFTensor(name: name, shape: shape, storage: .bitmask(m)) }
            return RLFTensor(name: name, shape: shape, storage: .bitmask(BitmaskMatrix(csr())))
        }
    }

    /// True when both hold the same name, shape and element bit patterns, whatever their encodings.
    public func sameContents(as other: RLFTensor) -> Bool {
        guard name == other.name, shape == other.shape else { return false }
        let a = denseValues(), b = other.denseValues()
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }
}

extension RLFTensor {
    /// Bytes the tensor occupies as held in memory: values, plus indices, row pointers or mask.
    public var residentBytes: Int {
        switch storage {
        case let .dense(v): 4 * v.count
        case let .csr(m): 4 * m.values.count + 4 * m.columnIndices.count + 8 * m.rowPointers.count
        case let .bitmask(m): 4 * m.values.count + m.mask.count
        }
    }
}
