/// A small, fast, seeded random generator (xoshiro256**, seeded through SplitMix64), so every
/// run that names a seed is repeatable.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform float in [0, 1).
    public mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A standard normal float (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) * 0x1p-53, Double.leastNonzeroMagnitude)
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }
}

/// Random weight matrices for tests and benchmarks.
public enum RandomWeights {
    /// A row-major `rows x columns` matrix of normal values with standard deviation `std`, in which
    /// each element is kept with probability `density` and is otherwise exactly zero.
    public static func sparse(rows: Int, columns: Int, density: Double, std: Float = 0.05,
                              using g: inout SeededGenerator) -> [Float] {
        var out = [Float](repeating: 0, count: rows * columns)
        for i in out.indices where Double(g.unit()) < density {
            var v: Float = 0
            while v == 0 { v = g.normal() * std }
            out[i] = v
        }
        return out
    }
}

import Foundation
@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }
