import CZstd
import Synchronization

/// The zstd calls the format needs, with every result checked.
enum Zstd {
    /// One zstd frame holding `source`, with its content size in the frame header.
    static func compress(_ source: UnsafeRawBufferPointer, level: Int32) -> [UInt8] {
        let bound = ZSTD_compressBound(source.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = out.withUnsafeMutableBytes { dst in
            ZSTD_compress(dst.baseAddress, bound, source.baseAddress, source.count, level)
        }
        // Compressing into a buffer of ZSTD_compressBound bytes cannot fail but for memory exhaustion.
        precondition(ZSTD_isError(written) == 0, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        out.removeSubrange(written...)
        return out
    }

    /// Decompresses exactly one frame into `destination`, which is exactly the declared decoded size.
    ///
    /// The frame's own content size is never used to allocate: a frame that would produce more than
    /// `destination.count` bytes is a bomb, one that produces fewer a size mismatch.
    static func decompress(_ source: UnsafeRawBufferPointer, into destination: UnsafeMutableRawBufferPointer,
                           section: Int) throws(RLFError) {
        let declared = UInt64(destination.count)
        let frameSize = ZSTD_findFrameCompressedSize(source.baseAddress, source.count)
        if ZSTD_isError(frameSize) != 0 {
            throw .decompressionFailed(section: section, reason: String(cString: ZSTD_getErrorName(frameSize)))
        }
        guard frameSize == source.count else {
            throw .decompressionFailed(section: section, reason: "the section holds \(source.count) bytes but its zstd frame is \(frameSize) bytes")
        }
        let contentSize = ZSTD_getFrameContentSize(source.baseAddress, source.count)
        if contentSize != ZSTD_CONTENTSIZE_UNKNOWN && contentSize != ZSTD_CONTENTSIZE_ERROR {
            if contentSize > declared { throw .decompressionBomb(section: section, declared: declared) }
            if contentSize < declared { throw .decompressedSizeMismatch(section: section, declared: declared, actual: contentSize) }
        }
        guard let context = contexts.take() ?? ZSTD_createDCtx() else {
            throw .decompressionFailed(section: section, reason: "zstd could not allocate a decompression context")
        }
        defer { contexts.give(context) }
        // An empty destination may have no base address; zstd wants a valid pointer all the same.
        var scratch: UInt8 = 0
        let got = withUnsafeMutablePointer(to: &scratch) { fallback in
            ZSTD_decompressDCtx(context, destination.baseAddress ?? UnsafeMutableRawPointer(fallback),
                                destination.count, source.baseAddress, source.count)
        }
        if ZSTD_isError(got) != 0 {
            if ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall {
                throw .decompressionBomb(section: section, declared: declared)
            }
            throw .decompressionFailed(section: section, reason: String(cString: ZSTD_getErrorName(got)))
        }
        guard UInt64(got) == declared else {
            throw .decompressedSizeMismatch(section: section, declared: declared, actual: UInt64(got))
        }
    }
}

/// Decompression contexts kept for reuse: creating one costs more than decoding a small section.
private let contexts = ContextPool()

private final class ContextPool: Sendable {
    /// A context owned by whoever holds the handle; never shared between threads at once.
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }
    private let free = Mutex<[Handle]>([])

    func take() -> OpaquePointer? {
        free.withLock { $0.popLast()?.pointer }
    }

    /// Keeps a few contexts (one per thread that decodes at once); frees the rest.
    func give(_ context: OpaquePointer) {
        let handle = Handle(pointer: context)
        let kept = free.withLock { list -> Bool in
            guard list.count < 8 else { return false }
            list.append(handle)
            return true
        }
        if !kept { ZSTD_freeDCtx(context) }
    }
}
