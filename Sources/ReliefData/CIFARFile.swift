/// The binary versions of CIFAR-10 and CIFAR-100: fixed-size records of label bytes then
/// 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32 x 32 row-major).
public enum CIFARFile {
    public enum Variant: Sendable {
        /// One label byte (0-9) per record.
        case cifar10
        /// A coarse label byte (0-19) then a fine label byte (0-99); the fine label is used.
        case cifar100

        var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        public var classCount: Int { self == .cifar10 ? 10 : 100 }
        var recordSize: Int { labelBytes + 3072 }
    }

    /// Reads and concatenates batch files (plain or gzip'd).
    public static func read(paths: [String], variant: Variant) throws(DataError) -> ImageSet {
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for path in paths {
            let data = try FileBytes.read(path)
            let set = try parse(data, variant: variant, path: path)
            pixels += set.pixels
            labels += set.labels
        }
        return ImageSet(channels: 3, height: 32, width: 32, pixels: pixels, labels: labels, classCount: variant.classCount)
    }

    /// Parses one batch file's bytes.
    public static func parse(_ data: [UInt8], variant: Variant, path: String) throws(DataError) -> ImageSet {
        let record = variant.recordSize
        guard data.count % record == 0 else {
            throw .cifarLengthMismatch(path: path, recordSize: record, found: data.count)
        }
        let n = data.count / record
        var pixels = [UInt8]()
        pixels.reserveCapacity(n * 3072)
        var labels = [UInt8]()
        labels.reserveCapacity(n)
        for i in 0..<n {
            let start = i * record
            if variant == .cifar100 {
                let coarse = data[start]
                guard coarse < 20 else { throw .labelOutOfRange(path: path, index: i, label: Int(coarse), classes: 20) }
            }
            labels.append(data[start + variant.labelBytes - 1])
            pixels.append(contentsOf: data[(start + variant.labelBytes)..<(start + record)])
        }
        try ImageSet.checkLabels(labels, classCount: variant.classCount, path: path)
        return ImageSet(channels: 3, height: 32, width: 32, pixels: pixels, labels: labels, classCount: variant.classCount)
    }
}
