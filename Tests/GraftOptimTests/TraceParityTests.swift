import Foundation
import Testing
import GraftOptim
import GraftTensor

/// Parity: every trace in `Tests/Fixtures/traces` (the project's reference traces, copied from
/// shared/traces) and `Tests/Fixtures/pytorch` (recorded with torch.optim by
/// `Tools/fixtures/record_pytorch.py`) replays within |a − b| ≤ 1e-5 + 1e-4·|b| per element.
@Suite("Trace parity")
struct TraceParityTests {
    static let referenceTraces = traceNames(in: "traces")
    static let pytorchTraces = traceNames(in: "pytorch")

    /// The telemetry keys the reference results carry; each must match within the tolerance.
    static let telemetryKeys: Set<String> = ["omega", "projected_steps", "effective_projected_steps", "gamma",
                                             "decayed_steps", "projections"]

    @Test func fixtureFoldersAreComplete() {
        // Guards against a silently empty parameterised test (a moved or renamed folder).
        #expect(Self.referenceTraces.count == 9, "reference traces: \(Self.referenceTraces)")
        #expect(Self.pytorchTraces.count >= 20, "PyTorch traces: \(Self.pytorchTraces)")
        for name in Self.referenceTraces + Self.pytorchTraces {
            let folder = Self.referenceTraces.contains(name) ? "traces" : "pytorch"
            #expect((try? fixtureData(folder, name + ".json")) != nil, "missing \(folder)/\(name).json")
        }
    }

    @Test("reference trace replays within tolerance", arguments: referenceTraces)
    func referenceTrace(_ name: String) throws {
        try checkReplay(folder: "traces", name: name)
    }

    @Test("PyTorch trace replays within tolerance", arguments: pytorchTraces)
    func pytorchTrace(_ name: String) throws {
        try checkReplay(folder: "pytorch", name: name)
    }

    /// Replays `folder/name.json` and compares every element and every expected telemetry key.
    func checkReplay(folder: String, name: String) throws {
        let trace = try GradientTrace(data: try fixtureData(folder, name + ".json"))
        let replay = try TraceReplay(trace)
        let expected = try ExpectedResult(data: try fixtureData(folder, name + ".expected.json"))

        let actual = Dictionary(uniqueKeysWithValues: replay.parameters.map { ($0.path, $0.value.scalars) })
        #expect(Set(actual.keys) == Set(expected.parameters.keys), "parameter paths differ")
        var violations: [String] = []
        for (path, values) in expected.parameters {
            guard let got = actual[path] else { continue }
            violations += parityViolations(got, values, label: path)
        }
        #expect(violations.isEmpty, "\(folder)/\(name): \(violations.prefix(8).joined(separator: "; "))")

        // Telemetry: every key the reference reports, within the same tolerance.
        for (path, fields) in expected.telemetry {
            for (key, value) in fields where Self.telemetryKeys.contains(key) {
                let got = replay.telemetry[path]?[key]
                #expect(got != nil, "\(folder)/\(name): telemetry \(path).\(key) missing")
                if let got { #expect(withinParity(got, value), "\(folder)/\(name): \(path).\(key) = \(got), expected \(value)") }
            }
        }

        // The printed result parses back to the same numbers (9 significant digits round-trip).
        let printed = try ExpectedResult(data: Data(replay.json().utf8))
        for (path, values) in actual {
            #expect(printed.parameters[path]?.map(Float.init) == values, "\(path) does not round-trip through json()")
        }
    }

    /// The reference traces exercise telemetry; a replay that dropped it would pass the
    /// element checks, so check that the expected files really carry the keys we compare.
    @Test func referenceTelemetryIsCompared() throws {
        var seen = Set<String>()
        for name in Self.referenceTraces {
            let expected = try ExpectedResult(data: try fixtureData("traces", name + ".expected.json"))
            for fields in expected.telemetry.values { seen.formUnion(fields.keys) }
        }
        #expect(seen.isSuperset(of: Self.telemetryKeys), "telemetry keys in the reference results: \(seen.sorted())")
    }

    /// The DiGraP reference: ω per tensor and projected steps exactly as the reference reports.
    @Test func digrapTelemetryValues() throws {
        let replay = try TraceReplay(try GradientTrace(data: try fixtureData("traces", "digrap.json")))
        let weight = try #require(replay.telemetry["body.weight"])
        #expect(abs((weight["omega"] ?? -1) - 0.622078955) < 1e-4)
        #expect(weight["projected_steps"] == 6)
        #expect(replay.telemetry["body.bias"]?["omega"] == 1)
        // The head has no anchor: no DiGraP telemetry for it.
        #expect(replay.telemetry["head.weight"]?["omega"] == nil)
    }
}
