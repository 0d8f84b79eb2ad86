import Foundation

/// What `relief-inspect` shows of a file, as plain data (encodable to JSON).
public struct RLFReport: Codable, Sendable {
    public struct Header: Codable, Sendable {
        public var version: String
        public var fileSize: UInt64
        public var alignment: UInt32
        public var sectionCount: UInt32
    }
    public struct Section: Codable, Sendable {
        public var index: Int
        public var kind: String
        public var codec: String
        public var offset: UInt64
        public var storedBytes: UInt64
        public var decodedBytes: UInt64
        public var checksum: String
    }
    public struct Tensor: Codable, Sendable {
        public var name: String
        public var shape: [Int]
        public var encoding: String
        public var codec: String
        public var shuffledValues: Bool
        public var deltaColumns: Bool
        public var indexWidths: [Int]
        public var nnz: Int
        public var elements: Int
        public var density: Double
        public var bytesOnDisk: UInt64
        public var bytesInMemory: Int
        public var denseBytes: Int
        public var bytesPerNonzero: Double?
    }
    public var header: Header
    public var sections: [Section]
    public var tensors: [Tensor]
    public var metadata: RLFMetadata

    public init(_ file: RLFFile) {
        let h = file.header
        header = Header(version: "\(h.major).\(h.minor)", fileSize: h.fileSize, alignment: h.alignment, sectionCount: h.sectionCount)
        sections = file.sections.enumerated().map { i, s in
            Section(index: i, kind: s.kind.description, codec: s.codec.description, offset: s.offset,
                    storedBytes: s.storedSize, decodedBytes: s.decodedSize, checksum: hex(s.checksum))
        }
        tensors = zip(file.records, file.tensors).enumerated().map { k, pair in
            let (r, t) = pair
            let section = file.sections[k + 2]
            return Tensor(name: r.name, shape: r.shape, encoding: r.encoding.description, codec: section.codec.description,
                          shuffledValues: r.shuffledValues, deltaColumns: r.deltaColumns,
                          indexWidths: r.encoding == .csr ? [r.rowCountWidth, r.columnWidth] : [],
                          nnz: r.nnz, elements: r.count, density: t.density, bytesOnDisk: section.storedSize,
                          bytesInMemory: t.residentBytes, denseBytes: 4 * r.count,
                          bytesPerNonzero: r.nnz > 0 ? Double(section.storedSize) / Double(r.nnz) : nil)
        }
        metadata = file.metadata
    }

    /// A human-readable report.
    public func text() -> String {
        var out = "RLF \(header.version), \(header.fileSize) bytes, \(header.sectionCount) sections, alignment \(header.alignment)\n\n"
        out += "Sections:\n"
        out += row(["#", "kind", "codec", "offset", "stored", "decoded", "checksum"], [3, 10, 5, 10, 10, 10, 18])
        for s in sections {
            out += row(["\(s.index)", s.kind, s.codec, "\(s.offset)", "\(s.storedBytes)", "\(s.decodedBytes)", s.checksum],
                       [3, 10, 5, 10, 10, 10, 18])
        }
        out += "\nTensors:\n"
        let widths = [24, 16, 8, 5, 9, 8, 10, 10, 10, 8]
        out += row(["name", "shape", "encoding", "codec", "nnz", "density", "disk B", "memory B", "dense B", "B/nnz"], widths)
        var disk: UInt64 = 0, memory = 0, dense = 0
        for t in tensors {
            disk += t.bytesOnDisk
            memory += t.bytesInMemory
            dense += t.denseBytes
            out += row([t.name, t.shape.map(String.init).joined(separator: "x"), t.encoding, t.codec, "\(t.nnz)",
                        String(format: "%.2f%%", 100 * t.density), "\(t.bytesOnDisk)", "\(t.bytesInMemory)", "\(t.denseBytes)",
                        t.bytesPerNonzero.map { String(format: "%.2f", $0) } ?? "-"], widths)
        }
        out += row(["total", "", "", "", "\(tensors.reduce(0) { $0 + $1.nnz })", "", "\(disk)", "\(memory)", "\(dense)", ""], widths)
        let a = metadata.architecture
        out += "\nArchitecture \(a.name): input \(a.input.shape), \(a.layers.count) layers, output \(a.output)"
        out += a.classNames.isEmpty ? "\n" : ", classes \(a.classNames.joined(separator: ", "))\n"
        for l in a.layers {
            var parts = ["  \(l.name): \(l.op)(\(l.inputs.joined(separator: ", ")))", "-> \(l.outputShape)"]
            if let w = l.weight { parts.append("weight \(w)") }
            if let b = l.bias { parts.append("bias \(b)") }
            out += parts.joined(separator: " ") + "\n"
        }
        let p = metadata.provenance
        out += "\nProvenance: method \(p.method), tool \(p.toolVersion)"
        if let d = p.dataset { out += ", data set \(d)" }
        if let acc = p.accuracy { out += String(format: ", accuracy %.2f%%", 100 * acc) }
        if let it = p.iterations { out += ", \(it) iterations" }
        if let alpha = p.alpha { out += ", alpha " + alpha.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        if let n = p.notes { out += "\n  \(n)" }
        return out + "\n"
    }

    private func row(_ cells: [String], _ widths: [Int]) -> String {
        zip(cells, widths).map { c, w in c.count >= w ? c + " " : c + String(repeating: " ", count: w - c.count + 1) }
            .joined().trimmingCharacters(in: .whitespaces) + "\n"
    }
}
