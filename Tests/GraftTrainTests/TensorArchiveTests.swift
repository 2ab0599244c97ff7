import Foundation
import Testing
import GraftTensor
@testable import GraftTrain

@Suite struct TensorArchiveTests {
    func sample() throws -> TensorArchive {
        var g = SeededGenerator(seed: 3)
        return TensorArchive(tensors: ["body.0.weight": Tensor.randomNormal(shape: [3, 4], generator: &g),
                                       "body.0.bias": Tensor.randomNormal(shape: [3], generator: &g),
                                       "scalar": try Tensor(shape: [], scalars: [7]),
                                       "empty": Tensor(zeros: [0, 5])],
                             metadata: ["key": "value", "seed": "1"])
    }

    @Test func roundTripsExactly() throws {
        let archive = try sample()
        let decoded = try TensorArchive(decoding: archive.encoded(), file: "mem")
        #expect(decoded == archive)
        #expect(archive.encoded() == decoded.encoded(), "encoding is deterministic")
    }

    @Test func everySingleFlippedByteIsRefused() throws {
        let bytes = try sample().encoded()
        // Every position, including the checksum itself.
        for i in stride(from: 0, to: bytes.count, by: 1) {
            var damaged = bytes
            damaged[i] ^= 0x10
            #expect(throws: ArchiveError.self) { try TensorArchive(decoding: damaged, file: "damaged") }
        }
    }

    @Test func everyTruncationIsRefused() throws {
        let bytes = try sample().encoded()
        for n in 0..<bytes.count {
            #expect(throws: ArchiveError.self) { try TensorArchive(decoding: Array(bytes[0..<n]), file: "short") }
        }
    }

    @Test func wrongMagicAndVersionAreNamed() throws {
        var bytes = try sample().encoded()
        bytes[0] = UInt8(ascii: "X")
        #expect(throws: ArchiveError.notAnArchive(file: "f")) { try TensorArchive(decoding: bytes, file: "f") }
        // A valid checksum over a future version.
        var v2 = Array(try sample().encoded().dropLast(32))
        v2[8] = 2
        v2 += SHA256.hash(v2).bytes
        #expect(throws: ArchiveError.unsupportedVersion(file: "f", version: 2)) { try TensorArchive(decoding: v2, file: "f") }
    }

    @Test func writeIsAtomicAndReadable() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let url = dir.file("w.graftarc")
        let first = try sample()
        try first.write(to: url)
        var second = first
        second.metadata["seed"] = "2"
        try second.write(to: url)
        #expect(try TensorArchive.read(from: url) == second)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.url.path).filter { $0 != "w.graftarc" }
        #expect(leftovers.isEmpty, "no temporary files left: \(leftovers)")
    }
}
