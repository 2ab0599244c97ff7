import Foundation
import GraftSafetensors
import GraftTensor
import Testing

/// The tensors of the recorded Graft-written fixtures (keep in sync with `graft_tensors()` in
/// `Tools/safetensors/make_fixtures.py`, which checks that Python loads them).
enum GraftWrittenFixture {
    static let metadata = ["writer": "GraftSafetensors tests", "purpose": "fixture"]
    static func tensors() throws -> [String: Tensor] {
        [
            "body.0.weight": try Tensor(shape: [2, 3], scalars: [0.5, -1.25, 3.0, 1.0e-3, -0.0, 65504.0]),
            "body.0.bias": Tensor([0.1, -0.2]),
            "head.scale": try Tensor(shape: [], scalars: [1.5]),
            "empty": Tensor(zeros: [0, 3]),
        ]
    }
}

@Suite("Writing safetensors")
struct WriterTests {
    /// Zero-element tensors loaded on several threads at once: each gets its own empty array and
    /// nothing is written to shared storage (`make tsan` runs this under ThreadSanitizer, where
    /// `Array(unsafeUninitializedCapacity: 0)` raced on Swift's shared empty-array storage).
    @Test func emptyTensorsLoadOnSeveralThreadsAtOnce() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let path = folder.path("empty.safetensors")
        try Safetensors.write(["a": Tensor(zeros: [0]), "b": Tensor(zeros: [2, 0]), "c": Tensor([1, 2])], to: path)
        let file = try SafetensorsFile(path: path)
        // Two plain threads (no Dispatch between them, whose queues ThreadSanitizer sees as
        // synchronisation), each loading the empty tensors 200 times.
        // Results go through an NSLock (a pthread mutex, which ThreadSanitizer understands).
        final class Shapes: @unchecked Sendable {
            let lock = NSLock()
            var all: [[Int]] = []
            func add(_ shape: [Int]) { lock.lock(); all.append(shape); lock.unlock() }
            var snapshot: [[Int]] { lock.lock(); defer { lock.unlock() }; return all }
        }
        let shapes = Shapes()
        let done = DispatchSemaphore(value: 0)
        for name in ["a", "b"] {
            Thread {
                for _ in 0..<200 { shapes.add((try? file.tensor(named: name))?.shape ?? [-1]) }
                done.signal()
            }.start()
        }
        done.wait()
        done.wait()
        let seen = shapes.snapshot
        #expect(seen.count == 400)
        #expect(seen.allSatisfy { $0 == [0] || $0 == [2, 0] })
        #expect(try file.tensor(named: "c").scalars == [1, 2])
    }

    @Test func roundTripIsExactWithMetadata() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        var g = SeededGenerator(seed: 7)
        let tensors: [String: Tensor] = [
            "a": Tensor.randomNormal(shape: [3, 5], generator: &g),
            "b.c": try Tensor(shape: [], scalars: [.infinity]),
            "z": Tensor(zeros: [2, 0, 3]),
            "μ \"odd\" name": Tensor([-0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude]),
        ]
        let path = folder.path("x.safetensors")
        try Safetensors.write(tensors, metadata: ["writer": "Graft", "quote": "\"\\\n"], to: path)
        let (read, metadata) = try Safetensors.read(path: path)
        #expect(metadata == ["writer": "Graft", "quote": "\"\\\n"])
        #expect(Set(read.keys) == Set(tensors.keys))
        for (k, t) in tensors {
            #expect(read[k]?.shape == t.shape)
            #expect(read[k]?.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern))
        }
        // The header is padded to a multiple of 8 so the data are aligned.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        #expect(headerLength % 8 == 0)
        #expect(bytes[8 + Int(headerLength) - 1] == 0x20 || bytes[8 + Int(headerLength) - 1] == UInt8(ascii: "}"))
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["x.safetensors"])
    }

    @Test func bf16RoundsEveryValue() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        var g = SeededGenerator(seed: 8)
        let t = Tensor.randomNormal(shape: [300_000], generator: &g)  // more than one 1 MiB chunk
        let path = folder.path("b.safetensors")
        try Safetensors.write(["t": t], type: .bf16, to: path)
        let file = try SafetensorsFile(path: path)
        #expect(file.entry("t")?.dtype == .bf16)
        #expect(file.entry("t")?.dataOffsets.count == 600_000)
        let read = try file.tensor(named: "t")
        #expect(read.scalars == t.scalars.map { HalfPrecision.float(fromBF16: HalfPrecision.bf16(from: $0)) })
        #expect(zip(read.scalars, t.scalars).allSatisfy { abs($0 - $1) <= abs($1) * 0x1p-8 })
    }

    @Test func reservedAndEmptyNamesAreRefused() throws {
        #expect(throws: SafetensorsError.invalidName(file: "<memory>", name: "__metadata__", reason: "the name is reserved for the metadata map")) {
            try SafetensorsWriter.encode(["__metadata__": Tensor([1])])
        }
        #expect(throws: SafetensorsError.invalidName(file: "<memory>", name: "", reason: "the name is empty")) {
            try SafetensorsWriter.encode(["": Tensor([1])])
        }
    }

    @Test func unwritableDestinationIsATypedError() throws {
        #expect(throws: SafetensorsError.self) { try Safetensors.write(["a": Tensor([1])], to: "/nonexistent-folder/x.safetensors") }
    }

    /// Graft's bytes for `GraftWrittenFixture` are the recorded files, which
    /// `Tools/safetensors/make_fixtures.py --verify` loaded in Python. Re-record with
    /// `GRAFT_RECORD_SAFETENSORS=1 swift test --filter GraftSafetensorsTests.WriterTests`.
    @Test(arguments: [("graft_written", SafetensorsWriteType.f32), ("graft_written_bf16", .bf16)])
    func matchesTheFileVerifiedInPython(name: String, type: SafetensorsWriteType) throws {
        let bytes = try SafetensorsWriter.encode(GraftWrittenFixture.tensors(), metadata: GraftWrittenFixture.metadata, type: type)
        let url = safetensorsFixtures.appendingPathComponent(name + ".safetensors")
        if ProcessInfo.processInfo.environment["GRAFT_RECORD_SAFETENSORS"] == "1" {
            try Data(bytes).write(to: url)
        }
        #expect(bytes == Array(try Data(contentsOf: url)))
        let read = try Safetensors.read(path: url.path)
        #expect(read.metadata == GraftWrittenFixture.metadata)
        #expect(read.tensors["head.scale"]?.shape == [])
    }
}
