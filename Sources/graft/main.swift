import Foundation
import GraftOptim

/// `graft`: command-line tools around Graft's optimizers.
let usage = """
    usage: graft replay TRACE.json [--output FILE]

    Replays a gradient trace (format graft-trace/1): applies each group's recipe to the
    recorded gradients and writes the final parameters and telemetry as
    graft-trace-result/1 JSON to stdout, or to FILE with --output.
    Malformed input exits with status 1 and a message naming the place; nothing is printed
    on failure.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("graft: \(message)\n".utf8))
    exit(1)
}

var args = Array(CommandLine.arguments.dropFirst())
if args.contains("--help") || args.contains("-h") {
    print(usage)
    exit(0)
}
if args.isEmpty { fail("no command given\n\(usage)") }
guard args.removeFirst() == "replay" else { fail("unknown command (expected: replay)\n\(usage)") }
var tracePath: String?
var outputPath: String?
while !args.isEmpty {
    let a = args.removeFirst()
    switch a {
    case "--output", "-o":
        guard !args.isEmpty else { fail("--output needs a file name") }
        outputPath = args.removeFirst()
    default:
        if a.hasPrefix("-") { fail("unknown option \(a)\n\(usage)") }
        guard tracePath == nil else { fail("more than one trace file given") }
        tracePath = a
    }
}
guard let tracePath else { fail("no trace file given\n\(usage)") }
let data: Data
do { data = try Data(contentsOf: URL(fileURLWithPath: tracePath)) } catch { fail("\(tracePath): cannot read (\(error.localizedDescription))") }
do {
    let result = try TraceReplay(try GradientTrace(data: data)).json()
    if let outputPath {
        try Data(result.utf8).write(to: URL(fileURLWithPath: outputPath), options: .atomic)
    } else {
        FileHandle.standardOutput.write(Data(result.utf8))
    }
} catch let e as TraceError {
    fail("\(tracePath): \(e)")
} catch {
    fail("\(tracePath): \(error)")
}
