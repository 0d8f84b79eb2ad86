/// Labelled images of one split, pixels as bytes in N x C x H x W order.
public struct ImageSet: Sendable {
    public var count: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    public var pixels: [UInt8]
    public var labels: [UInt8]
    public var classCount: Int

    public init(channels: Int, height: Int, width: Int, pixels: [UInt8], labels: [UInt8], classCount: Int) {
        precondition(pixels.count == labels.count * channels * height * width, "pixel count does not match the labels")
        self.count = labels.count
        self.channels = channels
        self.height = height
        self.width = width
        self.pixels = pixels
        self.labels = labels
        self.classCount = classCount
    }

    public var imageSize: Int { channels * height * width }

    /// The pixels of image `i`.
    public func image(_ i: Int) -> ArraySlice<UInt8> {
        pixels[i * imageSize..<(i + 1) * imageSize]
    }

    /// How many examples each class has.
    public func labelHistogram() -> [Int] {
        var h = [Int](repeating: 0, count: classCount)
        for l in labels { h[Int(l)] += 1 }
        return h
    }

    /// Mean pixel of each channel, scaled to [0, 1).
    public func channelMeans() -> [Double] {
        var sums = [Double](repeating: 0, count: channels)
        let plane = height * width
        for i in 0..<count {
            for c in 0..<channels {
                let start = i * imageSize + c * plane
                var s = 0
                for p in pixels[start..<start + plane] { s += Int(p) }
                sums[c] += Double(s)
            }
        }
        let n = Double(max(count, 1) * plane) * 256
        return sums.map { $0 / n }
    }

    /// Images and labels from IDX files: images `[N, H, W]` bytes, labels `[N]` below `classCount`.
    public static func fromIDX(images imagePath: String, labels labelPath: String, height: Int, width: Int,
                               classCount: Int) throws(DataError) -> ImageSet {
        let images = try IDXArray.read(path: imagePath)
        guard images.dimensions.count == 3, images.dimensions[1] == height, images.dimensions[2] == width else {
            throw .unexpectedShape(path: imagePath, expected: "images of [N, \(height), \(width)]", found: images.dimensions)
        }
        let labels = try IDXArray.read(path: labelPath)
        guard labels.dimensions.count == 1 else {
            throw .unexpectedShape(path: labelPath, expected: "labels of [N]", found: labels.dimensions)
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw .countMismatch(images: images.dimensions[0], labels: labels.dimensions[0])
        }
        try checkLabels(labels.bytes, classCount: classCount, path: labelPath)
        return ImageSet(channels: 1, height: height, width: width, pixels: images.bytes, labels: labels.bytes, classCount: classCount)
    }

    static func checkLabels(_ labels: [UInt8], classCount: Int, path: String) throws(DataError) {
        if let i = labels.firstIndex(where: { Int($0) >= classCount }) {
            throw .labelOutOfRange(path: path, index: i, label: Int(labels[i]), classes: classCount)
        }
    }
}
