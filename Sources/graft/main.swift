import Foundation
import GraftOptim

/// `graft`: command-line tools around Graft's optimizers.
let usage = """
    usage: graft replay TRACE.json|- [--output FILE]
           graft bench --recipe JSON [--compare JSON] [options]   (graft bench --help)

    Replays a gradient trace (format graft-trace/1): applies each group's recipe to the
    recorded gradients and writes the final parameters and telemetry as
    graft-trace-result/1 JSON to stdout, or to FILE with --output. TRACE may be a file, a
    pipe such as /dev/stdin, or - for standard input; steps are applied as they are read.
    FILE must be a regular file or not exist, and must not be the trace itself.
    Malformed input, a step that leaves a parameter non-finite and a failed write exit with
    status 1 and a message naming the place; nothing is printed on stdout on failure.

    bench: times optimizer steps of a recipe (as in traces) on a parameter layout, optionally
    against a second recipe interleaved, and prints ns/param, GB/s, the ratio to a bandwidth
    probe and whether the chain runs fused (a table, or graft-bench/1 JSON with --json).
    Release builds only; see `graft bench --help`.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("graft: \(message)\n".utf8))
    exit(1)
}

func errnoText() -> String { String(cString: strerror(errno)) }

/// Writes all of `bytes` to `descriptor`, or fails naming `what`.
func writeAll(_ bytes: [UInt8], to descriptor: Int32, _ what: String) {
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { fail("cannot write \(what) (\(n < 0 ? errnoText() : "nothing written"))") }
        offset += n
    }
}

// A write to a closed pipe reports EPIPE instead of killing the process silently.
signal(SIGPIPE, SIG_IGN)

var args = Array(CommandLine.arguments.dropFirst())
if args.first == "bench" { runBench(Array(args.dropFirst())) }
if args.contains("--help") || args.contains("-h") {
    writeAll(Array((usage + "\n").utf8), to: 1, "the usage to standard output")
    exit(0)
}
if args.isEmpty { fail("no command given\n\(usage)") }
guard args.removeFirst() == "replay" else { fail("unknown command (expected: replay or bench)\n\(usage)") }
var tracePath: String?
var outputPath: String?
while !args.isEmpty {
    let a = args.removeFirst()
    switch a {
    case "--output", "-o":
        guard !args.isEmpty else { fail("--output needs a file name") }
        outputPath = args.removeFirst()
    default:
        if a.hasPrefix("-") && a != "-" { fail("unknown option \(a)\n\(usage)") }
        guard tracePath == nil else { fail("more than one trace file given") }
        tracePath = a
    }
}
guard let tracePath else { fail("no trace file given\n\(usage)") }

// Standard output must be open before anything is read: with descriptor 1 closed, the trace
// would be opened as descriptor 1 and the result written over it.
if outputPath == nil && fcntl(1, F_GETFD) == -1 { fail("standard output is closed; redirect it or use --output FILE") }

let input: Int32
if tracePath == "-" {
    input = 0
} else {
    input = open(tracePath, O_RDONLY | O_CLOEXEC)
    if input < 0 { fail("\(tracePath): cannot open (\(errnoText()))") }
}
var inputStatus = stat()
if fstat(input, &inputStatus) != 0 { fail("\(tracePath): cannot inspect (\(errnoText()))") }
if (inputStatus.st_mode & S_IFMT) == S_IFDIR { fail("\(tracePath): is a directory") }

if let outputPath {
    guard !outputPath.isEmpty else { fail("--output needs a file name (got an empty one)") }
    var status = stat()
    if lstat(outputPath, &status) == 0 {
        let kind = status.st_mode & S_IFMT
        guard kind == S_IFREG else {
            let what = kind == S_IFLNK ? "a symbolic link" : kind == S_IFDIR ? "a directory"
                : kind == S_IFIFO ? "a FIFO" : kind == S_IFCHR || kind == S_IFBLK ? "a device" : "not a regular file"
            fail("\(outputPath): refusing to replace \(what); --output must be a regular file or a new name")
        }
        if status.st_dev == inputStatus.st_dev && status.st_ino == inputStatus.st_ino {
            fail("\(outputPath): is the trace being read; choose another output file")
        }
    } else if errno != ENOENT {
        fail("\(outputPath): cannot inspect (\(errnoText()))")
    }
    let folder = (outputPath as NSString).deletingLastPathComponent
    if access(folder.isEmpty ? "." : folder, W_OK) != 0 { fail("\(outputPath): cannot write into \(folder.isEmpty ? "." : folder) (\(errnoText()))") }
}

let result: String
do {
    result = try TraceReplay(streamingFrom: input).json()
} catch {
    fail("\(tracePath): \(error)")
}
if let outputPath {
    do { try Data(result.utf8).write(to: URL(fileURLWithPath: outputPath), options: .atomic) } catch {
        fail("\(outputPath): cannot write the result (\(error.localizedDescription))")
    }
} else {
    writeAll(Array(result.utf8), to: 1, "the result to standard output")
}
