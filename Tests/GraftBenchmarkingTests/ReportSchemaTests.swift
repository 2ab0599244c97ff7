import Foundation
import GraftBenchmarking
import GraftOptim
import GraftTestSupport
import Testing

/// The `graft-bench/1` JSON against a committed fixture: `Tests/Fixtures/benchmarking/graft-bench-1.json`
/// is a document graft-bench wrote before the harness moved into the library
/// (Benchmarks/results/graft.json, cut to one element per array and three tensors of the layout).
@Suite("GraftBenchmarking: graft-bench/1 JSON")
struct ReportSchemaTests {
    static let fixtureName = "benchmarking/graft-bench-1.json"

    func fixture() throws -> [String: Any] {
        let data = try Data(contentsOf: fixtureURL(Self.fixtureName))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func object(_ report: BenchmarkReport) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: try report.jsonData()) as? [String: Any])
    }

    func decode<T: Decodable>(_ value: Any?, as: T.Type) throws -> T {
        let data = try JSONSerialization.data(withJSONObject: try #require(value))
        return try JSONDecoder().decode(T.self, from: data)
    }

    @Test("the library's types write the fixture back exactly (every key, every value)")
    func roundTrip() throws {
        let f = try fixture()
        let machine = try decode(f["machine"], as: MachineInfo.self)
        let settings = try decode(f["settings"], as: BenchmarkReport.Settings.self)
        var report = BenchmarkReport(started: try #require(f["started"] as? String), machine: machine, settings: settings)
        report.elapsedSeconds = try #require(f["elapsedSeconds"] as? Double)
        report.bandwidth = try decode(f["bandwidth"], as: [MemoryProbeResult].self)
        report.layouts = try decode(f["layouts"], as: [ParameterLayout].self)
        report.optimizer = try decode(f["optimizer"], as: [OptimizerResult].self)
        report.floorVariant = try #require(f["floorVariant"] as? String)
        // graft-bench's own sections travel as opaque values: give them back as they were.
        struct Opaque: Encodable, Sendable {
            let json: Data
            func encode(to encoder: Encoder) throws {
                var c = encoder.singleValueContainer()
                try c.encode(try JSONDecoder().decode(JSONAny.self, from: json))
            }
        }
        for key in BenchmarkReport.sectionKeys {
            report.sections[key] = .init(Opaque(json: try JSONSerialization.data(withJSONObject: try #require(f[key]))))
        }
        let written = try object(report)
        #expect(NSDictionary(dictionary: written).isEqual(to: f))
        #expect(Set(written.keys) == Set(f.keys))
    }

    @Test("a fresh run's document has the fixture's keys, and its rows the fixture row's keys")
    func freshRun() throws {
        let f = try fixture()
        let layout = try ParameterLayout(name: "tiny", shapes: [[16, 8], [8]])
        var bench = TransformBenchmark(name: "adam", transform: try Recipes.adam(learningRate: 1e-3), layout: layout,
                                       bytesPerParameter: .adam, floor: FloorReference(name: "floor.mine", nsPerParameter: 1))
        bench.adamFloorNsPerParameter = 2  // every optional key of a row is then present, as in the fixture's row
        var bandwidthPolicy = TimingPolicy.minimal
        bandwidthPolicy.rounds = 1
        let result = try bench.run(policy: .minimal, bandwidth: .measure(bufferMegabytes: 1, policy: bandwidthPolicy),
                                   buildGuard: .allowingDebugBuilds)
        var report = result.report()
        report.machine.loadAverageAtEnd = report.machine.loadAverageAtEnd ?? [0, 0, 0]
        let written = try object(report)
        #expect(Set(written.keys) == Set(f.keys))
        #expect(written["schema"] as? String == "graft-bench/1")
        for key in ["machine", "settings"] {
            let mine = try #require(written[key] as? [String: Any]), theirs = try #require(f[key] as? [String: Any])
            // openBLASCoretypeEnvironment is optional (absent when unset): compare the rest.
            #expect(Set(mine.keys).subtracting(["openBLASCoretypeEnvironment"]) == Set(theirs.keys).subtracting(["openBLASCoretypeEnvironment"]), "\(key)")
        }
        for key in ["optimizer", "bandwidth", "layouts"] {
            let mine = try #require((written[key] as? [[String: Any]])?.first), theirs = try #require((f[key] as? [[String: Any]])?.first)
            #expect(Set(mine.keys) == Set(theirs.keys), "\(key)")
        }
        for key in BenchmarkReport.sectionKeys { #expect((written[key] as? [Any])?.isEmpty == true, "\(key)") }
    }
}

/// Any JSON value, decoded and encoded back unchanged (for graft-bench's opaque sections).
private enum JSONAny: Codable {
    case object([String: JSONAny]), array([JSONAny]), string(String), number(Double), integer(Int), bool(Bool), null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONAny].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONAny].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .object(o): try c.encode(o)
        case let .array(a): try c.encode(a)
        case let .string(s): try c.encode(s)
        case let .number(d): try c.encode(d)
        case let .integer(i): try c.encode(i)
        case let .bool(b): try c.encode(b)
        case .null: try c.encodeNil()
        }
    }
}
