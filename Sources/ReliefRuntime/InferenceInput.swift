import Foundation
import ReliefData
import ReliefFormat

/// Inputs for a model read from a file (see `formats/inputs.md`): raw uint8 or float32 examples,
/// an IDX image file (plain or gzip'd) or a binary PGM image, normalised with the model's metadata.
public struct InferenceInput: Sendable {
    /// How raw bytes of a file are read.
    public enum RawType: String, Sendable, CaseIterable {
        /// One byte per value, `x = (byte · scale − mean[c]) / std[c]`.
        case u8
        /// Little-endian float32 values already multiplied by `scale` (e.g. MNIST's `byte/256`
        /// pixels), `x = (value − mean[c]) / std[c]`.
        case f32
    }

    /// What kind of file the inputs came from.
    public enum Source: String, Sendable, Codable {
        case raw, idx, pgm
    }

    /// Normalised inputs, `[count, input shape]`.
    public var values: [Float]
    public var count: Int
    public var source: Source

    /// Reads `path` for a model with input `shape` and `normalization`. IDX (also gzip'd) and PGM
    /// files are recognised by their first bytes; anything else is raw examples of `raw` type.
    public static func read(path: String, shape: [Int], normalization: RLFMetadata.Normalization, raw: RawType = .u8) throws -> InferenceInput {
        let bytes = try FileBytes.read(path)
        return try decode(bytes, name: path, shape: shape, normalization: normalization, raw: raw)
    }

    public static func decode(_ bytes: [UInt8], name: String, shape: [Int], normalization: RLFMetadata.Normalization,
                              raw: RawType = .u8) throws -> InferenceInput {
        guard !bytes.isEmpty else { throw InferenceError.emptyInput(name) }
        let size = shape.reduce(1, *)
        let channels = shape.count == 3 ? shape[0] : 1
        if bytes.count >= 4, bytes[0] == 0, bytes[1] == 0, bytes[3] >= 1 {
            let idx = try IDXArray.parse(bytes, path: name)
            // [N, C, H, W] or [N, H, W] for one-channel inputs: N examples; the input shape itself, or
            // [H, W] for one channel: one example.
            let d = idx.dimensions, image = Array(shape.dropFirst())
            let single = d == shape || (shape.count == 3 && shape[0] == 1 && d == image)
            let many = d.count >= 2 && (Array(d.dropFirst()) == shape || (shape.count == 3 && shape[0] == 1 && Array(d.dropFirst()) == image))
            guard single || many else {
                throw InferenceError.badInput(name, expected: "IDX images of \(shape.count == 3 && shape[0] == 1 ? "\(shape[1])x\(shape[2])" : "\(shape)")",
                                              found: "dimensions \(idx.dimensions)")
            }
            guard !idx.bytes.isEmpty else { throw InferenceError.emptyInput(name) }
            return InferenceInput(values: normalize(bytes: idx.bytes, size: size, channels: channels, normalization), count: idx.bytes.count / size, source: .idx)
        }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), bytes[1] == UInt8(ascii: "5") {
            let (w, h, pixels) = try parsePGM(bytes, name: name)
            guard shape.count == 3, shape[0] == 1, shape[1] == h, shape[2] == w else {
                throw InferenceError.badInput(name, expected: "a PGM image of \(shape.count == 3 ? "\(shape[2])x\(shape[1]) with 1 channel" : "\(shape)")",
                                              found: "\(w)x\(h)")
            }
            return InferenceInput(values: normalize(bytes: pixels, size: size, channels: 1, normalization), count: 1, source: .pgm)
        }
        switch raw {
        case .u8:
            guard bytes.count % size == 0 else {
                throw InferenceError.badInput(name, expected: "a multiple of \(size) bytes (uint8 examples of shape \(shape))", found: "\(bytes.count) bytes")
            }
            return InferenceInput(values: normalize(bytes: bytes, size: size, channels: channels, normalization), count: bytes.count / size, source: .raw)
        case .f32:
            let (exampleBytes, overflow) = size.multipliedReportingOverflow(by: 4)
            guard !overflow, bytes.count % exampleBytes == 0 else {
                throw InferenceError.badInput(name, expected: "a multiple of \(exampleBytes) bytes (float32 examples of shape \(shape))", found: "\(bytes.count) bytes")
            }
            var values = [Float](repeating: 0, count: bytes.count / 4)
            for i in values.indices {
                let b = UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
                values[i] = Float(bitPattern: b)
            }
            guard values.allSatisfy(\.isFinite) else { throw InferenceError.badInput(name, expected: "finite float32 values", found: "NaN or infinity") }
            let per = size / channels
            for i in values.indices {
                let c = (i / per) % channels
                values[i] = (values[i] - mean(normalization, c)) / std(normalization, c)
            }
            return InferenceInput(values: values, count: values.count / size, source: .raw)
        }
    }

    static func mean(_ n: RLFMetadata.Normalization, _ c: Int) -> Float { n.mean.count == 1 ? n.mean[0] : n.mean[c] }
    static func std(_ n: RLFMetadata.Normalization, _ c: Int) -> Float { n.std.count == 1 ? n.std[0] : n.std[c] }

    /// `(byte · scale − mean[c]) / std[c]` for examples of `size` values in `channels` planes.
    static func normalize(bytes: [UInt8], size: Int, channels: Int, _ n: RLFMetadata.Normalization) -> [Float] {
        var out = [Float](repeating: 0, count: bytes.count)
        let plane = max(1, size / max(1, channels))
        for i in bytes.indices {
            let c = (i % size) / plane
            out[i] = (Float(bytes[i]) * n.scale - mean(n, c)) / std(n, c)
        }
        return out
    }

    /// A binary PGM (P5) image with maxval ≤ 255: width, height and its pixels (scaled to 0…255).
    static func parsePGM(_ bytes: [UInt8], name: String) throws -> (Int, Int, [UInt8]) {
        var i = 2
        func token() throws -> Int {
            // Whitespace and comments, then decimal digits.
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "#") {
                    while i < bytes.count && bytes[i] != 10 && bytes[i] != 13 { i += 1 }
                } else if [9, 10, 11, 12, 13, 32].contains(bytes[i]) {
                    i += 1
                } else { break }
            }
            var v = 0, digits = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57, digits < 9 {
                v = v * 10 + Int(bytes[i] - 48)
                i += 1
                digits += 1
            }
            guard digits > 0 else { throw InferenceError.badInput(name, expected: "a PGM header (P5 width height maxval)", found: "a malformed header") }
            return v
        }
        let w = try token(), h = try token(), maxval = try token()
        guard w >= 1, h >= 1, maxval >= 1, maxval <= 255 else {
            throw InferenceError.badInput(name, expected: "a PGM of at least 1x1 with maxval 1 to 255", found: "\(w)x\(h), maxval \(maxval)")
        }
        guard i < bytes.count, [9, 10, 11, 12, 13, 32].contains(bytes[i]) else {
            throw InferenceError.badInput(name, expected: "one whitespace byte after the PGM header", found: "end of file or other data")
        }
        i += 1
        let count = w * h
        guard bytes.count - i == count else {
            throw InferenceError.badInput(name, expected: "\(count) pixel bytes", found: "\(bytes.count - i)")
        }
        let pixels = maxval == 255 ? Array(bytes[i...]) : bytes[i...].map { UInt8(min(255, (Int($0) * 255 + maxval / 2) / maxval)) }
        return (w, h, pixels)
    }
}
