import CBLAS
import CReliefSIMD
import Foundation

extension DenseBLAS {
    /// The CPU kernels OpenBLAS picked when it loaded (its "core": Haswell, SkylakeX, Zen, ...).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS cores whose kernels use AVX2 and FMA or wider vectors.
    static let vectorCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]

    /// The `OPENBLAS_CORETYPE` that would give this CPU's vector kernels, when OpenBLAS fell back to
    /// older ones: a release that predates the CPU (Debian 12's 0.3.21 takes an Emerald Rapids Xeon
    /// for a Prescott and runs SSE3 kernels, about 3x slower on dense layers). Nil when the core is
    /// already a vector one, when `OPENBLAS_CORETYPE` is set (the user's choice stands) or when the
    /// CPU has no AVX2 and FMA.
    public static func fasterCoreType(core: String = coreName, environment: [String: String] = ProcessInfo.processInfo.environment,
                                      avx2FMA: Bool = relief_simd_avx2_fma() != 0, avx512: Bool = relief_simd_avx512() != 0) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, avx2FMA, !vectorCores.contains(core.lowercased()) else { return nil }
        return avx512 ? "SkylakeX" : "Haswell"
    }
}
