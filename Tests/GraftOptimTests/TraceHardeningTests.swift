import Foundation
import Testing
import GraftOptim
import GraftTensor

/// Hostile traces of issue 13 (`Tests/Fixtures/hostile/traces`): numbers beyond float32,
/// updates that overflow, duplicate and canonically equivalent keys, an unused
/// `provided_gradient`, malformed JSON; and the streaming reader against the whole-file one.
/// (The CLI cases, such as pipes, `/dev/full` and `--output` targets, are in `.ci/cli-checks.sh`.)
@Suite("Trace hardening")
struct TraceHardeningTests {
    static let folder = "hostile/traces"

    /// Each refused fixture, the exact location of its error and a fragment of the message.
    static let refused: [(file: String, location: String, message: String)] = [
        ("value_1e39", "parameters[0].value[1]", "out of float32 range"),
        ("value_3_5e38", "parameters[0].value[0]", "out of float32 range"),
        ("gradient_1e308", "steps[0].gradients[0][\"w\"][0]", "out of float32 range"),
        ("gradient_1e400", "steps[0].gradients[0][\"w\"][0]", "out of float32 range"),
        ("gradient_40_digits", "steps[0].gradients[0][\"w\"][1]", "out of float32 range"),
        ("anchor_1e39", "parameters[0].anchor[1]", "out of float32 range"),
        ("lr_1e39", "groups[0].recipe.lr", "out of float32 range"),
        ("lr_scale_1e39", "steps[0].lr_scale", "out of float32 range"),
        ("provided_1e39_used", "steps[0].provided_gradient[\"w\"][0]", "out of float32 range"),
        ("overflow_lr_3e38", "steps[1]", "non-finite value for 'w'"),
        ("digrap_overflow", "steps[1]", "non-finite value for 'w'"),
        ("duplicate_lr", "groups[0].recipe.lr", "duplicate key"),
        ("duplicate_root_steps", "steps", "duplicate key"),
        ("duplicate_gradient_key", "steps[0].gradients[0].w", "duplicate key"),
        ("equivalent_gradient_keys", "steps[0].gradients[0].e\u{301}", #"duplicate key "e\u0301" (canonically equivalent to the earlier key "\u00e9")"#),
        ("equivalent_parameter_paths", "parameters[1].path", #"duplicate path "e\u0301" (canonically equivalent to "\u00e9")"#),
        ("lone_surrogate", "", "surrogate"),
        ("invalid_utf8", "", "not valid UTF-8"),
        ("trailing_comma", "", "expected a key string"),
        ("deep_nesting", "", "nesting deeper than 512"),
    ]

    static var refusedNames: [String] { refused.map(\.file) }

    /// Replays through both readers: the whole-file `GradientTrace` and the streaming one.
    static func bothReaders(_ data: Data) -> [Result<TraceReplay, any Error>] {
        [Result { try TraceReplay(try GradientTrace(data: data)) }, Result { try TraceReplay(data: data) }]
    }

    @Test("hostile trace refused with its JSON path", arguments: refusedNames)
    func refusedTrace(_ name: String) throws {
        let c = Self.refused.first { $0.file == name }!
        for result in Self.bothReaders(try fixtureData(Self.folder, name + ".json")) {
            switch result {
            case .success: Issue.record("\(name): accepted")
            case let .failure(e as TraceError):
                #expect(e.location == c.location, "\(name): location '\(e.location)' (\(e))")
                #expect(e.description.contains(c.message), "\(name): '\(e)' lacks '\(c.message)'")
            case let .failure(e): Issue.record("\(name): not a TraceError: \(e)")
            }
        }
    }

    /// `"e\u0301"` and `"\u00e9"` are one path everywhere: a gradient spelled either way
    /// reaches the parameter, and a glob or path in `select` matches either spelling.
    @Test func canonicallyEquivalentPathsAreOnePath() throws {
        let nfc = try TraceReplay(data: try fixtureData(Self.folder, "equivalent_gradient_nfc.json"))
        let nfd = try TraceReplay(data: try fixtureData(Self.folder, "equivalent_gradient_nfd.json"))
        #expect(nfc.parameters.map(\.value) == [tensor([1], [0.8])])
        #expect(nfd.parameters.map(\.value) == nfc.parameters.map(\.value))
        #expect(nfd.parameters.map { Array($0.path.unicodeScalars) } == [Array("caf\u{e9}".unicodeScalars)],
                "the output keeps the parameter's own spelling")
    }

    /// The format says an unused `provided_gradient` is ignored: out-of-range values and
    /// unknown paths in it are not errors when no group reads it.
    @Test func unusedProvidedGradientIsIgnored() throws {
        for result in Self.bothReaders(try fixtureData(Self.folder, "provided_1e39_unused.json")) {
            let replay = try result.get()
            #expect(replay.parameters.map(\.value) == [tensor([2], [0.9, 1.9])])
        }
    }

    /// `steps` may come before `parameters` and `groups` (JSON objects are unordered): the
    /// steps are held and the result is the same as with `steps` last.
    @Test func stepsBeforeHeaderGiveTheSameResult() throws {
        let first = try TraceReplay(data: try fixtureData(Self.folder, "steps_first.json"))
        let last = try TraceReplay(data: try fixtureData(Self.folder, "steps_last.json"))
        #expect(first.json() == last.json())
        #expect(first.parameters.map(\.value) == [tensor([2], [0.7, 1.9])])
    }

    /// The streaming reader gives byte-identical results to the whole-file reader on every
    /// reference and PyTorch trace.
    @Test func streamingMatchesWholeFileOnEveryFixture() throws {
        var count = 0
        for folder in ["traces", "pytorch"] {
            for name in traceNames(in: folder) {
                let data = try fixtureData(folder, name + ".json")
                #expect(try TraceReplay(data: data).json() == TraceReplay(GradientTrace(data: data)).json(), "\(folder)/\(name)")
                count += 1
            }
        }
        #expect(count >= 32)
    }

    /// The streaming reader reads from a pipe: a writer thread feeds a trace in small pieces.
    @Test func streamingReadsFromAPipe() throws {
        let data = try fixtureData("traces", "adam_adamw.json")
        let pipe = Pipe()
        let writer = pipe.fileHandleForWriting
        let feed = Thread {
            var offset = 0
            while offset < data.count {
                let end = min(offset + 777, data.count)
                writer.write(data.subdata(in: offset..<end))
                offset = end
            }
            try? writer.close()
        }
        feed.start()
        let streamed = try TraceReplay(streamingFrom: pipe.fileHandleForReading.fileDescriptor)
        #expect(streamed.json() == (try TraceReplay(GradientTrace(data: data)).json()))
    }

    /// Strict JSON details the old reader (JSONSerialization) let through or handled its own way.
    @Test(arguments: [
        (#"{"format": "graft-trace/1",}"#, "expected a key string"),
        (#"{"format": "graft-trace/1"} x"#, "after the document"),
        (#"{"format": "graft-trace/1", "parameters": [01]}"#, "leading zeros"),
        (#"{"format": "graft-trace/1", "parameters": [1.]}"#, "fraction needs digits"),
        (#"{"format": "graft-trace/1", "description": "a\#u{01}"}"#, "control character"),
        (#"{"format": "graft-trace/1", "description": "\x"}"#, "unknown escape"),
        (#"[1, 2]"#, "expected an object"),
        (#"{"format": "graft-trace/1", "parameters": [{"path": "w", "shape": [2], "value": [1, "x"]}], "groups": [], "steps": []}"#,
         "parameters[0].value[1]: expected a number"),
        (#"{"format": "graft-trace/1", "parameters": [{"path": "w", "shape": [2], "value": [1, 2]}], "groups": [{"a": {"b": [0, {"c": 1, "c": 2}]}}], "steps": []}"#,
         "groups[0].a.b[1].c: duplicate key"),
        (#""#, "found the end of the input"),
    ])
    func strictJSON(_ text: String, _ message: String) {
        for result in Self.bothReaders(Data(text.utf8)) {
            if case let .failure(e) = result {
                #expect("\(e)".contains(message), "\(text): \(e)")
            } else {
                Issue.record("\(text): accepted")
            }
        }
    }
}
