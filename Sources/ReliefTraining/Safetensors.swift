import Foundation
import ReliefFormat

/// Float32 tensors in the safetensors format (readable by PyTorch's safetensors loader):
/// an 8-byte little-endian header length, a JSON header of names, dtypes, shapes and byte ranges
/// (plus a `__metadata__` map of strings), then the raw little-endian data.
public struct SafetensorsFile: Sendable, Equatable {
    public var tensors: [String: Tensor]
    public var metadata: [String: String]

    public init(tensors: [String: Tensor], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Refuse headers over this size (as the reference implementation does).
    static let maxHeaderBytes = 100 << 20

    public func encoded() -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]] as [String: Any]
            offset += 4 * t.count
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned.
        while json.count % 8 != 0 { json.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + json.count + offset)
        let length = UInt64(json.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))) }
        out += json
        for name in names {
            tensors[name]!.data.withUnsafeBytes { out += $0 }   // little-endian host
        }
        return out
    }

    public func write(to path: String) throws(TrainingError) {
        do { try AtomicFile.write(encoded(), to: path) } catch {
            throw .checkpointUnreadable(path: path, reason: "\(error)")
        }
    }

    public static func read(path: String) throws(TrainingError) -> SafetensorsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .checkpointUnreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        return try parse([UInt8](data), path: path)
    }

    /// Validates everything before use: header size, JSON, dtypes, shapes against byte ranges, and
    /// that the ranges tile the data exactly (no overlaps, no holes).
    public static func parse(_ bytes: [UInt8], path: String) throws(TrainingError) -> SafetensorsFile {
        func corrupt(_ reason: String) -> TrainingError { .checkpointCorrupt(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw corrupt("\(bytes.count) bytes is too short for a safetensors file") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(maxHeaderBytes), Int(length) <= bytes.count - 8 else {
            throw corrupt("header length \(length) does not fit the \(bytes.count)-byte file")
        }
        let headerEnd = 8 + Int(length)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])), let header = object as? [String: Any] else {
            throw corrupt("the header is not a JSON object")
        }
        let dataSize = bytes.count - headerEnd
        var metadata: [String: String] = [:]
        var ranges: [(name: String, begin: Int, end: Int, shape: [Int])] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw corrupt("__metadata__ is not a map of strings") }
                metadata = m
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw corrupt("tensor \(name) lacks dtype, shape or data_offsets")
            }
            guard dtype == "F32" else { throw corrupt("tensor \(name) is \(dtype); Relief reads F32 only") }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow else { throw corrupt("tensor \(name) has an invalid shape \(shape)") }
                count = p
            }
            let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: 4)
            guard !overflow, offsets[0] >= 0, offsets[1] >= offsets[0], offsets[1] <= dataSize,
                  offsets[1] - offsets[0] == bytesNeeded else {
                throw corrupt("tensor \(name): byte range \(offsets) does not hold shape \(shape) within \(dataSize) bytes")
            }
            ranges.append((name, offsets[0], offsets[1], shape))
        }
        ranges.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for r in ranges {
            guard r.begin == expected else {
                throw corrupt(r.begin < expected ? "tensor \(r.name) overlaps another" : "a hole before tensor \(r.name)")
            }
            expected = r.end
        }
        guard expected == dataSize else { throw corrupt("\(dataSize - expected) bytes after the last tensor") }
        var tensors: [String: Tensor] = [:]
        for r in ranges {
            let n = (r.end - r.begin) / 4
            let values = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
                guard n > 0 else { return }
                bytes.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: raw.baseAddress! + headerEnd + r.begin, byteCount: 4 * n)
                }
                initialized = n
            }
            tensors[r.name] = Tensor(shape: r.shape, data: values)
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }
}
