import CZlib
import Foundation

/// Whole-file reads, transparently un-gzipping files that start with the gzip magic.
public enum FileBytes {
    /// Largest decompressed size accepted (the biggest data set file is 47 MB).
    static let maxInflatedBytes = 1 << 30

    public static func read(_ path: String) throws(DataError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            throw .io(path: path, reason: !exists ? "no such file" : isDirectory.boolValue ? "is a folder" : "permission denied")
        }
        let bytes = [UInt8](data)
        if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B { return try gunzip(bytes, path: path) }
        return bytes
    }

    /// Inflates every gzip member of `input`, refusing truncated, corrupt or oversized streams.
    static func gunzip(_ input: [UInt8], path: String) throws(DataError) -> [UInt8] {
        var output: [UInt8] = []
        var stream = z_stream()
        // 15 + 16: a gzip wrapper (not zlib or raw deflate).
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .gzipCorrupt(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var failure: DataError?
        input.withUnsafeBytes { src in
            stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(src.count)
            while true {
                let status: Int32 = chunk.withUnsafeMutableBytes { dst in
                    stream.next_out = dst.bindMemory(to: Bytef.self).baseAddress
                    stream.avail_out = uInt(dst.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                guard output.count + produced <= maxInflatedBytes else {
                    failure = .gzipTooLarge(path: path, limit: maxInflatedBytes)
                    return
                }
                output.append(contentsOf: chunk[0..<produced])
                switch status {
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return }
                    // Another gzip member follows.
                    guard inflateReset(&stream) == Z_OK else {
                        failure = .gzipCorrupt(path: path, reason: "cannot start the next member")
                        return
                    }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    failure = .gzipCorrupt(path: path, reason: "the stream is truncated")
                    return
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "inflate returned \(status)"
                    failure = .gzipCorrupt(path: path, reason: message)
                    return
                }
            }
        }
        if let failure { throw failure }
        return output
    }
}
