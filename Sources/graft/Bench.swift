import Foundation
import GraftBenchmarking
import GraftOptim
import GraftTensor

/// `graft bench`: GraftBenchmarking from the command line.
let benchUsage = """
    usage: graft bench --recipe JSON [--compare JSON] [options]

    Times Graft optimizer steps with a recipe written as in traces (the `recipe` object of
    graft-trace/1, chains included), e.g.
      graft bench --recipe '{"method": "digrap", "lr": 1e-3, "mu": 0.01}' --layout mixed --size 1e6 --threads 2
    on fixed gradients, and reports ns per parameter (p0 / p50 / p90), GB/s under the recipe's
    byte model, the ratio to a memory-bandwidth probe run alongside, and whether the chain runs
    fused. With --compare, both recipes are measured interleaved in one run (round-robin, the
    first alternating) and the ratio compare ÷ recipe is reported with its p10–p90 spread over
    rounds. Release builds only (`swift run -c release graft bench …`).

    options:
      --recipe JSON        the recipe to time (required)
      --compare JSON       a second recipe, timed interleaved with the first (the baseline)
      --layout NAME        single, equal100 or mixed (default mixed; see Benchmarks/README.md)
      --size N             parameters of the layout, e.g. 1e6 (default 1e6; at least 1000)
      --shapes LIST        your own tensor shapes instead of a layout, e.g. 768x768,768,10x768
      --threads N          Graft threads (default: all cores)
      --objectives K       gradients per step, 1–4 (default 2 for pcgrad, else 1)
      --bytes N            bytes per parameter of the byte model (default: the recipe's built-in
                           model; 12, a lower bound, for recipes without one)
      --rounds N           timed rounds (default 3, or 15 with --compare)
      --seconds S          target seconds per round (default 0.2, or 0.05 with --compare)
      --bandwidth-mb MB    size of each of the bandwidth probe's three buffers (default 128)
      --no-bandwidth       skip the bandwidth probe (no ×triad / ×update ratios)
      --json               print the graft-bench/1 JSON document instead of the table
      --help               this text

    Usage errors exit with status 2, and so does a debug build; a failing step exits with 1.
    """

/// A usage error of `graft bench`: one line on stderr, exit 2.
func benchUsageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("graft bench: \(message) (see --help)\n".utf8))
    exit(2)
}

/// The options of `graft bench`.
struct BenchOptions {
    var recipe: String?
    var compare: String?
    var layout = "mixed"
    var size = 1_000_000
    var shapes: [[Int]]?
    var threads = System.activeProcessorCount
    var objectives: Int?
    var bytes: Int?
    var rounds: Int?
    var seconds: Double?
    var bandwidthMegabytes = 128
    var bandwidth = true
    var json = false

    /// Parses `arguments` (after `bench`); exits 0 after printing the usage for --help, 2 on a usage error.
    static func parse(_ arguments: [String]) -> BenchOptions {
        var o = BenchOptions()
        var args = arguments[...]
        var layoutGiven = false, sizeGiven = false
        func value(_ flag: String) -> String {
            guard let v = args.popFirst() else { benchUsageError("\(flag) needs a value") }
            return v
        }
        func whole(_ flag: String, _ range: ClosedRange<Int>) -> Int {
            let text = value(flag)
            var n: Int?
            if let i = Int(text) { n = i } else if let d = Double(text), d.isFinite, d == d.rounded(), abs(d) < 1e15 { n = Int(d) }
            guard let n, range.contains(n) else {
                benchUsageError("\(flag) needs a whole number in \(range.lowerBound)…\(range.upperBound), got \"\(text)\"")
            }
            return n
        }
        while let a = args.popFirst() {
            switch a {
            case "--recipe": o.recipe = value(a)
            case "--compare": o.compare = value(a)
            case "--layout":
                let name = value(a)
                guard ParameterLayout.standardNames.contains(name) else {
                    benchUsageError("unknown layout \"\(name)\" (\(ParameterLayout.standardNames.joined(separator: ", ")))")
                }
                o.layout = name
                layoutGiven = true
            case "--size": o.size = whole(a, 1000...1_000_000_000); sizeGiven = true
            case "--shapes": o.shapes = parseShapes(value(a))
            case "--threads": o.threads = whole(a, 1...1024)
            case "--objectives": o.objectives = whole(a, 1...LayoutData.objectives)
            case "--bytes": o.bytes = whole(a, 1...4096)
            case "--rounds": o.rounds = whole(a, 1...10_000)
            case "--seconds":
                let text = value(a)
                guard let s = Double(text), s.isFinite, s > 0, s <= 60 else { benchUsageError("--seconds needs a number in (0, 60], got \"\(text)\"") }
                o.seconds = s
            case "--bandwidth-mb": o.bandwidthMegabytes = whole(a, 1...4096)
            case "--no-bandwidth": o.bandwidth = false
            case "--json": o.json = true
            case "--help", "-h":
                FileHandle.standardOutput.write(Data((benchUsage + "\n").utf8))
                exit(0)
            default: benchUsageError("unknown option \(a)")
            }
        }
        guard o.recipe != nil else { benchUsageError("--recipe is required") }
        if o.shapes != nil && (layoutGiven || sizeGiven) { benchUsageError("--shapes replaces --layout and --size; give one or the other") }
        return o
    }

    /// `768x768,768` → `[[768, 768], [768]]`.
    static func parseShapes(_ text: String) -> [[Int]] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        var shapes: [[Int]] = []
        var total = 0
        for part in parts {
            let dims = part.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard !dims.isEmpty, dims.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 1_000_000_000 }) else {
                benchUsageError("--shapes needs shapes such as 768x768,768 (dimensions ≥ 1), got \"\(part)\" in \"\(text)\"")
            }
            let shape = dims.map { $0! }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            total += count
            guard !overflow, total <= 1_000_000_000 else { benchUsageError("--shapes: more than 10^9 parameters in \"\(text)\"") }
            shapes.append(shape)
        }
        return shapes
    }
}

/// One recipe ready to benchmark.
struct BenchRecipe {
    var text: String
    var recipe: TraceRecipe
    var objectives: Int
    var model: ByteModel
    var modelIsLowerBound: Bool

    init(_ text: String, flag: String, options: BenchOptions) {
        self.text = text
        do { recipe = try TraceRecipe(json: text) } catch { benchUsageError("\(flag): \(error)") }
        if recipe.usesProvidedGradient {
            benchUsageError("\(flag): the recipe reads provided gradients (hypergradient_source \"provided\"), which a benchmark does not have")
        }
        objectives = options.objectives ?? (recipe.method == "pcgrad" ? 2 : 1)
        if let bytes = options.bytes {
            do { model = try ByteModel(bytesPerParameter: bytes, description: "given with --bytes") } catch { benchUsageError("--bytes: \(error)") }
            modelIsLowerBound = false
        } else if let m = ByteModel.forRecipe(json: text, objectives: objectives) {
            model = m
            modelIsLowerBound = false
        } else {
            model = .lowerBound
            modelIsLowerBound = true
        }
    }

    func benchmark(name: String, layout: ParameterLayout, threads: Int) -> TransformBenchmark {
        TransformBenchmark(name: name, summary: text, transform: recipe.transform, aggregator: recipe.aggregator, layout: layout,
                           threads: threads, bytesPerParameter: model, objectives: objectives)
    }
}

/// Runs `graft bench` and exits.
func runBench(_ arguments: [String]) -> Never {
    let options = BenchOptions.parse(arguments)
    let first = BenchRecipe(options.recipe!, flag: "--recipe", options: options)
    let second = options.compare.map { BenchRecipe($0, flag: "--compare", options: options) }
    let layout: ParameterLayout
    do {
        if let shapes = options.shapes { layout = try ParameterLayout(name: "shapes", shapes: shapes) }
        else { layout = try ParameterLayout.standard(options.layout, size: options.size) }
    } catch {
        benchUsageError("\(error)")
    }
    // Every usage check is done; only now the build (so the checks above work in debug builds too).
    do { try BuildGuard.current.requireOptimizedBuild() } catch {
        FileHandle.standardError.write(Data("graft bench: \(error); run `swift run -c release graft bench …`\n".utf8))
        exit(2)
    }
    BLAS.threads = options.threads
    FloatingPointEnvironment.flushSubnormalsToZero()
    let comparing = second != nil
    let rounds = options.rounds ?? (comparing ? 15 : 3)
    let seconds = options.seconds ?? (comparing ? 0.05 : 0.2)
    let policy = TimingPolicy(warmupSeconds: seconds / 4, warmupIterations: 3, roundSeconds: seconds, rounds: rounds)
    let bandwidth: BandwidthReference = options.bandwidth ? .measure(bufferMegabytes: options.bandwidthMegabytes) : .none

    func say(_ line: String = "") { if !options.json { FileHandle.standardOutput.write(Data((line + "\n").utf8)) } }
    let machine = MachineInfo.current()
    say("graft bench: \(layout.name) \(Format.size(layout.nominalSize)) (\(layout.parameterCount) parameters, \(layout.tensors.count) tensors), "
        + "\(options.threads) threads, \(rounds) rounds × ~\(seconds) s, gradients fixed between steps")
    for line in machine.summary { say(line) }
    if !options.bandwidth { say("bandwidth not measured (--no-bandwidth)") }
    say()

    let names = second.map { s in s.recipe.method == first.recipe.method ? ("baseline.\(first.recipe.method)", "candidate.\(s.recipe.method)")
                                                                          : (first.recipe.method, s.recipe.method) }
    var results: [BenchmarkResult] = []
    var report: BenchmarkReport
    var comparison: BenchmarkComparisonResult?
    do {
        let base = first.benchmark(name: names?.0 ?? first.recipe.method, layout: layout, threads: options.threads)
        if let second, let names {
            let c = try BenchmarkComparison(baseline: base, candidate: second.benchmark(name: names.1, layout: layout, threads: options.threads))
                .run(policy: policy, bandwidth: bandwidth)
            results = [c.baseline, c.candidate]
            report = c.report()
            comparison = c
        } else {
            let r = try base.run(policy: policy, bandwidth: bandwidth)
            results = [r]
            report = r.report()
        }
    } catch {
        FileHandle.standardError.write(Data("graft bench: \(error)\n".utf8))
        exit(1)
    }
    report.settings.bandwidthBufferMegabytes = options.bandwidth ? options.bandwidthMegabytes : 0
    if options.json {
        do {
            let data = try report.jsonData()
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("graft bench: cannot encode the JSON: \(error)\n".utf8))
            exit(1)
        }
        exit(0)
    }
    if let probe = results.first?.bandwidth, !probe.isEmpty {
        let t = options.threads
        say("bandwidth (STREAM-style, \(options.bandwidthMegabytes) MB buffers, best of passes, \(t) threads): "
            + "triad \(Format.fixed(MemoryProbe.best("triad", threads: t, in: probe) ?? .nan, 1)) GB/s, "
            + "in-place update \(Format.fixed(MemoryProbe.best("update", threads: t, in: probe) ?? .nan, 1)) GB/s")
        say()
    }
    let header = ["transform", "ns/p p0", "ns/p p50", "ns/p p90", "step p50", "B/p", "GB/s", "×triad", "×update", "fused"]
    say(Format.table(header, results.map { r in
        [r.row.workload, Format.fixed(r.nsPerParameter("p0") ?? .nan, 3), Format.fixed(r.nsPerParameter, 3),
         Format.fixed(r.nsPerParameter("p90") ?? .nan, 3), Format.time(r.timing.p50), "\(r.row.bytesPerParameter)",
         Format.fixed(r.gbPerSecond, 1), Format.ratio(r.ratioToTriad), Format.ratio(r.ratioToUpdate),
         r.isFused.map { $0 ? "yes" : "NO" } ?? "—"]
    }))
    say()
    for (r, recipe) in zip(results, [first] + (second.map { [$0] } ?? [])) {
        say("\(r.row.workload): \(recipe.text)")
        say("  byte model \(r.row.bytesPerParameter) B/p: \(r.row.byteModel)\(recipe.modelIsLowerBound ? " — give --bytes N for this recipe's own model" : "")")
        say("  \(r.timing.samples) steps timed (\(r.timing.rounds) rounds × \(r.timing.iterationsPerRound))")
    }
    if let c = comparison {
        say()
        say("ratio \(c.candidate.row.workload) ÷ \(c.baseline.row.workload): \(Format.fixed(c.ratio, 3))× ns/param (medians of all steps); "
            + "per round p10 \(Format.fixed(c.spread.p10, 3)), p50 \(Format.fixed(c.spread.p50, 3)), p90 \(Format.fixed(c.spread.p90, 3)) "
            + "over \(c.spread.rounds.count) interleaved rounds")
    }
    let end = MachineInfo.loadAverage().map { Format.fixed($0, 2) }.joined(separator: " ")
    say("load      \(end) (1/5/15 min) at end")
    exit(0)
}
