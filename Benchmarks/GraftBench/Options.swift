import GraftBenchmarking
import Foundation

/// Command-line options of `graft-bench`.
struct Options {
    var json: String?
    var filters: [String] = []
    var excludes: [String] = []
    var threads: Int?
    var quick = false
    var list = false
    var sizes: [Int]?
    var layouts: [String]?
    var rounds: Int?
    var roundSeconds: Double?
    var bandwidthMegabytes = 128
    var bandwidth = true
    var checkFloors = false

    static let usage = """
        usage: swift run -c release graft-bench [options]

        Times every Graft step rule and robust transform at 10^5, 10^6 and 10^7 parameters in three
        layouts, a STREAM-style memory-bandwidth probe, an sgemm probe and MLP training steps, and
        prints tables with ns/parameter, GB/s under each workload's byte model, and ratios to the
        measured triad bandwidth and to fused reference loops. Release builds only.

        options:
          --json FILE          also write the results as JSON (schema graft-bench/1, see Benchmarks/README.md)
          --filter SUBSTRING   run only benchmarks whose id contains SUBSTRING (repeatable: any match runs);
                               ids: optimizer/<workload>/<layout>/<size>, floor/<name>/<layout>/<size>,
                               overhead/adam/20000x[<n>], snapshot/adam/mixed/1e7, gemm/<model>/b<batch>,
                               train/<model>/b<batch>/<optimizer>; see --list
          --exclude SUBSTRING  skip benchmarks whose id contains SUBSTRING (repeatable; applied after --filter)
          --threads N          Graft threads, for kernels and matrix products (default: all cores)
          --quick              10^5 and 10^6 only, shorter rounds (a smoke run, about 20 s)
          --sizes LIST         comma-separated parameter counts, e.g. 1e5,1e6
          --layouts LIST       comma-separated subset of single,equal100,mixed
          --rounds N           timed rounds per benchmark (default 3, quick 2)
          --round-time SEC     target seconds per round (default 0.2, quick 0.05)
          --bandwidth-mb MB    size of each of the probe's three buffers (default 128)
          --no-bandwidth       skip the memory-bandwidth probe (no ×triad ratios)
          --check-floors       check every C floor against Graft (and the Swift floors) on 10^5-parameter
                               layouts, both C variants (baseline, AVX2+FMA), print the table and exit (1 on a mismatch)
          --list               print the benchmark ids and exit
          --help               this text

        Gradients are fixed between steps; subnormals are flushed to zero (FTZ/DAZ) in every thread.
        A Graft row with a C floor is timed interleaved with that floor, and its ×floor (and the targets)
        use that paired floor ("floor paired" in the notes; Benchmarks/README.md, "Pairing"); the
        floor.<name> rows are the floors timed on their own.
        """

    static func parse(_ arguments: [String]) throws -> Options {
        var o = Options()
        var args = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let v = args.popFirst() else { throw OptionError("\(flag) needs a value") }
            return v
        }
        func number(_ s: String) throws -> Int {
            if let i = Int(s) { return i }
            if let d = Double(s), d.rounded() == d, d > 0, d < 1e12 { return Int(d) }
            throw OptionError("not a whole number: \(s)")
        }
        while let a = args.popFirst() {
            switch a {
            case "--json": o.json = try value(a)
            case "--filter": o.filters.append(try value(a))
            case "--exclude": o.excludes.append(try value(a))
            case "--threads":
                let n = try number(try value(a))
                guard n >= 1 else { throw OptionError("--threads must be at least 1") }
                o.threads = n
            case "--quick": o.quick = true
            case "--list": o.list = true
            case "--sizes": o.sizes = try value(a).split(separator: ",").map { try number(String($0)) }
            case "--layouts":
                let l = try value(a).split(separator: ",").map(String.init)
                for name in l where !Layout.names.contains(name) { throw OptionError("unknown layout \(name) (single, equal100, mixed)") }
                o.layouts = l
            case "--rounds":
                let n = try number(try value(a))
                guard n >= 1 else { throw OptionError("--rounds must be at least 1") }
                o.rounds = n
            case "--round-time":
                guard let s = Double(try value(a)), s > 0 else { throw OptionError("--round-time needs a positive number of seconds") }
                o.roundSeconds = s
            case "--bandwidth-mb":
                let n = try number(try value(a))
                guard n >= 1 else { throw OptionError("--bandwidth-mb must be at least 1") }
                o.bandwidthMegabytes = n
            case "--no-bandwidth": o.bandwidth = false
            case "--check-floors": o.checkFloors = true
            case "--help", "-h": throw OptionError.help
            default: throw OptionError("unknown option \(a)")
            }
        }
        return o
    }

    /// Whether a benchmark id is selected.
    func selects(_ id: String) -> Bool {
        (filters.isEmpty || filters.contains { id.contains($0) }) && !excludes.contains { id.contains($0) }
    }
}

struct OptionError: Error {
    var message: String
    init(_ message: String) { self.message = message }
    static let help = OptionError("")
}
