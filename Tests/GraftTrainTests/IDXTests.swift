import Foundation
import Testing
import GraftTensor
@testable import GraftTrain

/// The bytes of an IDX image header followed by `payload` bytes.
private func imageFile(magic: UInt32 = IDX.imageMagic, dims: [Int32], payload: Int) -> [UInt8] {
    var out = [UInt8]()
    for word in [magic] + dims.map({ UInt32(bitPattern: $0) }) {
        out += [UInt8(word >> 24), UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)]
    }
    return out + [UInt8](repeating: 7, count: payload)
}

@Suite struct IDXTests {
    @Test func roundTripThroughFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let pixels = (0..<(3 * 4 * 4)).map { UInt8($0 * 5) }
        let images = try IDXImages(count: 3, rows: 4, columns: 4, pixels: pixels)
        try IDX.write(images, to: dir.file("img"))
        try IDX.write(labels: [2, 0, 9], to: dir.file("lab"))
        #expect(try IDX.readImages(at: dir.file("img")) == images)
        #expect(try IDX.readLabels(at: dir.file("lab")) == [2, 0, 9])

        let dataset = try DigitDataset.load(name: "tiny", images: dir.file("img"), labels: dir.file("lab"))
        #expect(dataset.count == 3 && dataset.side == 4 && dataset.images.shape == [3, 16])
        #expect(dataset.images[1, 0] == Float(80) / 255)
        #expect(dataset.labels == [2, 0, 9])
    }

    @Test func wrongMagic() throws {
        let labelsAsImages = try IDX.encode(labels: [1, 2])
        #expect(throws: DataError.wrongMagic(file: "x.idx", expected: IDX.imageMagic, found: IDX.labelMagic)) {
            try IDX.parseImages(labelsAsImages, file: "x.idx")
        }
        let imagesAsLabels = imageFile(dims: [1, 2, 2], payload: 4)
        #expect(throws: DataError.wrongMagic(file: "y.idx", expected: IDX.labelMagic, found: IDX.imageMagic)) {
            try IDX.parseLabels(imagesAsLabels, file: "y.idx")
        }
    }

    @Test func truncatedHeader() {
        let full = imageFile(dims: [1, 2, 2], payload: 4)
        for cut in [0, 3, 4, 15] {
            #expect(throws: DataError.truncatedHeader(file: "t", expectedBytes: 16, actualBytes: cut)) {
                try IDX.parseImages(Array(full.prefix(cut)), file: "t")
            }
        }
        #expect(throws: DataError.truncatedHeader(file: "l", expectedBytes: 8, actualBytes: 6)) {
            try IDX.parseLabels([0, 0, 8, 1, 0, 0], file: "l")
        }
    }

    @Test func truncatedAndOversizedPayload() {
        #expect(throws: DataError.payloadSizeMismatch(file: "p", expectedBytes: 2 * 3 * 3, actualBytes: 17)) {
            try IDX.parseImages(imageFile(dims: [2, 3, 3], payload: 17), file: "p")
        }
        #expect(throws: DataError.payloadSizeMismatch(file: "p", expectedBytes: 18, actualBytes: 19)) {
            try IDX.parseImages(imageFile(dims: [2, 3, 3], payload: 19), file: "p")
        }
        var labels = (try? IDX.encode(labels: [1, 2, 3])) ?? []
        labels.removeLast()
        #expect(throws: DataError.payloadSizeMismatch(file: "l", expectedBytes: 3, actualBytes: 2)) {
            try IDX.parseLabels(labels, file: "l")
        }
    }

    @Test func hostileDimensions() {
        // Negative count (0xFFFFFFFF), zero side, absurd side, and a huge count with a tiny
        // payload: each is refused without allocating or overflowing.
        #expect(throws: DataError.invalidDimensions(file: "d", dimensions: [-1, 16, 16], reason: "count is negative")) {
            try IDX.parseImages(imageFile(dims: [-1, 16, 16], payload: 0), file: "d")
        }
        #expect(throws: DataError.invalidDimensions(file: "d", dimensions: [1, 0, 16], reason: "an image side is zero")) {
            try IDX.parseImages(imageFile(dims: [1, 0, 16], payload: 0), file: "d")
        }
        #expect(throws: DataError.invalidDimensions(file: "d", dimensions: [1, 16, 1 << 20],
                                                    reason: "an image side exceeds \(IDX.maximumSide)")) {
            try IDX.parseImages(imageFile(dims: [1, 16, 1 << 20], payload: 0), file: "d")
        }
        let big = Int(Int32.max)
        #expect(throws: DataError.payloadSizeMismatch(file: "d", expectedBytes: big * 32768 * 32768, actualBytes: 5)) {
            try IDX.parseImages(imageFile(dims: [Int32.max, 32768, 32768], payload: 5), file: "d")
        }
        #expect(throws: DataError.invalidDimensions(file: "l", dimensions: [-5], reason: "count is negative")) {
            try IDX.parseLabels([0, 0, 8, 1, 0xFF, 0xFF, 0xFF, 0xFB], file: "l")
        }
    }

    @Test func labelOutOfRange() throws {
        let bytes = try IDX.encode(labels: [0, 9, 10, 3])
        #expect(throws: DataError.labelOutOfRange(file: "l", index: 2, label: 10, classCount: 10)) {
            try IDX.parseLabels(bytes, file: "l")
        }
        #expect(throws: DataError.labelOutOfRange(file: "l", index: 3, label: 3, classCount: 3)) {
            try IDX.parseLabels(try IDX.encode(labels: [0, 1, 2, 3]), file: "l", classCount: 3)
        }
    }

    @Test func imageLabelCountMismatchNamesBothFiles() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try IDX.write(try IDXImages(count: 2, rows: 2, columns: 2, pixels: [UInt8](repeating: 1, count: 8)), to: dir.file("i"))
        try IDX.write(labels: [1, 2, 3], to: dir.file("l"))
        let expected = DataError.countMismatch(imagesFile: dir.file("i").path, images: 2, labelsFile: dir.file("l").path, labels: 3)
        #expect(throws: expected) {
            try DigitDataset.load(name: "m", images: dir.file("i"), labels: dir.file("l"))
        }
        #expect(expected.description.contains(dir.file("l").path))
    }

    @Test func missingFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.file("nope-idx3-ubyte").path
        #expect(throws: DataError.missingFile(file: path)) { try IDX.readImages(at: dir.file("nope-idx3-ubyte")) }
        #expect(DataError.missingFile(file: path).description.contains("nope-idx3-ubyte"))
        #expect(throws: DataError.unreadableFile(file: dir.url.path, reason: "it is a directory")) {
            try IDX.readLabels(at: dir.url)
        }
        #expect(throws: DataError.unreadableFile(file: "/dev/zero", reason: "not a regular file")) {
            try IDX.readImages(at: URL(fileURLWithPath: "/dev/zero"))
        }
        let small = try dir.write([1, 2, 3, 4], to: "small")
        #expect(throws: DataError.fileTooLarge(file: small.path, bytes: 4, limit: 3)) { try FileBytes.read(small, limit: 3) }
    }

    @Test func checksumMismatchAndUnlistedFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let labels = try dir.write(try IDX.encode(labels: [1, 2]), to: "lab")
        let images = try dir.write(imageFile(dims: [2, 2, 2], payload: 8), to: "img")
        let good = SHA256.hash(try FileBytes.read(labels)).hexString
        let wrong = String(repeating: "0", count: 64)
        let sums = try dir.write(Array("\(good)  lab\n\(wrong)  img\n".utf8), to: "SHA256SUMS")
        let list = try ChecksumList(contentsOf: sums)
        #expect(try list.readVerified(labels) == FileBytes.read(labels))
        let actual = SHA256.hash(try FileBytes.read(images)).hexString
        #expect(throws: DataError.checksumMismatch(file: images.path, expected: wrong, actual: actual)) {
            try DigitDataset.load(name: "c", images: images, labels: labels, checksums: list)
        }
        let other = try dir.write([1, 2, 3], to: "other")
        #expect(throws: DataError.checksumNotListed(file: other.path, checksumFile: sums.path)) {
            try list.readVerified(other)
        }
    }

    @Test func malformedChecksumFile() {
        #expect(throws: DataError.malformedChecksumFile(file: "S", line: 2, reason: "'abc' is not a 64-digit SHA-256")) {
            try ChecksumList(parsing: "\(String(repeating: "a", count: 64))  f\nabc  g\n", file: "S")
        }
        #expect(throws: DataError.malformedChecksumFile(file: "S", line: 1, reason: "expected 'HASH  filename'")) {
            try ChecksumList(parsing: "nospace\n", file: "S")
        }
        let binaryMode = try? ChecksumList(parsing: "# comment\n\n\(String(repeating: "A", count: 64)) *f.bin\r\n", file: "S")
        #expect(binaryMode?.digests == ["f.bin": String(repeating: "a", count: 64)])
    }

    @Test func errorsNameTheirFile() {
        let errors: [DataError] = [
            .wrongMagic(file: "F1", expected: 1, found: 2), .truncatedHeader(file: "F1", expectedBytes: 16, actualBytes: 3),
            .payloadSizeMismatch(file: "F1", expectedBytes: 4, actualBytes: 3), .labelOutOfRange(file: "F1", index: 0, label: 11, classCount: 10),
            .checksumMismatch(file: "F1", expected: "a", actual: "b"), .missingFile(file: "F1"),
            .countMismatch(imagesFile: "F1", images: 1, labelsFile: "F2", labels: 2),
        ]
        for error in errors {
            #expect(error.file == "F1")
            #expect(error.description.hasPrefix("F1"), "\(error)")
        }
        #expect(DataError.wrongMagic(file: "F", expected: 0x803, found: 0x801).description.contains("0x00000801"))
        #expect(DataError.payloadSizeMismatch(file: "F", expectedBytes: 4, actualBytes: 3).description.contains("truncated"))
        #expect(DataError.payloadSizeMismatch(file: "F", expectedBytes: 4, actualBytes: 5).description.contains("trailing"))
    }
}

/// Issue 13: symbolic links to data and checkpoint files are followed (as `FileBytes`
/// documents); a dangling link is a missing file.
@Suite("File links")
struct FileLinkTests {
    @Test func symbolicLinksAreFollowed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let target = try dir.write([1, 2, 3, 4], to: "target")
        try FileManager.default.createSymbolicLink(atPath: dir.file("link").path, withDestinationPath: target.path)
        try FileManager.default.createSymbolicLink(atPath: dir.file("link2").path, withDestinationPath: "link")
        #expect(try FileBytes.read(dir.file("link")) == [1, 2, 3, 4])
        #expect(try FileBytes.read(dir.file("link2")) == [1, 2, 3, 4])
        #expect(throws: DataError.fileTooLarge(file: dir.file("link").path, bytes: 4, limit: 3)) {
            try FileBytes.read(dir.file("link"), limit: 3)
        }
        try FileManager.default.createSymbolicLink(atPath: dir.file("dangling").path, withDestinationPath: dir.file("none").path)
        #expect(throws: DataError.missingFile(file: dir.file("dangling").path)) { try FileBytes.read(dir.file("dangling")) }
        try FileManager.default.createSymbolicLink(atPath: dir.file("zero").path, withDestinationPath: "/dev/zero")
        #expect(throws: DataError.unreadableFile(file: dir.file("zero").path, reason: "not a regular file")) {
            try FileBytes.read(dir.file("zero"))
        }
    }

    /// A checkpoint and an IDX file reached through links load like the files themselves.
    @Test func checkpointAndIDXThroughLinks() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let labels = try dir.write([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3], to: "labels-idx1-ubyte")
        try FileManager.default.createSymbolicLink(atPath: dir.file("linked-labels").path, withDestinationPath: labels.path)
        #expect(try IDX.readLabels(at: dir.file("linked-labels")) == IDX.readLabels(at: labels))
        let archive = TensorArchive(tensors: ["w": try Tensor(shape: [2], scalars: [1, 2])], metadata: ["k": "v"])
        try AtomicFile.write(archive.encoded(), to: dir.file("a.ckpt"))
        try FileManager.default.createSymbolicLink(atPath: dir.file("latest.ckpt").path, withDestinationPath: "a.ckpt")
        #expect(try TensorArchive.read(from: dir.file("latest.ckpt")) == archive)
    }

    /// Temporary files of killed saves (`.NAME.tmp-PID-…` of a process that is gone) are
    /// removed by the next save of NAME; a live process's file and other names stay.
    @Test func staleTemporaryFilesAreRemovedByTheNextSave() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let dead = Int32(Int32.max - 1)  // above any pid_max: never a running process
        let stale = try dir.write([UInt8](repeating: 7, count: 1000), to: ".model.ckpt.tmp-\(dead)-12345")
        let live = try dir.write([1], to: ".model.ckpt.tmp-1-99")  // pid 1 always runs
        let other = try dir.write([1], to: ".other.ckpt.tmp-\(dead)-1")
        let unrelated = try dir.write([1], to: ".model.ckpt.tmp-notapid")
        try AtomicFile.write([1, 2, 3], to: dir.file("model.ckpt"))
        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: stale.path))
        #expect(fm.fileExists(atPath: live.path) && fm.fileExists(atPath: other.path) && fm.fileExists(atPath: unrelated.path))
        #expect(try FileBytes.read(dir.file("model.ckpt")) == [1, 2, 3])
        let names = try fm.contentsOfDirectory(atPath: dir.url.path).sorted()
        #expect(names == [".model.ckpt.tmp-1-99", ".model.ckpt.tmp-notapid", ".other.ckpt.tmp-\(dead)-1", "model.ckpt"])
    }
}
