/// The protobuf wire format, as much as ONNX needs: varints, 64-bit and 32-bit fixed values, and
/// length-delimited fields (strings, bytes, nested messages, packed repeated numbers).
/// Written from the protobuf encoding specification; no generated code.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    enum WireType: UInt8 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func key(_ field: Int, _ type: WireType) { varint(UInt64(field) << 3 | UInt64(type.rawValue)) }

    mutating func int(_ field: Int, _ v: Int64) {
        key(field, .varint)
        varint(UInt64(bitPattern: v))
    }

    mutating func float(_ field: Int, _ v: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
    }

    mutating func bytes(_ field: Int, _ b: [UInt8]) {
        key(field, .lengthDelimited)
        varint(UInt64(b.count))
        bytes += b
    }

    mutating func string(_ field: Int, _ s: String) { bytes(field, Array(s.utf8)) }

    mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        build(&inner)
        bytes(field, inner.bytes)
    }
}

/// What can go wrong reading protobuf bytes.
public enum ProtobufError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(at: Int)
    case badVarint(at: Int)
    case unsupportedWireType(UInt8, at: Int)
    case badLength(Int, at: Int)

    public var description: String {
        switch self {
        case let .truncated(at): "protobuf data ends inside a field at byte \(at)"
        case let .badVarint(at): "malformed varint at byte \(at)"
        case let .unsupportedWireType(t, at): "unsupported protobuf wire type \(t) at byte \(at)"
        case let .badLength(n, at): "field length \(n) at byte \(at) runs past the end of its message"
        }
    }
}

/// One field as read: its number and value.
struct ProtobufField {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(ArraySlice<UInt8>)
    }
    var number: Int
    var value: Value

    var int: Int64? { if case let .varint(v) = value { return Int64(bitPattern: v) }; return nil }
    var data: ArraySlice<UInt8>? { if case let .bytes(b) = value { return b }; return nil }
    var string: String? { data.map { String(decoding: $0, as: UTF8.self) } }
    var float: Float? { if case let .fixed32(v) = value { return Float(bitPattern: v) }; return nil }

    /// A repeated int64 field, packed (one length-delimited run) or not (this one value).
    var ints: [Int64]? {
        switch value {
        case let .varint(v): return [Int64(bitPattern: v)]
        case let .bytes(b):
            var r = ProtobufReader(b)
            var out: [Int64] = []
            while !r.atEnd { guard let v = try? r.varint() else { return nil }; out.append(Int64(bitPattern: v)) }
            return out
        default: return nil
        }
    }

    /// A repeated float field, packed or not.
    var floats: [Float]? {
        switch value {
        case let .fixed32(v): return [Float(bitPattern: v)]
        case let .bytes(b):
            guard b.count % 4 == 0 else { return nil }
            return stride(from: b.startIndex, to: b.endIndex, by: 4).map { i in
                Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
            }
        default: return nil
        }
    }
}

/// Reads the fields of one message, checking every length against the bytes left.
struct ProtobufReader {
    let bytes: ArraySlice<UInt8>
    var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    var atEnd: Bool { position >= bytes.endIndex }

    mutating func varint() throws(ProtobufError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while true {
            guard position < bytes.endIndex else { throw .truncated(at: start) }
            let b = bytes[position]
            position += 1
            guard shift < 64 else { throw .badVarint(at: start) }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    mutating func field() throws(ProtobufError) -> ProtobufField {
        let at = position
        let key = try varint()
        let number = Int(key >> 3)
        switch UInt8(key & 7) {
        case 0: return ProtobufField(number: number, value: .varint(try varint()))
        case 1:
            guard bytes.endIndex - position >= 8 else { throw .truncated(at: at) }
            var v: UInt64 = 0
            for k in 0..<8 { v |= UInt64(bytes[position + k]) << (8 * UInt64(k)) }
            position += 8
            return ProtobufField(number: number, value: .fixed64(v))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - position) else { throw .badLength(Int(clamping: length), at: at) }
            let slice = bytes[position..<(position + Int(length))]
            position += Int(length)
            return ProtobufField(number: number, value: .bytes(slice))
        case 5:
            guard bytes.endIndex - position >= 4 else { throw .truncated(at: at) }
            var v: UInt32 = 0
            for k in 0..<4 { v |= UInt32(bytes[position + k]) << (8 * UInt32(k)) }
            position += 4
            return ProtobufField(number: number, value: .fixed32(v))
        case let t: throw .unsupportedWireType(t, at: at)
        }
    }

    /// Every field of the message.
    static func fields(_ bytes: ArraySlice<UInt8>) throws(ProtobufError) -> [ProtobufField] {
        var r = ProtobufReader(bytes)
        var out: [ProtobufField] = []
        while !r.atEnd { out.append(try r.field()) }
        return out
    }
}
