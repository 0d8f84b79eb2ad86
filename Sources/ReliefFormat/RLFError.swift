/// Every way an `.rlf` file can be wrong, one case each, with what was expected and what was found.
///
/// Sections are numbered from 0 (metadata), 1 (directory), 2... (tensors); see `formats/rlf.md`.
public enum RLFError: Error, Equatable, Sendable, CustomStringConvertible {
    // File and header.
    case io(path: String, reason: String)
    case fileTooSmall(minimum: UInt64, found: UInt64)
    case fileTooLarge(limit: UInt64, found: UInt64)
    case badMagic(found: [UInt8])
    case unsupportedVersion(major: UInt16, minor: UInt16, supportedMajor: UInt16)
    case headerChecksumMismatch(expected: UInt64, found: UInt64)
    case badHeaderSize(expected: UInt32, found: UInt32)
    case fileSizeMismatch(declared: UInt64, actual: UInt64)
    case badTableOffset(expected: UInt64, found: UInt64)
    case badAlignment(found: UInt32)
    case badSectionCount(found: UInt32, minimum: UInt32, maximum: UInt32)
    case tableChecksumMismatch(expected: UInt64, found: UInt64)
    case reservedNotZero(field: String)
    // Section table and layout.
    case unexpectedSectionKind(section: Int, expected: UInt32, found: UInt32)
    case unknownCodec(section: Int, found: UInt32)
    case sectionMisaligned(section: Int, offset: UInt64, alignment: UInt32)
    case sectionsOverlap(section: Int, offset: UInt64, previousEnd: UInt64)
    case sectionGap(section: Int, offset: UInt64, expected: UInt64)
    case sectionOutOfBounds(section: Int, end: UInt64, fileSize: UInt64)
    case trailingBytes(lastSectionEnd: UInt64, fileSize: UInt64)
    case nonZeroPadding(offset: UInt64)
    case sectionChecksumMismatch(section: Int, expected: UInt64, found: UInt64)
    case declaredSizeTooLarge(section: Int, declared: UInt64, limit: UInt64)
    case rawSizeMismatch(section: Int, stored: UInt64, decoded: UInt64)
    case decompressionFailed(section: Int, reason: String)
    case decompressionBomb(section: Int, declared: UInt64)
    case decompressedSizeMismatch(section: Int, declared: UInt64, actual: UInt64)
    // Metadata.
    case invalidMetadata(reason: String)
    // Tensor directory.
    case directoryTruncated(offset: Int, needed: Int, available: Int)
    case directoryTrailingBytes(count: Int)
    case tensorCountMismatch(directory: UInt32, sections: Int)
    case unknownEncoding(tensor: String, found: UInt8)
    case unsupportedDType(tensor: String, found: UInt8)
    case rankTooLarge(tensor: String, rank: Int, limit: Int)
    case unknownFlags(tensor: String, flags: UInt8)
    case badIndexWidth(tensor: String, field: String, found: UInt8)
    case invalidTensorName(reason: String)
    case duplicateTensorName(String)
    case dimensionTooLarge(tensor: String, dimension: UInt64, limit: UInt64)
    case tensorTooLarge(tensor: String, elements: String, limit: UInt64)
    case nnzExceedsCount(tensor: String, nnz: UInt64, count: UInt64)
    case tensorSizeMismatch(tensor: String, expected: UInt64, declared: UInt64)
    // Tensor payloads.
    case nnzMismatch(tensor: String, declared: UInt64, found: UInt64)
    case rowCountTooLarge(tensor: String, row: Int, count: UInt64, columns: Int)
    case columnIndexOutOfRange(tensor: String, row: Int, index: UInt64, columns: Int)
    case columnsNotIncreasing(tensor: String, row: Int, previous: UInt64, found: UInt64)
    case duplicateColumnIndex(tensor: String, row: Int, index: UInt64)
    case storedZeroValue(tensor: String, position: Int)
    case bitmaskPaddingNotZero(tensor: String)
    // Architecture graph.
    case unknownOperator(layer: String, op: String)
    case invalidLayerName(String)
    case duplicateLayerName(String)
    case unknownLayerInput(layer: String, input: String)
    case wrongInputCount(layer: String, expected: Int, found: Int)
    case missingTensor(layer: String, tensor: String)
    case tensorShapeMismatch(layer: String, tensor: String, expected: [Int], found: [Int])
    case incompatibleInputShape(layer: String, reason: String)
    case invalidLayerAttribute(layer: String, attribute: String, reason: String)
    case layerShapeMismatch(layer: String, declared: [Int], inferred: [Int])
    case unknownOutputLayer(String)
    case invalidInputSpec(reason: String)
    case classCountMismatch(classes: Int, outputs: Int)

    public var description: String {
        switch self {
        case let .io(path, reason): return "cannot read or write \(path): \(reason)"
        case let .fileTooSmall(minimum, found): return "not an .rlf file: it is \(found) bytes, but even the header needs \(minimum)"
        case let .fileTooLarge(limit, found): return "file is \(found) bytes, over the reader's limit of \(limit)"
        case let .badMagic(found): return "not an .rlf file: expected magic 89 52 4C 46 0D 0A 1A 0A, found \(hex(found))"
        case let .unsupportedVersion(major, minor, supported): return "format version \(major).\(minor) is not supported (this reader reads major version \(supported))"
        case let .headerChecksumMismatch(e, f): return "header is corrupt: checksum is \(hex(e)) but the bytes hash to \(hex(f))"
        case let .badHeaderSize(e, f): return "header size must be \(e), found \(f)"
        case let .fileSizeMismatch(declared, actual): return declared > actual
            ? "file is truncated: header says \(declared) bytes, found \(actual)"
            : "file is longer than its header says: header says \(declared) bytes, found \(actual)"
        case let .badTableOffset(e, f): return "section table must start at \(e), header says \(f)"
        case let .badAlignment(f): return "alignment must be a power of two from 8 to 65536, found \(f)"
        case let .badSectionCount(f, lo, hi): return "section count must be from \(lo) to \(hi), found \(f)"
        case let .tableChecksumMismatch(e, f): return "section table is corrupt: checksum is \(hex(e)) but the bytes hash to \(hex(f))"
        case let .reservedNotZero(field): return "reserved field \(field) is not zero"
        case let .unexpectedSectionKind(s, e, f): return "section \(s) must be of kind \(e), found \(f)"
        case let .unknownCodec(s, f): return "section \(s) has unknown codec \(f) (0 raw, 1 zstd)"
        case let .sectionMisaligned(s, o, a): return "section \(s) starts at \(o), not a multiple of the alignment \(a)"
        case let .sectionsOverlap(s, o, e): return "section \(s) starts at \(o), inside the previous section, which ends at \(e)"
        case let .sectionGap(s, o, e): return "section \(s) starts at \(o), leaving a hole: it must start at \(e)"
        case let .sectionOutOfBounds(s, end, size): return "section \(s) ends at \(end), past the end of the \(size)-byte file"
        case let .trailingBytes(end, size): return "the last section ends at \(end) but the file has \(size) bytes"
        case let .nonZeroPadding(o): return "padding byte at offset \(o) is not zero"
        case let .sectionChecksumMismatch(s, e, f): return "section \(s) is corrupt: checksum is \(hex(e)) but the bytes hash to \(hex(f))"
        case let .declaredSizeTooLarge(s, d, l): return "section \(s) declares \(d) decoded bytes, over the limit of \(l)"
        case let .rawSizeMismatch(s, st, d): return "raw section \(s) stores \(st) bytes but declares \(d) decoded bytes"
        case let .decompressionFailed(s, r): return "section \(s) does not decompress: \(r)"
        case let .decompressionBomb(s, d): return "section \(s) decompresses to more than its declared \(d) bytes"
        case let .decompressedSizeMismatch(s, d, a): return "section \(s) declares \(d) decoded bytes but decompresses to \(a)"
        case let .invalidMetadata(r): return "metadata is invalid: \(r)"
        case let .directoryTruncated(o, n, a): return "tensor directory is truncated: at byte \(o) it needs \(n) more bytes, \(a) remain"
        case let .directoryTrailingBytes(c): return "tensor directory has \(c) bytes after its last record"
        case let .tensorCountMismatch(d, s): return "tensor directory lists \(d) tensors but the file has \(s) tensor sections"
        case let .unknownEncoding(t, f): return "tensor \(t): unknown encoding \(f) (0 dense, 1 CSR, 2 bitmask)"
        case let .unsupportedDType(t, f): return "tensor \(t): unsupported element type \(f) (1 float32)"
        case let .rankTooLarge(t, r, l): return "tensor \(t): rank \(r) is over the limit of \(l)"
        case let .unknownFlags(t, f): return "tensor \(t): unknown flag bits \(hex([f])) for its encoding"
        case let .badIndexWidth(t, field, f): return "tensor \(t): \(field) width \(f) is not allowed for its encoding"
        case let .invalidTensorName(r): return "invalid tensor name: \(r)"
        case let .duplicateTensorName(n): return "tensor name \(n) appears twice"
        case let .dimensionTooLarge(t, d, l): return "tensor \(t): dimension \(d) is over the limit of \(l)"
        case let .tensorTooLarge(t, e, l): return "tensor \(t): \(e) elements, over the limit of \(l)"
        case let .nnzExceedsCount(t, n, c): return "tensor \(t): \(n) nonzeros declared but it has only \(c) elements"
        case let .tensorSizeMismatch(t, e, d): return "tensor \(t): its shape and encoding need \(e) decoded bytes, its section declares \(d)"
        case let .nnzMismatch(t, d, f): return "tensor \(t): \(d) nonzeros declared, \(f) found"
        case let .rowCountTooLarge(t, r, c, cols): return "tensor \(t): row \(r) has \(c) entries but only \(cols) columns"
        case let .columnIndexOutOfRange(t, r, i, cols): return "tensor \(t): row \(r) has column index \(i), out of range for \(cols) columns"
        case let .columnsNotIncreasing(t, r, p, f): return "tensor \(t): row \(r) column indices are not sorted (\(f) after \(p))"
        case let .duplicateColumnIndex(t, r, i): return "tensor \(t): row \(r) has column index \(i) twice"
        case let .storedZeroValue(t, p): return "tensor \(t): stored value \(p) is +0.0; sparse encodings store nonzeros only"
        case let .bitmaskPaddingNotZero(t): return "tensor \(t): bitmask has bits set past the last element"
        case let .unknownOperator(l, op): return "layer \(l): unknown operator \(op)"
        case let .invalidLayerName(n): return "invalid layer name \"\(n)\": names must be non-empty, unique and not \"input\""
        case let .duplicateLayerName(n): return "layer name \(n) appears twice"
        case let .unknownLayerInput(l, i): return "layer \(l) takes input \(i), which is neither \"input\" nor an earlier layer"
        case let .wrongInputCount(l, e, f): return "layer \(l) needs \(e) inputs, has \(f)"
        case let .missingTensor(l, t): return "layer \(l) names tensor \(t), which the file does not hold"
        case let .tensorShapeMismatch(l, t, e, f): return "layer \(l): tensor \(t) should have shape \(e), has \(f)"
        case let .incompatibleInputShape(l, r): return "layer \(l): \(r)"
        case let .invalidLayerAttribute(l, a, r): return "layer \(l): \(a) \(r)"
        case let .layerShapeMismatch(l, d, i): return "layer \(l): declared output shape \(d), but its inputs and tensors give \(i)"
        case let .unknownOutputLayer(n): return "output layer \(n) is not a layer of the graph"
        case let .invalidInputSpec(r): return "input specification is invalid: \(r)"
        case let .classCountMismatch(c, o): return "\(c) class names for a model with \(o) outputs"
        }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { b in
        let s = String(b, radix: 16, uppercase: true)
        return s.count == 1 ? "0" + s : s
    }.joined(separator: " ")
}

func hex(_ value: UInt64) -> String {
    "0x" + String(value, radix: 16, uppercase: true)
}
