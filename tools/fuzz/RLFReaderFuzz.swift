// libFuzzer entry point for the .rlf reader. Built by tools/fuzz.sh together with the sources of
// ReliefFormat into one module, with -sanitize=fuzzer,address.

/// Reads arbitrary bytes as an .rlf file. Any outcome but a crash, a hang or a sanitizer report is fine.
@_cdecl("LLVMFuzzerTestOneInput")
public func rlfReaderFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    // Tighter limits than the defaults keep each input's memory small; the checks are the same.
    var limits = RLFLimits()
    limits.maxTensorBytes = 16 << 20
    limits.maxTotalDecodedBytes = 64 << 20
    // Without this nearly every mutation would stop at a checksum; checksums are tested elsewhere.
    limits.verifyChecksums = false
    if let file = try? RLFReader.read(bytes: bytes, limits: limits) {
        // What a reader accepted must be usable: every tensor expands to its dense form. (A valid
        // sparse tensor may have up to 2^32 elements; only expand those that fit the fuzzer's memory.)
        for t in file.tensors where t.count <= 1 << 24 { precondition(t.denseValues().count == t.count) }
        _ = RLFReport(file).text()
    }
    return 0
}
