import Foundation
import Testing
import GraftTensor
@testable import GraftTrain

@Suite struct BundledDataTests {
    @Test func loadsAndVerifiesEveryDomain() throws {
        let domains = try DigitDomains.load(from: bundledDataFolder)
        #expect(domains.mnist.count == 4000 && domains.fonts.count == 720 && domains.optdigits.count == 1797)
        #expect(domains.mnist.classCounts == Array(repeating: 400, count: 10))
        #expect(domains.fonts.classCounts == Array(repeating: 72, count: 10))
        #expect(domains.optdigits.classCounts.allSatisfy { (170...190).contains($0) })
        #expect(domains.fontFaces.count == 72)
        for d in [domains.mnist, domains.fonts, domains.optdigits] {
            #expect(d.side == 16 && d.images.shape == [d.count, 256])
            let (lo, hi) = d.images.withUnsafeBufferPointer { ($0.min() ?? -1, $0.max() ?? -1) }
            #expect(lo == 0 && hi == 1, "\(d.name) pixels span [0, 1]")
        }
    }

    /// Every file of the folder is covered by SHA256SUMS, and a corrupted copy is refused.
    @Test func corruptedCopyIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        for name in try FileManager.default.contentsOfDirectory(atPath: bundledDataFolder.path) {
            try FileManager.default.copyItem(at: bundledDataFolder.appendingPathComponent(name), to: dir.file(name))
        }
        var bytes = try FileBytes.read(dir.file("fonts-labels-idx1-ubyte"))
        bytes[100] ^= 1
        try Data(bytes).write(to: dir.file("fonts-labels-idx1-ubyte"))
        do {
            _ = try DigitDomains.load(from: dir.url)
            Issue.record("a flipped byte was not detected")
        } catch let error as DataError {
            guard case let .checksumMismatch(file, _, _) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(file.hasSuffix("fonts-labels-idx1-ubyte"))
        }
    }

    @Test func locatorFindsTheFolder() throws {
        let root = bundledDataFolder.deletingLastPathComponent().deletingLastPathComponent()
        let expected = bundledDataFolder.standardizedFileURL.path
        // Explicit path: the folder itself, or a package root.
        #expect(try DataLocator.locate(explicitPath: bundledDataFolder.path, environment: [:]).path == expected)
        #expect(try DataLocator.locate(explicitPath: root.path, environment: [:]).path == expected)
        #expect(try DataLocator.locate(explicitPath: "Data/digits16", environment: [:], currentDirectory: root.path).path == expected)
        #expect(throws: DataError.self) {
            try DataLocator.locate(explicitPath: "/nonexistent/graft", environment: ["GRAFT_DATA": bundledDataFolder.path])
        }
        // Environment variable.
        #expect(try DataLocator.locate(environment: ["GRAFT_DATA": bundledDataFolder.path], executablePath: nil).path == expected)
        // Upward search from a subfolder of the package.
        let sub = root.appendingPathComponent("Sources/GraftTrain/Images").path
        #expect(try DataLocator.locate(environment: [:], currentDirectory: sub, executablePath: nil).path == expected)
        // Upward search from the executable's folder.
        let exe = root.appendingPathComponent(".build/release/some-tool").path
        #expect(try DataLocator.locate(environment: [:], currentDirectory: "/", executablePath: exe).path == expected)
    }

    @Test func locatorListsWhereItLooked() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        do {
            _ = try DataLocator.locate(environment: [:], currentDirectory: dir.url.path, executablePath: nil)
            Issue.record("found data in an empty temporary folder")
        } catch let DataError.dataNotFound(searched) {
            #expect(searched.first == dir.url.appendingPathComponent("Data/digits16").standardizedFileURL.path)
            #expect(searched.contains("/Data/digits16"))
        }
        // A wrong GRAFT_DATA is reported, not silently ignored.
        do {
            _ = try DataLocator.locate(environment: ["GRAFT_DATA": dir.url.path], currentDirectory: "/", executablePath: nil)
            Issue.record("a wrong GRAFT_DATA was ignored")
        } catch let error as DataError {
            #expect(error.description.contains(dir.url.path) && error.description.contains("GRAFT_DATA"))
        }
    }
}

@Suite struct DatasetTests {
    @Test func subsetAndClassIndices() throws {
        let d = try syntheticDataset(perClass: [3, 2, 4])
        #expect(d.classCounts == [3, 2, 4])
        for (label, indices) in d.indicesByClass.enumerated() {
            #expect(indices.allSatisfy { d.labels[$0] == label })
        }
        let s = try d.subset([4, 0, 4])
        #expect(s.labels == [d.labels[4], d.labels[0], d.labels[4]])
        #expect(try s.image(at: 1) == d.image(at: 0))
        #expect(throws: DataError.indexOutOfRange(index: 9, count: 9)) { try d.subset([0, 9]) }
        #expect(throws: DataError.indexOutOfRange(index: -1, count: 9)) { try d.image(at: -1) }
    }

    @Test func invariantsAreChecked() throws {
        #expect(throws: DataError.self) {
            try DigitDataset(name: "bad", images: Tensor(zeros: [2, 15]), labels: [0, 1], side: 4)
        }
        #expect(throws: DataError.self) {
            try DigitDataset(name: "bad", images: Tensor(zeros: [2, 16]), labels: [0, 10], side: 4)
        }
        #expect(throws: DataError.nonSquareImages(file: "i", rows: 2, columns: 3)) {
            try DigitDataset(name: "r", images: IDXImages(count: 1, rows: 2, columns: 3, pixels: [0, 0, 0, 0, 0, 0]),
                             labels: [1], imagesFile: "i")
        }
    }

    @Test func concatenation() throws {
        let a = try syntheticDataset(perClass: [1, 1], seed: 1)
        let b = try syntheticDataset(perClass: [2, 0], seed: 2)
        let c = try DigitDataset.concatenating([a, b])
        #expect(c.count == 4 && c.labels == a.labels + b.labels && c.images.scalars == a.images.scalars + b.images.scalars)
        #expect(c.name == "synthetic+synthetic")
    }
}

@Suite struct SplitTests {
    @Test func optdigitsProtocolSplit() throws {
        let optdigits = try DigitDomains.load(from: bundledDataFolder).optdigits
        let split = try DatasetSplit(optdigits, seed: 3)
        #expect(split.train.classCounts == Array(repeating: 50, count: 10))
        #expect(split.validation.classCounts == Array(repeating: 20, count: 10))
        #expect(split.test.count == optdigits.count - 700)
        let all = split.trainIndices + split.validationIndices + split.testIndices
        #expect(Set(all).count == all.count, "parts are disjoint")
        #expect(Set(all) == Set(0..<optdigits.count), "parts cover the data set")
        #expect(split.train.labels == split.trainIndices.map { optdigits.labels[$0] })
    }

    @Test func seededAndConfigurable() throws {
        let d = try syntheticDataset(perClass: [10, 12, 9])
        let a = try DatasetSplit(d, trainPerClass: 3, validationPerClass: 2, testPerClass: 4, seed: 7)
        let b = try DatasetSplit(d, trainPerClass: 3, validationPerClass: 2, testPerClass: 4, seed: 7)
        let c = try DatasetSplit(d, trainPerClass: 3, validationPerClass: 2, testPerClass: 4, seed: 8)
        #expect(a.trainIndices == b.trainIndices && a.testIndices == b.testIndices)
        #expect(a.trainIndices != c.trainIndices)
        #expect(a.train.classCounts == [3, 3, 3] && a.validation.classCounts == [2, 2, 2] && a.test.classCounts == [4, 4, 4])
        #expect(Set(a.trainIndices).isDisjoint(with: a.validationIndices) && Set(a.trainIndices).isDisjoint(with: a.testIndices)
                && Set(a.validationIndices).isDisjoint(with: a.testIndices))
    }

    @Test func tooFewSamples() throws {
        let d = try syntheticDataset(perClass: [10, 6, 9])
        #expect(throws: DataError.notEnoughSamples(label: 1, available: 6, required: 7)) {
            try DatasetSplit(d, trainPerClass: 4, validationPerClass: 2, testPerClass: 1, seed: 1)
        }
        #expect(throws: DataError.notEnoughSamples(label: 1, available: 6, required: 7)) {
            try DatasetSplit(d, trainPerClass: 4, validationPerClass: 2, seed: 1)  // no sample left for test
        }
    }
}
