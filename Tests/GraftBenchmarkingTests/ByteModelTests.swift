import GraftBenchmarking
import Testing

/// Byte models: declared ones, the stream counter, and the built-in rules' models (the values
/// of Benchmarks/README.md's table).
@Suite("GraftBenchmarking: byte models")
struct ByteModelTests {
    @Test("streams count 4 B per read, 8 per read+write, 4 per write")
    func streams() throws {
        let adam = try ByteModel.streams(read: ["g"], readWritten: ["θ", "m", "v"])
        #expect(adam.bytesPerParameter == 28)
        #expect(adam.description == "θ r+w, m r+w, v r+w, g r")
        let copy = try ByteModel.streams(read: ["b"], written: ["a"])
        #expect(copy.bytesPerParameter == 8)
        #expect(throws: BenchmarkError.self) { try ByteModel.streams() }
    }

    @Test("passes add up and say so")
    func passes() throws {
        let first = try ByteModel.streams(read: ["g"])
        let second = try ByteModel.streams(read: ["g"], readWritten: ["θ"])
        let both = ByteModel.passes(first, second)
        #expect(both.bytesPerParameter == 16)
        #expect(both.description == "pass 1: g r (4); pass 2: θ r+w, g r (12)")
        #expect(both == .clipSGD)
    }

    @Test("a declared model must be positive")
    func declared() throws {
        #expect(throws: BenchmarkError.self) { try ByteModel(bytesPerParameter: 0, description: "nothing") }
        #expect(try ByteModel(bytesPerParameter: 40, description: "mine").bytesPerParameter == 40)
    }

    @Test("built-in rules: the bytes graft-bench's table gives")
    func builtIn() {
        #expect(ByteModel.sgd.bytesPerParameter == 12)
        #expect(ByteModel.momentum.bytesPerParameter == 20)
        #expect(ByteModel.adam.bytesPerParameter == 28)
        #expect(ByteModel.l2spMomentum.bytesPerParameter == 24)
        #expect(ByteModel.digrap(learnedOmega: true, updatePlacement: false).bytesPerParameter == 52)
        #expect(ByteModel.digrap(learnedOmega: false, updatePlacement: false).bytesPerParameter == 44)
        #expect(ByteModel.digrap(learnedOmega: true, updatePlacement: true).bytesPerParameter == 56)
        #expect(ByteModel.digrap(learnedOmega: false, updatePlacement: true).bytesPerParameter == 48)
        #expect(ByteModel.pcgrad(objectives: 2).bytesPerParameter == 40)
        #expect(ByteModel.pcgrad(objectives: 4).bytesPerParameter == 56)
        #expect(ByteModel.ftp.bytesPerParameter == 48 && ByteModel.spd.bytesPerParameter == 48)
        #expect(ByteModel.lamb.bytesPerParameter == 44 && ByteModel.clipSGD.bytesPerParameter == 16)
        #expect(ByteModel.rmspropCenteredMomentum.bytesPerParameter == 36)
    }

    @Test("models of trace recipes follow the recipe's settings")
    func recipes() {
        func bytes(_ json: String, objectives: Int = 2) -> Int? { ByteModel.forRecipe(json: json, objectives: objectives)?.bytesPerParameter }
        #expect(bytes(#"{"method": "sgd", "lr": 0.1}"#) == 12)
        #expect(bytes(#"{"method": "sgd", "lr": 0.1, "momentum": 0.9}"#) == 20)
        #expect(bytes(#"{"method": "adam", "lr": 1e-3}"#) == 28)
        #expect(bytes(#"{"method": "adam", "lr": 1e-3, "amsgrad": true}"#) == 36)
        #expect(bytes(#"{"method": "digrap", "lr": 1e-3, "mu": 0.01}"#) == 52)
        #expect(bytes(#"{"method": "digrap", "lr": 1e-3, "omega": 1}"#) == 44)
        #expect(bytes(#"{"method": "digrap", "lr": 1e-3, "mu": 0.1, "placement": "update"}"#) == 56)
        #expect(bytes(#"{"method": "pcgrad", "lr": 1e-3, "base": {"method": "adam"}}"#, objectives: 4) == 56)
        #expect(bytes(#"{"method": "pcgrad", "lr": 1e-3, "base": {"method": "sgd"}}"#) == nil)
        #expect(bytes(#"{"method": "l2sp", "lr": 1e-2, "alpha": 0.01, "base": {"method": "sgd", "momentum": 0.9}}"#) == 24)
        #expect(bytes(#"{"method": "rmsprop", "lr": 1e-3, "centered": true, "momentum": 0.9}"#) == 36)
        #expect(bytes(#"{"method": "chain", "lr": 1e-3, "transforms": []}"#) == nil)
        #expect(bytes("not json") == nil)
        #expect(ByteModel.lowerBound.bytesPerParameter == 12)
    }
}
