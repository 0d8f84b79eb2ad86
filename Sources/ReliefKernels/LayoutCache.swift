import Foundation

/// What a convolution derives from its weights and the layout of one call's input alone (weight
/// offsets into the padded source, the vectors that cover the outputs), kept per layout instead of
/// recomputed on every call (with the padded copies in C, a fifth off ResNet-20's batch-1 time,
/// DEVELOPERS.md). Shared by concurrent inferences; a model runs each convolution at a
/// few batch sizes, so a few layouts are kept, and past that the caller computes into its scratch.
///
/// The lock is a pthread mutex (`NSLock`), which ThreadSanitizer understands; with the standard
/// library's `Mutex` it reported the dictionary's accesses under the lock as races.
final class LayoutCache<Key: Hashable & Sendable, Value: AnyObject & Sendable>: @unchecked Sendable {
    /// Layouts kept.
    static var capacity: Int { 8 }
    private let lock = NSLock()
    private var kept: [Key: Value] = [:]

    /// The value kept for `key`, else `make()`'s, kept; nil when the cache is full.
    func value(_ key: Key, make: () -> Value) -> Value? {
        lock.lock()
        defer { lock.unlock() }
        if let value = kept[key] { return value }
        guard kept.count < Self.capacity else { return nil }
        let value = make()
        kept[key] = value
        return value
    }
}

/// Memory a `LayoutCache` entry owns.
final class KeptBuffer<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
    init(count: Int) { base = .allocate(capacity: max(count, 1)) }
    deinit { base.deallocate() }
}

/// A convolution's weight offsets per source layout (the loop that reads them and the layout's
/// strides).
final class OffsetTables<Element: FixedWidthInteger>: Sendable {
    struct Key: Hashable, Sendable {
        var path: Int
        var strides: SIMD2<Int>
    }

    private let cache = LayoutCache<Key, KeptBuffer<Element>>()

    /// The `count` offsets for `key`: the kept table, or `fill` run on a new one (or, when the cache
    /// is full, on `scratch`, which must hold `count` elements).
    func offsets(_ key: Key, count: Int, scratch: UnsafeMutablePointer<Element>,
                 fill: (UnsafeMutablePointer<Element>) -> Void) -> UnsafePointer<Element> {
        let kept = cache.value(key) {
            let table = KeptBuffer<Element>(count: count)
            fill(table.base)
            return table
        }
        if let kept { return UnsafePointer(kept.base) }
        fill(scratch)
        return UnsafePointer(scratch)
    }
}
