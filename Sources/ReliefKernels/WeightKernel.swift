import ReliefFormat

/// A weight matrix W (`rows` x `columns`, rows are output neurons or filters) prepared for one way of
/// computing `Y = W · X + bias`, where X is `columns` x `n` and Y is `rows` x `n`, both row-major.
///
/// The runtime keeps activations feature-major (one row per input feature or channel, the batch and
/// pixels along the row), so one product serves fully connected layers (`n` = batch) and
/// convolutions after im2col (`n` = batch x output pixels) alike.
///
/// A kernel is immutable after construction and safe to call from several threads at once, each
/// with its own `scratch` buffer of at least `scratchBytes(n:)` bytes.
public protocol WeightKernel: AnyObject, Sendable {
    /// The name of the table entry that built this kernel.
    var name: String { get }
    var rows: Int { get }
    var columns: Int { get }
    /// Stored weights (nonzeros for sparse kernels, every entry for dense).
    var storedWeights: Int { get }
    /// Bytes the kernel keeps resident for its weights (values, indices, masks, conversions).
    var residentBytes: Int { get }
    /// Multiply-adds one call with `n` columns executes (each counts as 2 FLOPs).
    func multiplyAdds(n: Int) -> Int
    /// Scratch memory one call with `n` columns needs.
    func scratchBytes(n: Int) -> Int
    /// `y = W · x (+ bias broadcast along each row)`, on up to `threads` threads.
    func multiply(_ x: UnsafePointer<Float>, n: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                  scratch: UnsafeMutableRawPointer?, threads: Int)
}

extension WeightKernel {
    public func multiplyAdds(n: Int) -> Int { storedWeights * n }
    public func scratchBytes(n: Int) -> Int { 0 }

    /// Array convenience for tests and tools (allocates).
    public func multiply(_ x: [Float], n: Int, bias: [Float]? = nil, threads: Int = 1) -> [Float] {
        precondition(x.count == columns * n, "input has \(x.count) values, expected \(columns) x \(n)")
        precondition(bias == nil || bias!.count == rows, "bias has \(bias!.count) values, expected \(rows)")
        var y = [Float](repeating: .nan, count: rows * n)
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: max(scratchBytes(n: n), 1), alignment: 64)
        defer { scratch.deallocate() }
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                if let bias {
                    bias.withUnsafeBufferPointer { multiply(xp.baseAddress!, n: n, bias: $0.baseAddress, into: yp.baseAddress!, scratch: scratch, threads: threads) }
                } else {
                    multiply(xp.baseAddress!, n: n, bias: nil, into: yp.baseAddress!, scratch: scratch, threads: threads)
                }
            }
        }
        return y
    }
}

/// One way to build a kernel from a sparse weight matrix: an entry of the kernel table that tests and
/// benchmarks both iterate.
public struct KernelEntry: Sendable {
    public let name: String
    public let summary: String
    /// False for backends that only exist for comparison (slow, or converting to double): the
    /// runtime's automatic choice skips them; `--kernel NAME` still forces them.
    public let automatic: Bool
    /// The widest product (columns of X) the automatic choice tries this kernel on: matrix-vector
    /// kernels that loop over columns are not worth timing on a convolution's thousands.
    public let automaticColumns: Int
    public let make: @Sendable (CSRMatrix) -> any WeightKernel

    public init(name: String, summary: String, automatic: Bool, automaticColumns: Int = .max,
                make: @escaping @Sendable (CSRMatrix) -> any WeightKernel) {
        self.name = name
        self.summary = summary
        self.automatic = automatic
        self.automaticColumns = automaticColumns
        self.make = make
    }
}

/// The kernel table. CHOLMOD's entry lives in `ReliefKernelsCHOLMOD` (GPL-2.0+) and is added by the
/// tools that link it: `KernelTable.builtIn + [CHOLMODKernel.entry]`.
public enum KernelTable {
    public static let dense = KernelEntry(name: "dense", summary: "OpenBLAS sgemm / sgemv on the dense matrix", automatic: true) {
        DenseKernel($0)
    }
    public static let csr = KernelEntry(name: "csr", summary: "hand-written CSR x dense, SIMD over the batch, narrow indices", automatic: true) {
        makeCSRKernel($0)
    }
    public static let bitmask = KernelEntry(name: "bitmask", summary: "one bit per weight plus packed nonzeros, SIMD over the batch", automatic: true) {
        BitmaskKernel($0)
    }
    public static let sell8 = KernelEntry(name: "sell8", summary: "batch-1 sliced ELLPACK: 8-row slices, x's 8-column blocks permuted in a register",
                                          automatic: true, automaticColumns: 8) {
        Sell8Kernel($0)
    }
    public static let sellsigma = KernelEntry(name: "sellsigma", summary: "batch-1 SELL-8-sigma: rows sorted by length, 8-row slices, x fetched lane by lane",
                                              automatic: true, automaticColumns: 8) {
        SellSigmaKernel($0)
    }
    /// Automatic only where AVX-512 runs it: elsewhere its portable loop would only slow the choice.
    public static let sellsigma16 = KernelEntry(name: "sellsigma16", summary: "batch-1 SELL-16-sigma for AVX-512: rows sorted by length, 16-row slices, x fetched by vgatherdps",
                                                automatic: SIMDSupport.avx512, automaticColumns: 8) {
        SellSigmaKernel($0, lanes: 16)
    }
    /// Automatic only where AVX-512 runs it: elsewhere its portable loop would only slow the choice.
    public static let sell16 = KernelEntry(name: "sell16", summary: "batch-1 sliced ELLPACK for AVX-512: 16-row slices, x's 32-column blocks permuted in two registers",
                                           automatic: SIMDSupport.avx512, automaticColumns: 8) {
        Sell16Kernel($0)
    }
    public static let cxsparse = KernelEntry(name: "cxsparse", summary: "CXSparse cs_di_gaxpy per column, in double precision", automatic: false) {
        CXSparseKernel($0)
    }

    /// Every kernel this module provides, in a fixed order.
    public static let builtIn: [KernelEntry] = [dense, csr, bitmask, sell8, sellsigma, sellsigma16, sell16, cxsparse]
}

/// One 32-column tile of an output row in four SIMD registers: what every CSR and bitmask loop
/// accumulates, one weight times 32 consecutive values of a row of X at a time.
struct Tile32 {
    var a0: SIMD8<Float>, a1: SIMD8<Float>, a2: SIMD8<Float>, a3: SIMD8<Float>

    @inline(__always) init(_ start: Float) {
        a0 = SIMD8(repeating: start)
        (a1, a2, a3) = (a0, a0, a0)
    }

    /// `tile += w · p[0..<32]`.
    @inline(__always) mutating func add(_ w: Float, _ p: UnsafeRawPointer) {
        let v = SIMD8<Float>(repeating: w)
        a0 += v * p.loadUnaligned(as: SIMD8<Float>.self)
        a1 += v * p.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
        a2 += v * p.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
        a3 += v * p.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
    }

    @inline(__always) func store(_ out: UnsafeMutablePointer<Float>) {
        let o = UnsafeMutableRawPointer(out)
        o.storeBytes(of: a0, as: SIMD8<Float>.self)
        o.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
        o.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
        o.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
    }
}

/// Wide products (convolutions after im2col: X has batch x pixels columns, often a power of two) are
/// run strip by strip: 32 columns of X are packed into a contiguous `columns x 32` block first, so
/// the rows of W read it without the large power-of-two stride that defeats caches and the TLB.
enum Strips {
    static let width = 32
    /// At most this many threads share strips (each packs into its own block of scratch).
    static let maxParts = 4
    /// Products at least this wide are packed.
    static let minimumColumns = 64

    static func scratchBytes(columns: Int, n: Int) -> Int {
        n >= minimumColumns ? 4 * max(columns, 1) * width * maxParts : 0
    }

    /// Runs `body(strip index, packed block)` for every full strip, strips split over up to
    /// `threads` threads, each packing into its own part of `scratch`.
    @inline(__always)
    static func run(x: UnsafePointer<Float>, n: Int, columns: Int, threads: Int, scratch: UnsafeMutableRawPointer,
                    _ body: (Int, UnsafePointer<Float>) -> Void) {
        let strips = n / width
        let parts = min(max(threads, 1), maxParts, strips)
        let ranges = (0..<parts).map { p in (strips * p / parts)..<(strips * (p + 1) / parts) }
        Parallel.run(ranges) { range in
            let part = ranges.firstIndex(of: range)!
            let block = scratch.bindMemory(to: Float.self, capacity: 4 * columns * width * maxParts) + part * columns * width
            for s in range {
                let from = x + s * width
                for c in 0..<columns { (block + c * width).update(from: from + c * n, count: width) }
                body(s, UnsafePointer(block))
            }
        }
    }
}

/// The batch-1 slice kernels' product (`sell8`, `sellsigma`, `sellsigma16`, `sell16`): `vector(slices, x, y)` computes Y's
/// rows for a range of slices against one contiguous vector x, and the ranges (one per thread) split
/// the slices of one column. With `readsInPlace` a product of one column reads X as it is; otherwise
/// each column of X is copied into a vector of `vectorFloats` floats at the start of `scratch` (zeros
/// past `columns`), and the results go to column j of Y (directly for `n` = 1, else through the
/// `rows` floats after the vector, scattered with stride `n`).
@inline(__always)
func sliceProduct(_ x: UnsafePointer<Float>, n: Int, rows: Int, columns: Int, vectorFloats: Int, readsInPlace: Bool,
                  ranges: [Range<Int>], scratch: UnsafeMutableRawPointer?, into y: UnsafeMutablePointer<Float>,
                  _ vector: (Range<Int>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
    guard n > 0 else { return }
    if n == 1 && readsInPlace {
        Parallel.run(ranges) { vector($0, x, y) }
        return
    }
    let column = scratch!.bindMemory(to: Float.self, capacity: vectorFloats + rows)
    let out = column + vectorFloats
    column.update(repeating: 0, count: vectorFloats)
    for j in 0..<n {
        for c in 0..<columns { column[c] = x[c * n + j] }
        let target = n == 1 ? y : out
        Parallel.run(ranges) { vector($0, column, target) }
        if n > 1 {
            for r in 0..<rows { y[r * n + j] = out[r] }
        }
    }
}

/// The shape every CSR and bitmask product shares: a wide X goes strip by strip through packed
/// blocks (the columns after the last full strip row by row); otherwise rows are split over threads,
/// one column (`vector`) or several (`matrix`, from a first column).
@inline(__always)
func sparseProduct(x: UnsafePointer<Float>, n: Int, rows: Int, columns: Int, threads: Int, scratch: UnsafeMutableRawPointer?,
                   partitions: RowPartitions, work: Int,
                   strip: (_ block: UnsafePointer<Float>, _ firstColumn: Int) -> Void,
                   matrix: (_ rows: Range<Int>, _ firstColumn: Int) -> Void,
                   vector: (_ rows: Range<Int>) -> Void) {
    if n >= Strips.minimumColumns, let scratch {
        Strips.run(x: x, n: n, columns: columns, threads: threads, scratch: scratch) { s, block in strip(block, s * Strips.width) }
        let done = n / Strips.width * Strips.width
        if done < n { matrix(0..<rows, done) }
        return
    }
    Parallel.run(partitions.ranges(threads: threads, work: work)) { range in
        if n == 1 { vector(range) } else { matrix(range, 0) }
    }
}

/// Splits `count` rows into `parts` ranges of about equal work, given cumulative work per row.
@inline(__always)
func balancedRanges(rows: Int, parts: Int, cumulative: (Int) -> Int) -> [Range<Int>] {
    guard parts > 1, rows > 1 else { return [0..<rows] }
    let total = cumulative(rows)
    var bounds = [0]
    var r = 0
    for p in 1..<parts {
        let goal = total * p / parts
        while r < rows && cumulative(r) < goal { r += 1 }
        if r > bounds.last! { bounds.append(r) }
    }
    bounds.append(rows)
    return (0..<(bounds.count - 1)).compactMap { bounds[$0] < bounds[$0 + 1] ? bounds[$0]..<bounds[$0 + 1] : nil }
}
