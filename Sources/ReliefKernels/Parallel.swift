import Dispatch

/// Splits loops over the cores, explicitly: `threads` sets how many run at once.
///
/// Relief runs OpenBLAS single-threaded inside these workers rather than letting OpenBLAS spawn its
/// own threads, whose busy-waiting between calls competed with everything else on a 2-core machine.
public enum Parallel {
    nonisolated(unsafe) public private(set) static var threads = 1

    /// Multiply-adds from which a kernel splits one call over threads. Handing a loop to the
    /// spinning `WorkerPool` costs about a microsecond, but a split layer also moves its input and
    /// output between the cores' caches: at batch 1 on two threads (`tools/ab_bench.py`), VGG-11's
    /// 1.9M-multiply-add layers ran in 0.65x the time split, ResNet-20's 0.24M ones (at 10%) in
    /// 1.5-1.9x; lowering this from 1M to 512k (which splits VGG-11's 0.94M layers and its 2x2
    /// ones, see `relief_csr_narrow_u16`) took VGG-11 at batch 1 on two threads to 0.83x in 12
    /// rounds and left ResNet-20 at 1.02x. (Before the pool, a Dispatch worker took 30-120 µs to
    /// wake and small splits ran serially; `bench/micro/handoff.swift`.)
    public static let minimumWork = 1 << 19

    /// Sets the worker count for every parallel loop and GEMM (OpenBLAS itself stays on one thread).
    public static func setThreads(_ n: Int) {
        threads = max(1, n)
        DenseBLAS.pinSingleThread()
    }

    /// Calls `body(range)` on up to `threads` contiguous parts of `0..<count`, in parallel, and waits.
    /// Below `minimumPerThread` items per part it stays on the calling thread.
    public static func forEachChunk(_ count: Int, minimumPerThread: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / max(minimumPerThread, 1)))
        guard parts > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        perform(parts: parts) { p in
            let start = count * p / parts, end = count * (p + 1) / parts
            if start < end { body(start..<end) }
        }
    }

    /// Calls `body(p)` for p in 0 ..< parts at once and waits: on the spinning `WorkerPool`, or on
    /// Dispatch when the pool is taken (another thread's loop, or a loop inside a part).
    static func perform(parts: Int, _ body: (Int) -> Void) {
        if WorkerPool.shared.run(parts: parts, body) { return }
        withoutActuallyEscaping(body) { body in
            // The parts touch disjoint data; the caller guarantees it, so the closure may cross threads.
            let shared = UncheckedSendable(value: body)
            DispatchQueue.concurrentPerform(iterations: parts) { shared.value($0) }
        }
    }
}

/// A value handed to worker threads that the caller knows is safe to share.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
}

extension DenseBLAS {
    /// `gemm` split over `Parallel.threads` workers along the larger of M and N, each calling
    /// single-threaded OpenBLAS on its block of C.
    public static func parallelGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                                    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // Small products are not worth a thread hand-off.
        let work = m * n * max(k, 1)
        guard Parallel.threads > 1, work >= 1 << 18 else {
            gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if m >= n {
            Parallel.forEachChunk(m, minimumPerThread: 8) { r in
                gemm(transposeA: transposeA, transposeB: transposeB, m: r.count, n: n, k: k, alpha: alpha,
                     a: transposeA ? a + r.lowerBound : a + r.lowerBound * lda, lda: lda, b: b, ldb: ldb,
                     beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
            }
        } else {
            Parallel.forEachChunk(n, minimumPerThread: 16) { r in
                gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda,
                     b: transposeB ? b + r.lowerBound * ldb : b + r.lowerBound, ldb: ldb,
                     beta: beta, c: c + r.lowerBound, ldc: ldc)
            }
        }
    }
}

extension Parallel {
    /// Calls `body` on each of `ranges` at once (the calling thread takes part), and waits.
    public static func run(_ ranges: [Range<Int>], _ body: (Range<Int>) -> Void) {
        guard ranges.count > 1 else {
            if let r = ranges.first { body(r) }
            return
        }
        perform(parts: ranges.count) { body(ranges[$0]) }
    }
}

extension Parallel {
    /// Calls `body` with each part index in 0 ..< parts at once (the calling thread takes part), and
    /// waits; no array of ranges to allocate per call.
    public static func run(parts: Int, _ body: (Int) -> Void) {
        guard parts > 1 else {
            if parts == 1 { body(0) }
            return
        }
        perform(parts: parts, body)
    }
}

/// Row ranges of about equal work for 1 to `maxParts` threads, computed once per matrix.
struct RowPartitions: Sendable {
    static let maxParts = 16
    private let byParts: [[Range<Int>]]

    init(rows: Int, cumulative: (Int) -> Int) {
        byParts = (1...Self.maxParts).map { balancedRanges(rows: rows, parts: $0, cumulative: cumulative) }
    }

    /// The ranges for `threads` threads; one range when the product (`work` multiply-adds) is too
    /// small to share (`Parallel.minimumWork`).
    @inline(__always)
    func ranges(threads: Int, work: Int, minimumWork: Int = Parallel.minimumWork) -> [Range<Int>] {
        let parts = work < minimumWork ? 1 : min(max(threads, 1), Self.maxParts)
        return byParts[parts - 1]
    }
}
