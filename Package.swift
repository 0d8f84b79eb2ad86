// swift-tools-version: 6.0
// Relief: NNrelief pruning and a sparse inference runtime.
//
// Layers, dependencies pointing one way:
//   C system libraries (CBLAS, CZstd, CZlib, CCXSparse, CCHOLMOD)
//     -> ReliefFormat (.rlf files; zstd only)      ReliefData (IDX / CIFAR data sets; zlib only)
//     -> ReliefKernels (dense BLAS, sparse kernels) -> ReliefKernelsCHOLMOD (GPL-2.0+, optional)
//     -> runtime / training / pruning modules (added by their issues)
//     -> thin command-line tools (relief-*) on swift-argument-parser, sharing ReliefCLISupport.
import PackageDescription

/// The kernels and the runtime are the hot loops of every test too: optimise them in debug builds as well.
let optimizedEvenInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let cli: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "Relief",
    products: [
        .library(name: "ReliefFormat", targets: ["ReliefFormat"]),
        .library(name: "ReliefData", targets: ["ReliefData"]),
        .library(name: "ReliefKernels", targets: ["ReliefKernels"]),
        .library(name: "ReliefTraining", targets: ["ReliefTraining"]),
        .library(name: "ReliefRuntime", targets: ["ReliefRuntime"]),
        .library(name: "ReliefONNX", targets: ["ReliefONNX"]),
        .executable(name: "relief-train", targets: ["relief-train"]),
        .executable(name: "relief-prune", targets: ["relief-prune"]),
        .executable(name: "relief-export", targets: ["relief-export"]),
        .executable(name: "relief-infer", targets: ["relief-infer"]),
        .executable(name: "relief-neurons", targets: ["relief-neurons"]),
        .executable(name: "relief-inspect", targets: ["relief-inspect"]),
        .executable(name: "relief-bench", targets: ["relief-bench"]),
        .executable(name: "relief-data", targets: ["relief-data"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C system libraries, each a module map plus a shim header.
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCXSparse", providers: [.apt(["libsuitesparse-dev"])]),
        .systemLibrary(name: "CCHOLMOD", providers: [.apt(["libsuitesparse-dev"])]),

        // AVX2+FMA variants of the hottest kernel loops, chosen at run time (C: Swift has no per-function target).
        .target(name: "CReliefSIMD", cSettings: [.unsafeFlags(["-O3"])]),

        // Seeded random numbers for tests, benchmarks and (later) training.
        .target(name: "ReliefRandom"),
        // The .rlf model format. Knows nothing of kernels, runtime or training.
        .target(name: "ReliefFormat", dependencies: ["CZstd"]),
        // Data set readers (IDX, CIFAR binary) and the registry of known data sets.
        .target(name: "ReliefData", dependencies: ["CZlib"]),
        // Compute kernels: dense OpenBLAS and sparse (CSR, CXSparse).
        .target(name: "ReliefKernels", dependencies: ["ReliefFormat", "CBLAS", "CCXSparse", "CReliefSIMD"], swiftSettings: optimizedEvenInDebug),
        // CHOLMOD-backed kernels live apart: CHOLMOD's MatrixOps module is GPL-2.0+.
        .target(name: "ReliefKernelsCHOLMOD", dependencies: ["ReliefFormat", "ReliefKernels", "CCHOLMOD"]),
        // The training engine: layers with forward and backward passes, optimisers, the model zoo,
        // checkpoints. Depends on kernels (BLAS) and data, never on the runtime.
        .target(name: "ReliefTraining", dependencies: ["ReliefKernels", "ReliefData", "ReliefRandom", "ReliefFormat"]),
        // Pruning: NNrelief and the baselines, on the training engine's masks.
        .target(name: "ReliefPruning", dependencies: ["ReliefTraining", "ReliefKernels", "ReliefRandom", .product(name: "Yams", package: "Yams")]),
        // From a trained or pruned network to an .rlf model and back (the reference for checks).
        .target(name: "ReliefExport", dependencies: ["ReliefFormat", "ReliefTraining", "ReliefData"]),
        // The sparse inference runtime: executes .rlf models with the kernel table. Never depends on training.
        .target(name: "ReliefRuntime", dependencies: ["ReliefFormat", "ReliefKernels", "ReliefData", "CReliefSIMD"], swiftSettings: optimizedEvenInDebug),
        // ONNX: Relief models to and from the standard interchange format (protobuf written by hand).
        .target(name: "ReliefONNX", dependencies: ["ReliefFormat"]),
        // What every command-line tool shares: error reporting, exit codes, progress bars, JSON.
        .target(name: "ReliefCLISupport", dependencies: [
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Thin command-line tools.
        .executableTarget(name: "relief-train", dependencies: ["ReliefTraining", "ReliefData", "ReliefKernels", "ReliefCLISupport", cli]),
        .executableTarget(name: "relief-prune", dependencies: ["ReliefPruning", "ReliefTraining", "ReliefData", "ReliefKernels", "ReliefCLISupport", cli]),
        .executableTarget(name: "relief-export", dependencies: ["ReliefExport", "ReliefRuntime", "ReliefONNX", "ReliefFormat", "ReliefTraining", "ReliefData", "ReliefKernels", "ReliefCLISupport", cli]),
        .executableTarget(name: "relief-neurons", dependencies: ["ReliefPruning", "ReliefTraining", "ReliefData", "ReliefKernels", "ReliefCLISupport", cli]),
        // Release builds link the Swift runtime and Foundation statically: the binary runs where only
        // Debian's C libraries are installed, and a whole `relief-infer` process skips resolving
        // the Swift libraries' symbols at start (LeNet-300-100 on one image: about 25 -> 17 ms).
        .executableTarget(name: "relief-infer", dependencies: ["ReliefRuntime", "ReliefFormat", "ReliefKernels", "ReliefData", "ReliefCLISupport", cli],
                          swiftSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))],
                          linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(configuration: .release))]),
        .executableTarget(name: "relief-inspect", dependencies: ["ReliefFormat", "ReliefCLISupport", cli]),
        .executableTarget(name: "relief-bench", dependencies: ["ReliefRuntime", "ReliefKernelsCHOLMOD", "ReliefPruning", "ReliefExport", "ReliefFormat", "ReliefRandom", "ReliefTraining", "ReliefData", "ReliefKernels", "ReliefCLISupport", cli]),
        .executableTarget(name: "relief-data", dependencies: ["ReliefData", "ReliefFormat", "ReliefCLISupport", cli]),

        // Tests, and what several test targets share.
        .target(name: "ReliefTestSupport", dependencies: ["ReliefData", "ReliefRandom"], path: "Tests/ReliefTestSupport"),
        .testTarget(name: "ReliefFormatTests", dependencies: ["ReliefFormat", "ReliefRandom"]),
        .testTarget(name: "ReliefDataTests", dependencies: ["ReliefData", "ReliefRandom"]),
        .testTarget(name: "ReliefKernelsTests", dependencies: ["ReliefKernels", "ReliefKernelsCHOLMOD", "ReliefRandom"]),
        .testTarget(name: "ReliefCLITests", dependencies: ["ReliefFormat", "ReliefKernels"]),
        .testTarget(name: "ReliefTrainingTests", dependencies: ["ReliefTraining", "ReliefRandom", "ReliefTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ReliefPruningTests", dependencies: ["ReliefPruning", "ReliefTraining", "ReliefData", "ReliefRandom", "ReliefTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ReliefRuntimeTests", dependencies: ["ReliefRuntime", "ReliefExport", "ReliefTraining", "ReliefFormat", "ReliefKernels", "ReliefKernelsCHOLMOD", "ReliefRandom"]),
        .testTarget(name: "ReliefONNXTests", dependencies: ["ReliefONNX", "ReliefRuntime", "ReliefFormat", "ReliefRandom"], exclude: ["Fixtures"]),
        .testTarget(name: "ReliefExportTests", dependencies: ["ReliefExport", "ReliefPruning", "ReliefTraining", "ReliefFormat", "ReliefRandom"]),
    ]
)

