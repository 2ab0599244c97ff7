// swift-tools-version: 6.0
//
// Graft: composable gradient transforms for robust fine-tuning.
// Dependencies point one way: GraftTensor ← GraftNN ← GraftOptim ← GraftTrain ← Examples.
// No package dependencies: only the toolchain and Debian's OpenBLAS (a system library).

import PackageDescription

let package = Package(
    name: "Graft",
    products: [
        .library(name: "Graft", targets: ["Graft"]),
        .library(name: "GraftTensor", targets: ["GraftTensor"]),
        .library(name: "GraftOptim", targets: ["GraftOptim"]),
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

        // MARK: - Library modules

        .target(name: "GraftTensor", dependencies: ["COpenBLAS", "CGraftSupport"]),
        .target(name: "GraftOptim", dependencies: ["GraftTensor"]),
        .target(name: "Graft", dependencies: ["GraftTensor", "GraftOptim"]),

        // MARK: - Command-line tool

        .executableTarget(name: "graft", dependencies: ["GraftOptim"]),

        // MARK: - Examples

        .executableTarget(name: "QuickStart", dependencies: ["Graft"], path: "Examples/QuickStart"),

        // MARK: - Benchmarks

        .executableTarget(name: "graft-bench", dependencies: ["GraftOptim", "GraftTensor"], path: "Benchmarks/GraftBench"),

        // MARK: - Tests

        .target(name: "GraftTestSupport", dependencies: ["GraftTensor"], path: "Tests/GraftTestSupport"),
        .testTarget(name: "GraftTensorTests", dependencies: ["GraftTensor", "GraftTestSupport"]),
        .testTarget(name: "GraftOptimTests", dependencies: ["GraftOptim", "GraftTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
