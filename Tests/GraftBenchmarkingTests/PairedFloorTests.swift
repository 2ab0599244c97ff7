import Foundation
import GraftBenchmarking
import GraftOptim
import GraftTensor
import Testing

/// A benchmark timed interleaved with a floor (`run(on:pairedWithFloor:floorStep:…)`): tiny runs
/// with a minimal policy (debug builds allowed through the injected guard; the numbers are
/// meaningless, the plumbing and the derived fields are checked).
@Suite("GraftBenchmarking: floors paired with a benchmark")
struct PairedFloorTests {
    static let layout = try! ParameterLayout(name: "tiny", tensors: [TensorSpec(path: "w", shape: [64, 32]),
                                                                      TensorSpec(path: "b", shape: [32], anchored: false)])
    static let policy = TimingPolicy(warmupSeconds: 0, warmupIterations: 1, roundSeconds: 0, rounds: 4)

    static func adam(floor: FloorReference? = nil) throws -> TransformBenchmark {
        TransformBenchmark(name: "adam", transform: try Recipes.adam(learningRate: 1e-3), layout: layout, bytesPerParameter: .adam, floor: floor)
    }

    @Test("the row's ×floor is over the floor timed in the same measurement, and the row says so")
    func paired() throws {
        // The benchmark's own floor reference (measured elsewhere) must not be used.
        let bench = try Self.adam(floor: FloorReference(name: "floor.elsewhere", nsPerParameter: 1e9))
        let data = try LayoutData(Self.layout, seed: 1)
        var floorSteps = 0
        var sink: Float = 0
        let work = data.gradients[0][0].scalars
        let r = try bench.run(on: data, pairedWithFloor: "floor.test", floorStep: {
            floorSteps += 1
            for x in work { sink += x }  // a little work, so its time is not the clock's
        }, policy: Self.policy, bandwidth: [], buildGuard: .allowingDebugBuilds)
        #expect(sink.isFinite)

        #expect(floorSteps == 1 + 4)  // one warm-up iteration, then one per round
        let paired = try #require(r.pairedFloor)
        let n = Double(Self.layout.parameterCount)
        #expect(paired.name == "floor.test")
        #expect(paired.timing.samples == 4 && paired.timing.rounds == 4)
        #expect(abs(paired.nsPerParameter - max(1, paired.timing.p50) / n) < 1e-12 * paired.nsPerParameter)
        #expect(paired.spread.rounds.count == 4 && paired.spread.rounds.allSatisfy { $0 > 0 && $0.isFinite })
        #expect(r.timing.samples == 4)

        #expect(r.row.floor == "floor.test")
        #expect(r.row.floorPaired == true)
        #expect(r.row.floorNsPerParameter == paired.nsPerParameter)
        #expect(r.row.floorTiming == paired.timing)
        #expect(r.row.ratioToFloorRoundsP50 == paired.spread.p50)
        let ratio = try #require(r.ratioToFloor)
        #expect(abs(ratio - r.nsPerParameter / paired.nsPerParameter) < 1e-9 * ratio)
        #expect(r.row.row.last?.contains("floor paired") == true)
    }

    @Test("the paired fields are in the row's JSON only when the floor was paired")
    func json() throws {
        let data = try LayoutData(Self.layout, seed: 2)
        let pairedRow = try Self.adam().run(on: data, pairedWithFloor: "floor.test", floorStep: {}, policy: .minimal, bandwidth: [],
                                            buildGuard: .allowingDebugBuilds).row
        let plainRow = try Self.adam(floor: FloorReference(name: "floor.test", nsPerParameter: 1))
            .run(on: data, policy: .minimal, bandwidth: [], buildGuard: .allowingDebugBuilds).row
        func keys(_ row: OptimizerResult) throws -> Set<String> {
            let object = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(row))
            return Set(try #require(object as? [String: Any]).keys)
        }
        let pairedKeys: Set = ["floorPaired", "floorNsPerParameter", "floorTiming", "ratioToFloorRoundsP50"]
        #expect(try keys(pairedRow).isSuperset(of: pairedKeys))
        #expect(try keys(plainRow).isDisjoint(with: pairedKeys))
        let decoded = try JSONDecoder().decode(OptimizerResult.self, from: try JSONEncoder().encode(pairedRow))
        #expect(decoded == pairedRow)
        #expect(plainRow.floorPaired == nil && plainRow.ratioToFloor != nil)
    }

    @Test("a failing floor is reported by name; a debug build is refused before any step")
    func errors() throws {
        struct Boom: Error {}
        let data = try LayoutData(Self.layout, seed: 3)
        #expect(throws: BenchmarkError.stepFailed(benchmark: "floor.boom", underlying: "\(Boom())")) {
            try Self.adam().run(on: data, pairedWithFloor: "floor.boom", floorStep: { throw Boom() }, policy: .minimal, bandwidth: [],
                                buildGuard: .allowingDebugBuilds)
        }
        var called = false
        #expect(throws: BenchmarkError.debugBuild) {
            try Self.adam().run(on: data, pairedWithFloor: "floor.x", floorStep: { called = true }, policy: .minimal, bandwidth: [],
                                buildGuard: BuildGuard(isDebugBuild: { true }))
        }
        #expect(!called)
        let other = try LayoutData(try ParameterLayout(shapes: [[4]]), seed: 1)
        #expect(throws: BenchmarkError.self) {
            try Self.adam().run(on: other, pairedWithFloor: "floor.x", floorStep: {}, policy: .minimal, bandwidth: [],
                                buildGuard: .allowingDebugBuilds)
        }
    }
}
