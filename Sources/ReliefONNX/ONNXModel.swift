/// The part of ONNX's protobuf schema (onnx.proto, IR version 7, opset 13) that Relief reads and
/// writes, with the schema's field numbers.
public struct ONNXModel: Sendable, Equatable {
    public var irVersion: Int64 = 7
    public var opsetVersion: Int64 = 13
    public var producerName = "relief"
    public var producerVersion = ""
    public var graph: Graph

    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var dims: [Int]
        /// ONNX data type: 1 float, 7 int64.
        public var dataType: Int32
        public var floats: [Float] = []
        public var int64s: [Int64] = []

        public static func float(_ name: String, _ dims: [Int], _ values: [Float]) -> Tensor {
            Tensor(name: name, dims: dims, dataType: 1, floats: values)
        }
        public static func int64(_ name: String, _ dims: [Int], _ values: [Int64]) -> Tensor {
            Tensor(name: name, dims: dims, dataType: 7, int64s: values)
        }
    }

    public enum Attribute: Sendable, Equatable {
        case int(Int64), ints([Int64]), float(Float), floats([Float]), string(String), tensor(Tensor)
    }

    public struct Node: Sendable, Equatable {
        public var name: String
        public var opType: String
        public var inputs: [String]
        public var outputs: [String]
        public var attributes: [String: Attribute] = [:]

        public func int(_ key: String) -> Int64? { if case let .int(v)? = attributes[key] { return v }; return nil }
        public func ints(_ key: String) -> [Int64]? { if case let .ints(v)? = attributes[key] { return v }; return nil }
        public func float(_ key: String) -> Float? { if case let .float(v)? = attributes[key] { return v }; return nil }
    }

    /// A graph input or output: a name and a shape whose unknown dimensions are nil.
    public struct ValueInfo: Sendable, Equatable {
        public var name: String
        public var shape: [Int?]
    }

    public struct Graph: Sendable, Equatable {
        public var name: String
        public var nodes: [Node]
        public var initializers: [Tensor]
        public var inputs: [ValueInfo]
        public var outputs: [ValueInfo]
    }
}

// MARK: - Encoding

extension ONNXModel {
    /// The model as protobuf bytes (an `.onnx` file).
    public func encoded() -> [UInt8] {
        var w = ProtobufWriter()
        w.int(1, irVersion)
        w.string(2, producerName)
        w.string(3, producerVersion)
        w.message(7) { Self.encode(graph, into: &$0) }
        w.message(8) { o in
            o.string(1, "")
            o.int(2, opsetVersion)
        }
        return w.bytes
    }

    static func encode(_ g: Graph, into w: inout ProtobufWriter) {
        for n in g.nodes { w.message(1) { encode(n, into: &$0) } }
        w.string(2, g.name)
        for t in g.initializers { w.message(5) { encode(t, into: &$0) } }
        for i in g.inputs { w.message(11) { encode(i, into: &$0) } }
        for o in g.outputs { w.message(12) { encode(o, into: &$0) } }
    }

    static func encode(_ n: Node, into w: inout ProtobufWriter) {
        for i in n.inputs { w.string(1, i) }
        for o in n.outputs { w.string(2, o) }
        w.string(3, n.name)
        w.string(4, n.opType)
        for (name, a) in n.attributes.sorted(by: { $0.key < $1.key }) {
            w.message(5) { aw in
                aw.string(1, name)
                switch a {
                case let .float(f): aw.float(2, f); aw.int(20, 1)
                case let .int(i): aw.int(3, i); aw.int(20, 2)
                case let .string(s): aw.string(4, s); aw.int(20, 3)
                case let .tensor(t): aw.message(5) { encode(t, into: &$0) }; aw.int(20, 4)
                case let .floats(fs): for f in fs { aw.float(7, f) }; aw.int(20, 6)
                case let .ints(is_): for i in is_ { aw.int(8, i) }; aw.int(20, 7)
                }
            }
        }
    }

    static func encode(_ t: Tensor, into w: inout ProtobufWriter) {
        for d in t.dims { w.int(1, Int64(d)) }
        w.int(2, Int64(t.dataType))
        w.string(8, t.name)
        var raw: [UInt8] = []
        if t.dataType == 1 {
            raw.reserveCapacity(4 * t.floats.count)
            for f in t.floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { raw += $0 } }
        } else {
            raw.reserveCapacity(8 * t.int64s.count)
            for v in t.int64s { withUnsafeBytes(of: v.littleEndian) { raw += $0 } }
        }
        w.bytes(9, raw)
    }

    static func encode(_ v: ValueInfo, into w: inout ProtobufWriter) {
        w.string(1, v.name)
        w.message(2) { type in
            type.message(1) { tensor in
                tensor.int(1, 1)
                tensor.message(2) { shape in
                    for (k, d) in v.shape.enumerated() {
                        shape.message(1) { dim in
                            if let d { dim.int(1, Int64(d)) } else { dim.string(2, k == 0 ? "N" : "d\(k)") }
                        }
                    }
                }
            }
        }
    }
}

// MARK: - Decoding

/// What can go wrong reading or converting an ONNX model.
public enum ONNXError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case unsupportedOperator(String, node: String)
    case unsupportedAttribute(node: String, reason: String)
    case unsupportedGraph(String)

    public var description: String {
        switch self {
        case let .malformed(reason): "not a valid ONNX model: \(reason)"
        case let .unsupportedOperator(op, node): "ONNX operator \(op) (node \(node)) has no Relief equivalent"
        case let .unsupportedAttribute(node, reason): "ONNX node \(node): \(reason)"
        case let .unsupportedGraph(reason): "unsupported ONNX graph: \(reason)"
        }
    }
}

extension ONNXModel {
    /// Parses `.onnx` bytes. Lengths are checked at every level; unknown fields are skipped.
    public static func decode(_ bytes: [UInt8]) throws(ONNXError) -> ONNXModel {
        do {
            var model = ONNXModel(graph: Graph(name: "", nodes: [], initializers: [], inputs: [], outputs: []))
            var sawGraph = false
            for f in try ProtobufReader.fields(bytes[...]) {
                switch f.number {
                case 1: model.irVersion = f.int ?? 0
                case 2: model.producerName = f.string ?? ""
                case 3: model.producerVersion = f.string ?? ""
                case 7:
                    guard let d = f.data else { throw ONNXError.malformed("graph is not a message") }
                    model.graph = try graph(d)
                    sawGraph = true
                case 8:
                    guard let d = f.data else { continue }
                    var domain = "", version: Int64 = 0
                    for o in try ProtobufReader.fields(d) {
                        if o.number == 1 { domain = o.string ?? "" }
                        if o.number == 2 { version = o.int ?? 0 }
                    }
                    if domain == "" || domain == "ai.onnx" { model.opsetVersion = version }
                default: continue
                }
            }
            guard sawGraph else { throw ONNXError.malformed("no graph") }
            return model
        } catch let e as ONNXError {
            throw e
        } catch {
            throw .malformed("\(error)")
        }
    }

    static func graph(_ d: ArraySlice<UInt8>) throws -> Graph {
        var g = Graph(name: "", nodes: [], initializers: [], inputs: [], outputs: [])
        for f in try ProtobufReader.fields(d) {
            guard let data = f.data else { continue }
            switch f.number {
            case 1: g.nodes.append(try node(data))
            case 2: g.name = f.string ?? ""
            case 5: g.initializers.append(try tensor(data))
            case 11: g.inputs.append(try valueInfo(data))
            case 12: g.outputs.append(try valueInfo(data))
            default: continue
            }
        }
        return g
    }

    static func node(_ d: ArraySlice<UInt8>) throws -> Node {
        var n = Node(name: "", opType: "", inputs: [], outputs: [])
        for f in try ProtobufReader.fields(d) {
            switch f.number {
            case 1: n.inputs.append(f.string ?? "")
            case 2: n.outputs.append(f.string ?? "")
            case 3: n.name = f.string ?? ""
            case 4: n.opType = f.string ?? ""
            case 5:
                guard let data = f.data else { continue }
                let (name, value) = try attribute(data)
                if let value { n.attributes[name] = value }
            case 7:
                let domain = f.string ?? ""
                guard domain == "" || domain == "ai.onnx" else { throw ONNXError.unsupportedOperator("\(domain).\(n.opType)", node: n.name) }
            default: continue
            }
        }
        return n
    }

    static func attribute(_ d: ArraySlice<UInt8>) throws -> (String, Attribute?) {
        var name = "", type: Int64 = 0
        var f: Float? = nil, i: Int64? = nil, s: String? = nil, t: Tensor? = nil
        var floats: [Float] = [], ints: [Int64] = []
        for field in try ProtobufReader.fields(d) {
            switch field.number {
            case 1: name = field.string ?? ""
            case 2: f = field.float
            case 3: i = field.int
            case 4: s = field.string
            case 5: if let data = field.data { t = try tensor(data) }
            case 7: floats += field.floats ?? []
            case 8: ints += field.ints ?? []
            case 20: type = field.int ?? 0
            default: continue
            }
        }
        switch type {
        case 1: return (name, f.map(Attribute.float))
        case 2: return (name, i.map(Attribute.int))
        case 3: return (name, s.map(Attribute.string))
        case 4: return (name, t.map(Attribute.tensor))
        case 6: return (name, .floats(floats))
        case 7: return (name, .ints(ints))
        default: return (name, nil)
        }
    }

    static func tensor(_ d: ArraySlice<UInt8>) throws -> Tensor {
        var t = Tensor(name: "", dims: [], dataType: 0)
        var raw: ArraySlice<UInt8>? = nil
        for f in try ProtobufReader.fields(d) {
            switch f.number {
            case 1:
                for v in f.ints ?? [] {
                    guard v >= 0, v <= Int64(Int32.max) else { throw ONNXError.malformed("tensor dimension \(v)") }
                    t.dims.append(Int(v))
                }
            case 2: t.dataType = Int32(truncatingIfNeeded: f.int ?? 0)
            case 4: t.floats += f.floats ?? []
            case 7: t.int64s += f.ints ?? []
            case 8: t.name = f.string ?? ""
            case 9: raw = f.data
            case 13, 14: throw ONNXError.unsupportedGraph("tensor \(t.name) keeps its data in an external file")
            default: continue
            }
        }
        var count = 1
        for dim in t.dims {
            let (p, o) = count.multipliedReportingOverflow(by: dim)
            guard !o, p <= 1 << 31 else { throw ONNXError.malformed("tensor \(t.name) has too many elements: \(t.dims)") }
            count = p
        }
        if let raw {
            switch t.dataType {
            case 1:
                guard raw.count == 4 * count else { throw ONNXError.malformed("tensor \(t.name): \(raw.count) raw bytes for \(count) floats") }
                t.floats = stride(from: raw.startIndex, to: raw.endIndex, by: 4).map { k in
                    Float(bitPattern: UInt32(raw[k]) | UInt32(raw[k + 1]) << 8 | UInt32(raw[k + 2]) << 16 | UInt32(raw[k + 3]) << 24)
                }
            case 7:
                guard raw.count == 8 * count else { throw ONNXError.malformed("tensor \(t.name): \(raw.count) raw bytes for \(count) int64 values") }
                t.int64s = stride(from: raw.startIndex, to: raw.endIndex, by: 8).map { k in
                    var v: UInt64 = 0
                    for b in 0..<8 { v |= UInt64(raw[k + b]) << (8 * UInt64(b)) }
                    return Int64(bitPattern: v)
                }
            default: break
            }
        }
        if t.dataType == 1 && t.floats.count != count { throw ONNXError.malformed("tensor \(t.name) holds \(t.floats.count) floats for dims \(t.dims)") }
        if t.dataType == 7 && t.int64s.count != count { throw ONNXError.malformed("tensor \(t.name) holds \(t.int64s.count) int64 values for dims \(t.dims)") }
        return t
    }

    static func valueInfo(_ d: ArraySlice<UInt8>) throws -> ValueInfo {
        var v = ValueInfo(name: "", shape: [])
        for f in try ProtobufReader.fields(d) {
            if f.number == 1 { v.name = f.string ?? "" }
            if f.number == 2, let type = f.data { v.shape = try shape(ofType: type) }
        }
        return v
    }

    /// TypeProto → tensor_type(1) → shape(2) → dim(1)*.
    static func shape(ofType type: ArraySlice<UInt8>) throws -> [Int?] {
        let tensor = try submessages(type, field: 1).first ?? []
        let shape = try submessages(tensor, field: 2).first ?? []
        return try submessages(shape, field: 1).map(dimension)
    }

    /// Dimension: dim_value(1), or a symbolic dim_param (nil).
    static func dimension(_ d: ArraySlice<UInt8>) throws -> Int? {
        var value: Int? = nil
        for x in try ProtobufReader.fields(d) {
            if x.number == 1, let v = x.int { value = Int(clamping: v) }
        }
        return value
    }

    /// The length-delimited fields numbered `field` of a message.
    static func submessages(_ d: ArraySlice<UInt8>, field: Int) throws -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        for f in try ProtobufReader.fields(d) {
            if f.number == field, let data = f.data { out.append(data) }
        }
        return out
    }
}
