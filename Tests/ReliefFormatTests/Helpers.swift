import Foundation
import ReliefFormat
import ReliefRandom
import Testing

/// The repository's root folder, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The name of an error's enum case, such as `badMagic`.
func caseName(_ error: RLFError) -> String {
    Mirror(reflecting: error).children.first?.label ?? "\(error)"
}

/// The error `body` throws, or nil.
func rlfError(_ body: () throws -> Void) -> RLFError? {
    do {
        try body()
    } catch let error as RLFError {
        return error
    } catch {
        Issue.record("expected an RLFError, got \(error)")
    }
    return nil
}

/// A one-layer model holding `tensors`; the first is the layer's weight when it is a matrix.
func model(_ tensors: [RLFTensor]) -> RLFModel {
    let arch = RLFMetadata.Architecture(name: "test", input: .init(shape: [1], normalization: .unitBytes),
                                        layers: [.init(name: "relu", op: .relu, inputs: ["input"], outputShape: [1])],
                                        output: "relu")
    return RLFModel(metadata: .init(architecture: arch, provenance: .init(method: "test", toolVersion: "tests")),
                    tensors: tensors)
}

/// A temporary folder removed when the returned closure is called.
func temporaryFolder() -> (String, () -> Void) {
    let path = NSTemporaryDirectory() + "relief-tests-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return (path, { try? FileManager.default.removeItem(atPath: path) })
}

/// A random tensor of the given shape with about `density` nonzeros, sprinkled with the bit patterns
/// a lossless format must keep: -0.0, subnormals, infinities and NaNs with payloads.
func randomTensor(name: String, shape: [Int], density: Double, using g: inout SeededGenerator) -> RLFTensor {
    let (rows, columns) = RLFTensor.matrixView(of: shape)
    var values = RandomWeights.sparse(rows: rows, columns: columns, density: density, using: &g)
    let specials: [Float] = [-0.0, Float(bitPattern: 1), -Float.infinity, Float(bitPattern: 0x7FC0_1234), .greatestFiniteMagnitude]
    for i in values.indices where values[i] != 0 && g.next() % 50 == 0 {
        values[i] = specials[Int(g.next() % UInt64(specials.count))]
    }
    return RLFTensor(name: name, shape: shape, values: values)
}
