import Foundation
import GraftTensor
@testable import GraftTrain

/// A fresh temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("graft-train-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func write(_ bytes: [UInt8], to name: String) throws -> URL {
        let target = file(name)
        try Data(bytes).write(to: target)
        return target
    }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// The package's `Data/digits16` folder, found from this source file's path.
let bundledDataFolder: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // GraftTrainTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // package root
    .appendingPathComponent("Data/digits16")

/// A random 16×16 image with pixels in [0, 1] and a black border row (digit-like enough
/// for property tests).
func randomImage(seed: UInt64, side: Int = 16) throws -> SquareImage {
    var g = SeededGenerator(seed: seed)
    return try SquareImage(side: side, pixels: (0..<(side * side)).map { _ in g.nextFloat() })
}

/// The largest absolute difference between two equally long arrays.
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// A small synthetic data set: `perClass` images for each of `classes` labels.
func syntheticDataset(perClass: [Int], side: Int = 4, seed: UInt64 = 1) throws -> DigitDataset {
    var g = SeededGenerator(seed: seed)
    var labels = [Int]()
    for (label, n) in perClass.enumerated() { labels += Array(repeating: label, count: n) }
    g.shuffle(&labels)
    let pixels = (0..<(labels.count * side * side)).map { _ in g.nextFloat() }
    return try DigitDataset(name: "synthetic", images: Tensor(shape: [labels.count, side * side], scalars: pixels),
                            labels: labels, side: side, classCount: perClass.count)
}
