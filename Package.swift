// swift-tools-version: 6.0
//
// Graft: composable gradient transforms for robust fine-tuning.
// Dependencies point one way: GraftTensor ← GraftSafetensors ← GraftNN ← GraftOptim ← GraftTrain ← Examples.
// GraftBenchmarking (GraftTensor, GraftOptim) sits beside GraftTrain: graft-bench, `graft bench` and the
// BenchmarkYourTransform example use it; no library module depends on it.
// No package dependencies: only the toolchain and Debian's OpenBLAS and Open MPI (system libraries;
// only GraftDistributed and the programs using it link MPI).

import PackageDescription

let package = Package(
    name: "Graft",
    products: [
        .library(name: "Graft", targets: ["Graft"]),
        .library(name: "GraftTensor", targets: ["GraftTensor"]),
        .library(name: "GraftOptim", targets: ["GraftOptim"]),
        .library(name: "GraftSafetensors", targets: ["GraftSafetensors"]),
        // The transform laws, for authors of transforms in other packages (framework-neutral: the laws throw).
        .library(name: "GraftTesting", targets: ["GraftTesting"]),
        .library(name: "GraftBenchmarking", targets: ["GraftBenchmarking"]),
        .executable(name: "graft", targets: ["graft"]),
    ],
    targets: [
        // MARK: - System and C support

        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "CGraftSupport"),
        // Open MPI (Debian's libopenmpi-dev): only GraftDistributed and the programs using it link it.
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),

        // MARK: - Library modules

        .target(name: "GraftTensor", dependencies: ["COpenBLAS", "CGraftSupport"]),
        .target(name: "GraftNN", dependencies: ["GraftTensor"]),
        .target(name: "GraftSafetensors", dependencies: ["GraftTensor"]),
        .target(name: "GraftOptim", dependencies: ["GraftTensor", "CGraftSupport"]),
        .target(name: "GraftTrain", dependencies: ["GraftTensor", "GraftNN", "GraftOptim", "GraftSafetensors"]),
        .target(name: "GraftDistributed", dependencies: ["CMPI", "GraftTensor", "GraftOptim", "GraftTrain"]),
        .target(name: "GraftTesting", dependencies: ["GraftOptim", "GraftTensor"]),
        // Benchmark any GradientTransform (timing, statistics, byte models, layouts, graft-bench/1 JSON).
        .target(name: "GraftBenchmarking", dependencies: ["GraftTensor", "GraftOptim"]),
        .target(name: "Graft", dependencies: ["GraftTensor", "GraftNN", "GraftOptim", "GraftSafetensors", "GraftTrain"]),

        // MARK: - Command-line tool

        .executableTarget(name: "graft", dependencies: ["GraftOptim", "GraftBenchmarking"]),
        // Doc snippets: extracts the ```swift snippets of doc comments and the README into a test file.
        .target(name: "DocSnippetExtraction", path: "Tools/DocSnippetExtraction"),
        .executableTarget(name: "extract-doc-snippets", dependencies: ["DocSnippetExtraction"], path: "Tools/extract-doc-snippets"),

        // MARK: - Examples

        .executableTarget(name: "RobustFineTune", dependencies: ["Graft", "GraftDistributed"], path: "Examples/RobustFineTune"),
        .executableTarget(name: "QuickStart", dependencies: ["Graft"], path: "Examples/QuickStart"),
        .executableTarget(name: "NNQuickStart", dependencies: ["Graft"], path: "Examples/NNQuickStart"),
        .executableTarget(name: "LoRAFineTune", dependencies: ["Graft"], path: "Examples/LoRAFineTune"),
        .executableTarget(name: "MultiTaskPCGrad", dependencies: ["Graft", "GraftDistributed"], path: "Examples/MultiTaskPCGrad"),
        // CustomTransform: the user-written transform is a small library (so the law tests can
        // import it); the executable next to it is the training demo.
        .target(name: "GradientNoiseExample", dependencies: ["GraftOptim"], path: "Examples/CustomTransform/GradientNoise"),
        .executableTarget(name: "CustomTransform", dependencies: ["Graft", "GradientNoiseExample"],
                          path: "Examples/CustomTransform", exclude: ["GradientNoise"]),
        // Benchmarks the CustomTransform example's transform against Adam (GraftBenchmarking's comparison mode).
        .executableTarget(name: "BenchmarkYourTransform", dependencies: ["GraftBenchmarking", "GraftOptim", "GradientNoiseExample"],
                          path: "Examples/BenchmarkYourTransform"),

        // MARK: - Benchmarks

        // The benchmark's C floors (plain fused loops; AVX2+FMA through function multiversioning, no flags).
        .target(name: "CGraftFloors", path: "Benchmarks/CGraftFloors"),
        .executableTarget(name: "graft-bench",
                          dependencies: ["GraftNN", "GraftOptim", "GraftTensor", "GraftTrain", "GradientNoiseExample", "CGraftFloors", "GraftBenchmarking"],
                          path: "Benchmarks/GraftBench"),
        .executableTarget(name: "distributed-bench", dependencies: ["GraftDistributed", "GraftOptim", "GraftTensor"], path: "Benchmarks/DistributedBench"),
        .executableTarget(name: "safetensors-bench", dependencies: ["GraftSafetensors", "GraftTensor"], path: "Benchmarks/SafetensorsBench"),

        // MARK: - Tests

        .target(name: "GraftTestSupport", dependencies: ["GraftTensor"], path: "Tests/GraftTestSupport"),
        .testTarget(name: "GraftTensorTests", dependencies: ["GraftTensor", "GraftTestSupport"]),
        .testTarget(name: "GraftNNTests", dependencies: ["GraftNN", "GraftTestSupport"]),
        .testTarget(name: "GraftOptimTests", dependencies: ["GraftOptim", "GraftTesting", "GraftTestSupport"]),
        .testTarget(name: "GraftSafetensorsTests", dependencies: ["GraftSafetensors", "GraftTestSupport"]),
        .testTarget(name: "GraftTrainTests", dependencies: ["GraftTrain", "GraftSafetensors", "GraftTestSupport"]),
        .testTarget(name: "GraftDistributedTests", dependencies: ["GraftDistributed", "GraftTrain", "GraftOptim", "GraftTestSupport"]),
        // Compiles every doc-comment and README snippet (generated file) and checks it is up to date.
        .testTarget(name: "DocSnippetTests", dependencies: ["DocSnippetExtraction", "Graft", "GraftTesting", "GraftDistributed"]),
        .testTarget(name: "GraftBenchmarkingTests", dependencies: ["GraftBenchmarking", "GraftOptim", "GraftTensor", "GraftTestSupport"]),
        .testTarget(name: "CustomTransformExampleTests", dependencies: ["GradientNoiseExample", "GraftOptim", "GraftTesting"]),
    ],
    swiftLanguageModes: [.v6]
)
