import CBLAS
import CReliefSIMD
import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
    /// CPU has no AVX2 and FMA. SkylakeX needs AVX-512 F, CD, BW, DQ and VL (`avx512`), else Haswell.
    public static func fasterCoreType(core: String = coreName, environment: [String: String] = ProcessInfo.processInfo.environment,
                                      avx2FMA: Bool = relief_simd_avx2_fma() != 0, avx512: Bool = relief_simd_avx512_skylake() != 0) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, avx2FMA, !vectorCores.contains(core.lowercased()) else { return nil }
        return avx512 ? "SkylakeX" : "Haswell"
    }

    /// Switches this process's OpenBLAS to `core`'s kernels (and sets `OPENBLAS_CORETYPE` to it, for
    /// child processes), through the entry points its dynamic-architecture builds export
    /// (`gotoblas_dynamic_quit` forgets the core chosen at load, `gotoblas_dynamic_init` chooses
    /// again and reads the variable), looked up at run time so that a build without them only makes
    /// this return false. Only before the first BLAS call and while no other thread uses OpenBLAS:
    /// the kernel table is briefly unset. True when OpenBLAS reports the new core afterwards.
    /// `RELIEF_BLAS_SWITCH=restart` makes it return false untouched (tests of the restart).
    public static func switchCore(to core: String) -> Bool {
        guard ProcessInfo.processInfo.environment["RELIEF_BLAS_SWITCH"] != "restart",
              let quit = dlsym(nil, "gotoblas_dynamic_quit"), let choose = dlsym(nil, "gotoblas_dynamic_init") else { return false }
        typealias EntryPoint = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", core, 1)
        unsafeBitCast(quit, to: EntryPoint.self)()
        unsafeBitCast(choose, to: EntryPoint.self)()
        return coreName.lowercased() == core.lowercased()
    }

    /// What every command that links OpenBLAS runs first: where OpenBLAS took older kernels than
    /// this CPU runs (`fasterCoreType`), switch to the faster ones in place, or failing that return
    /// the core type to restart the process with (nil: nothing to do).
    public static func useFasterCore() -> String? {
        guard let core = fasterCoreType() else { return nil }
        return switchCore(to: core) ? nil : core
    }
}
