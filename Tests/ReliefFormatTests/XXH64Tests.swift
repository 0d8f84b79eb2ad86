import ReliefFormat
import Testing

@Suite struct XXH64Tests {
    // Expected values from the reference implementation (Python's xxhash package).
    @Test func knownVectors() {
        #expect(XXH64.hash([UInt8]()) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXH64.hash((0..<100).map { UInt8($0) }) == 0x6AC1_E580_3216_6597)
    }

    @Test func everyLengthDiffers() {
        // Lengths 0...70 cross every tail path (1, 4 and 8-byte lanes, 32-byte stripes).
        let bytes = (0..<70).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let hashes = (0...70).map { XXH64.hash(Array(bytes.prefix($0))) }
        #expect(Set(hashes).count == hashes.count)
    }
}
