import Foundation
import GradientNoiseExample
import GraftBenchmarking
import GraftOptim
import GraftTensor

// Benchmarking your own transform.
//
// The CustomTransform example's `GradientNoise` (a user-written ElementwiseTransform) joins Adam
// in a chain. Does it still run as one fused kernel, and what does the noise cost per parameter?
// GraftBenchmarking answers both in a few lines:
//
//     let layout = try ParameterLayout.standard("mixed", size: 1_000_000)
//     let adam = TransformBenchmark(name: "adam", transform: try Recipes.adam(learningRate: 1e-3),
//                                   layout: layout, threads: 2, bytesPerParameter: .adam)
//     let noisy = TransformBenchmark(name: "noise-adam", transform: try chain {
//                                        try GradientNoise(eta: 0.01, seed: 7)
//                                        try ScaleByAdam()
//                                        try ScaleByLearningRate(1e-3)
//                                    }, layout: layout, threads: 2, bytesPerParameter: .adam)
//     let result = try BenchmarkComparison(baseline: adam, candidate: noisy).run()
//     print(result.markdown())
//
// Both are measured interleaved in one run (round-robin, the first alternating each round), so a
// busy machine slows both alike; the ratio is reported with its spread over rounds. The byte
// model is Adam's (θ r+w, g r, m r+w, v r+w: the noise reads and writes no memory of its own).

let usage = """
    usage: BenchmarkYourTransform [options]

    Benchmarks the CustomTransform example's chain (GradientNoise → Adam → lr) against Graft's
    built-in Adam, interleaved in one run with GraftBenchmarking's comparison mode, on fixed
    gradients. Prints whether each runs fused (Optimizer.isFused(group:)), a Markdown table with
    ns/param, GB/s under Adam's byte model and the ratio to a memory-bandwidth probe, and the
    ratio noise-adam ÷ adam with its p10–p90 spread over rounds. Release builds only:
    swift run -c release BenchmarkYourTransform

    options:
      --layout NAME      single, equal100 or mixed (default \(Options().layout))
      --size N           parameters, e.g. 1e6 (default 1e6; 1000…10^9)
      --threads N        Graft threads (default: all cores)
      --eta X            GradientNoise variance scale η (default \(Options().eta))
      --rounds N         interleaved rounds (default \(Options().rounds))
      --seconds S        target seconds per round and case (default \(Options().seconds))
      --bandwidth-mb MB  bandwidth probe buffers (default \(Options().bandwidthMegabytes); 0 skips the probe)
      --json FILE        also write both rows as graft-bench/1 JSON
      --help             this text
    """

struct Options {
    var layout = "mixed"
    var size = 1_000_000
    var threads = System.activeProcessorCount
    var eta: Float = 0.01
    var rounds = 10
    var seconds = 0.05
    var bandwidthMegabytes = 64
    var json: String?
}

func usageError(_ message: String) -> Never {
    FileHandle.standardError.write(Data("BenchmarkYourTransform: \(message) (see --help)\n".utf8))
    exit(2)
}

func parse(_ arguments: [String]) -> Options {
    var o = Options()
    var args = arguments[...]
    func value(_ flag: String) -> String {
        guard let v = args.popFirst() else { usageError("\(flag) needs a value") }
        return v
    }
    func whole(_ flag: String, _ range: ClosedRange<Int>) -> Int {
        let text = value(flag)
        var n: Int?
        if let i = Int(text) { n = i } else if let d = Double(text), d.isFinite, d == d.rounded(), abs(d) < 1e15 { n = Int(d) }
        guard let n, range.contains(n) else { usageError("\(flag) needs a whole number in \(range.lowerBound)…\(range.upperBound), got \"\(text)\"") }
        return n
    }
    func number(_ flag: String, _ range: ClosedRange<Double>) -> Double {
        let text = value(flag)
        guard let d = Double(text), d.isFinite, range.contains(d) else { usageError("\(flag) needs a number in [\(range.lowerBound), \(range.upperBound)], got \"\(text)\"") }
        return d
    }
    while let a = args.popFirst() {
        switch a {
        case "--layout":
            let name = value(a)
            guard ParameterLayout.standardNames.contains(name) else { usageError("unknown layout \"\(name)\" (single, equal100, mixed)") }
            o.layout = name
        case "--size": o.size = whole(a, 1000...1_000_000_000)
        case "--threads": o.threads = whole(a, 1...1024)
        case "--eta": o.eta = Float(number(a, 0...1000))
        case "--rounds": o.rounds = whole(a, 1...10_000)
        case "--seconds":
            let s = number(a, 0...60)
            guard s > 0 else { usageError("--seconds needs a number in (0, 60], got \"\(s)\"") }
            o.seconds = s
        case "--bandwidth-mb": o.bandwidthMegabytes = whole(a, 0...4096)
        case "--json":
            let path = value(a)
            guard !path.isEmpty else { usageError("--json needs a file name, got an empty one") }
            o.json = path
        case "--help", "-h":
            print(usage)
            exit(0)
        default: usageError("unknown option \(a)")
        }
    }
    return o
}

let options = parse(Array(CommandLine.arguments.dropFirst()))
if BuildGuard.current.isDebugBuild() {
    FileHandle.standardError.write(Data("BenchmarkYourTransform: \(BenchmarkError.debugBuild); run `swift run -c release BenchmarkYourTransform`\n".utf8))
    exit(2)
}
BLAS.threads = options.threads
FloatingPointEnvironment.flushSubnormalsToZero()

func progress(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

do {
    let layout = try ParameterLayout.standard(options.layout, size: options.size)
    let lr: Schedule = 1e-3
    // The built-in rule the custom transform extends.
    let adam = TransformBenchmark(name: "adam", summary: "Graft's Adam (Recipes.adam, lr 1e-3)",
                                  transform: try Recipes.adam(learningRate: lr),
                                  layout: layout, threads: options.threads, bytesPerParameter: .adam)
    // The user's transform in front of the same rule, in one chain.
    let noisy = TransformBenchmark(name: "noise-adam", summary: "GradientNoise (η \(options.eta)) → Adam → lr 1e-3",
                                   transform: try chain {
                                       try GradientNoise(eta: options.eta, seed: 7).named("noise")
                                       try ScaleByAdam().named("adam")
                                       try ScaleByLearningRate(lr)
                                   },
                                   layout: layout, threads: options.threads, bytesPerParameter: .adam)
    let machine = MachineInfo.current()
    progress("BenchmarkYourTransform: GradientNoise → Adam against Adam, \(layout.name) \(Format.size(layout.nominalSize)) "
             + "(\(layout.parameterCount) parameters, \(layout.tensors.count) tensors), \(options.threads) threads")
    for line in machine.summary { progress(line) }
    progress(options.bandwidthMegabytes > 0 ? "measuring memory bandwidth (3 × \(options.bandwidthMegabytes) MB buffers) …" : "bandwidth probe skipped")
    let policy = TimingPolicy(warmupSeconds: options.seconds / 2, warmupIterations: 3, roundSeconds: options.seconds, rounds: options.rounds)
    let bandwidth: BandwidthReference = options.bandwidthMegabytes > 0 ? .measure(bufferMegabytes: options.bandwidthMegabytes) : .none
    progress("timing \(options.rounds) interleaved rounds × ~\(options.seconds) s per transform …")
    let result = try BenchmarkComparison(baseline: adam, candidate: noisy).run(policy: policy, bandwidth: bandwidth)
    progress("")
    for r in [result.baseline, result.candidate] {
        let fused = r.isFused.map { $0 ? "runs fused (one kernel per step)" : "does NOT run fused" } ?? "fusion unknown"
        progress("\(r.row.workload): \(fused)")
    }
    if let probe = result.baseline.bandwidth.first(where: { $0.kernel == "update" && $0.threads == options.threads }) {
        progress("in-place update bandwidth (a = a + s·b, \(options.threads) threads): \(Format.fixed(probe.bestGBPerSecond, 1)) GB/s")
    }
    progress("")
    progress(result.markdown())
    progress("")
    let s = result.spread
    progress("noise-adam ÷ adam: \(Format.fixed(result.ratio, 3))× ns/param; per round p10 \(Format.fixed(s.p10, 3)), "
             + "p50 \(Format.fixed(s.p50, 3)), p90 \(Format.fixed(s.p90, 3)) (\(s.rounds.count) rounds)"
             + (s.p10 <= 1 && s.p90 >= 1 ? " — within this run's noise" : ""))
    let end = MachineInfo.loadAverage().map { Format.fixed($0, 2) }.joined(separator: " ")
    progress("load average \(machine.loadAverageAtStart.map { Format.fixed($0, 2) }.joined(separator: " ")) at start, \(end) at end (1/5/15 min)")
    if let path = options.json {
        try result.report().write(json: path)
        progress("wrote \(path)")
    }
} catch {
    FileHandle.standardError.write(Data("BenchmarkYourTransform: \(error)\n".utf8))
    exit(1)
}
