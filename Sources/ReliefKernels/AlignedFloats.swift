/// A buffer of floats starting on a 64-byte boundary (a cache line and one AVX-512 vector), as the
/// runtime's activation buffers do.
///
/// What times a kernel must use one: a Swift array's elements start 32 bytes into a 16-byte aligned
/// allocation, so where they fall within a cache line depends on the allocator, and a kernel reading
/// 64-byte vectors from a misaligned X reads two lines for each. `bench/micro/csr_batch64.c` (fifth
/// argument: an offset in floats) times the batch-64 CSR strip at fc1's shape twice as slow with X
/// 16 bytes off: the kernel benchmark's cells went between the two from run to run.
public final class AlignedFloats: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// `count` floats set to `value`.
    public init(count: Int, repeating value: Float = 0) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(4 * count, 64), alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 16))
        if value == 0 {
            UnsafeMutableRawPointer(pointer).initializeMemory(as: UInt8.self, repeating: 0, count: 4 * count)
        } else {
            pointer.initialize(repeating: value, count: count)
        }
    }

    /// A copy of `values`.
    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        if !values.isEmpty { values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) } }
    }

    /// Fills the buffer with the same deterministic pattern in [-0.5, 0.5) the kernel timings use:
    /// value i is ((i · 2654435761) mod 1000) / 1000 − 0.5, which repeats every 1000 values, so the
    /// first 1000 are computed and the rest copied (a division per value made this a tenth of
    /// loading ResNet-110 at batch 64).
    public convenience init(patternCount count: Int) {
        self.init(count: count)
        let period = min(count, 1000)
        for i in 0..<period { pointer[i] = Float((i &* 2_654_435_761) % 1000) / 1000 - 0.5 }
        var filled = period
        while filled < count {
            let n = min(filled, count - filled)
            (pointer + filled).update(from: pointer, count: n)
            filled += n
        }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}
