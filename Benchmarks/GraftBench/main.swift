import Foundation
import GraftOptim
import GraftTensor

// graft-bench: Graft's optimizer, bandwidth, sgemm and training-step benchmarks.
// See Benchmarks/README.md for the flags, the byte models and the JSON schema.

/// Prints a line unbuffered (rows appear as they are measured, also through a pipe).
func emit(_ line: String = "") {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("graft-bench: \(message)\n".utf8))
    exit(2)
}

/// Whether this is a debug build (a function, so the rest of `main` is not unreachable code there).
@inline(never) func isDebugBuild() -> Bool {
    #if DEBUG
    return true
    #else
    return false
    #endif
}

if isDebugBuild() {
    fail("refusing to run a debug build: timings of unoptimised code mean nothing. Run `swift run -c release graft-bench`.")
}

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch let e as OptionError {
    if e.message.isEmpty { emit(Options.usage); exit(0) }
    fail("\(e.message) (see --help)")
} catch {
    fail("\(error)")
}

FloatingPointEnvironment.flushSubnormalsToZero()
let threads = options.threads ?? System.activeProcessorCount
Parallel.threads = threads
BLAS.threads = threads

let sizes = options.sizes ?? (options.quick ? [100_000, 1_000_000] : [100_000, 1_000_000, 10_000_000])
let layoutNames = options.layouts ?? Layout.names
let rounds = options.rounds ?? (options.quick ? 2 : 3)
let roundSeconds = options.roundSeconds ?? (options.quick ? 0.05 : 0.2)
let optimizerPolicy = TimingPolicy(warmupSeconds: roundSeconds / 4, warmupIterations: 3, roundSeconds: roundSeconds, rounds: rounds)
let probePolicy = TimingPolicy(warmupSeconds: 0, warmupIterations: 1, roundSeconds: options.quick ? 0.15 : 0.3, rounds: 1)
let gemmPolicy = TimingPolicy(warmupSeconds: roundSeconds / 4, warmupIterations: 2, roundSeconds: roundSeconds / 4, rounds: rounds)
let trainingPolicy = TimingPolicy(warmupSeconds: roundSeconds / 2, warmupIterations: 3, roundSeconds: roundSeconds * 1.5, rounds: rounds)
let workloads = OptimizerWorkload.all()

func optimizerID(_ w: String, _ layout: String, _ size: Int) -> String { "optimizer/\(w)/\(layout)/\(Format.size(size))" }
func floorID(_ f: FloorKernels.Kind, _ layout: String, _ size: Int) -> String {
    "floor/\(f.rawValue.replacingOccurrences(of: "floor.", with: ""))/\(layout)/\(Format.size(size))"
}
func gemmID(_ c: TrainingConfiguration) -> String { "gemm/\(c.name)/b\(c.batch)" }
func trainID(_ c: TrainingConfiguration) -> String { "train/\(c.name)/b\(c.batch)/\(c.optimizer)" }

if options.list {
    // The ids the run would select (floors a selected workload needs also run).
    var ids: [String] = []
    for size in sizes {
        for layout in layoutNames {
            for f in [FloorKernels.Kind.adam, .digrap] { ids.append(floorID(f, layout, size)) }
            for w in workloads { ids.append(optimizerID(w.name, layout, size)) }
        }
    }
    var seen = Set<String>()
    for c in TrainingBenchmark.configurations where seen.insert(gemmID(c)).inserted { ids.append(gemmID(c)) }
    for c in TrainingBenchmark.configurations { ids.append(trainID(c)) }
    ids += LayerWorkloads.configurations.map(LayerWorkloads.id)  // ViT block and small CNN (LayerWorkloads.swift)
    for id in ids where options.selects(id) { emit(id) }
    exit(0)
}

let startTime = Clock.now()
let formatter = ISO8601DateFormatter()
var report = Report(started: formatter.string(from: Date()), machine: MachineInfo.current(),
                    settings: .init(quick: options.quick, filters: options.filters, excludes: options.excludes, sizes: sizes, layouts: layoutNames, threads: threads,
                                    warmupSeconds: optimizerPolicy.warmupSeconds, roundSeconds: roundSeconds, rounds: rounds,
                                    bandwidthBufferMegabytes: options.bandwidthMegabytes))

emit("graft-bench (schema \(report.schema)) \(report.started)")
for line in report.machine.summary { emit(line) }
emit("settings  sizes \(sizes.map(Format.size).joined(separator: ",")), layouts \(layoutNames.joined(separator: ",")), \(rounds) rounds × ~\(roundSeconds) s, gradients fixed between steps\(options.filters.isEmpty ? "" : ", filter \(options.filters)")\(options.excludes.isEmpty ? "" : ", exclude \(options.excludes)")")
if report.machine.avx512 && report.machine.openBLASCoretypeEnvironment == nil && report.machine.openBLASCore.lowercased() == "prescott" {
    emit("note      OpenBLAS runs its generic Prescott kernels on this AVX-512 CPU; `OPENBLAS_CORETYPE=SkylakeX` (or Cooperlake) set before the")
    emit("          process starts selects the AVX-512 kernels (see Benchmarks/README.md). The sgemm and training figures below use \(report.machine.openBLASCore).")
}
emit()

// MARK: - Memory bandwidth

if options.bandwidth {
    emit("Memory bandwidth (STREAM-style, 3 × \(options.bandwidthMegabytes) MB buffers; copy counts 8 B/element, triad and in-place update 12 B/element, no write-allocate)")
    report.bandwidth = MemoryProbe.run(bufferMegabytes: options.bandwidthMegabytes, maxThreads: threads, policy: probePolicy)
    emit(Format.table(["kernel", "threads", "best GB/s", "median GB/s", "passes"], report.bandwidth.map {
        [$0.kernel, "\($0.threads)", String(format: "%.1f", $0.bestGBPerSecond), String(format: "%.1f", $0.medianGBPerSecond), "\($0.timing.samples)"]
    }))
    emit()
}
let triad = report.bandwidth("triad", threads: threads)
let inPlace = report.bandwidth("update", threads: threads)

// MARK: - Optimizer steps

emit("Optimizer steps: ns/p = step time / parameters; GB/s = byte model (B/p) × parameters / median step;")
emit("×triad, ×upd = GB/s over the best \(threads)-thread triad (\(triad.map { String(format: "%.1f GB/s", $0) } ?? "not measured")) and in-place update")
emit("(\(inPlace.map { String(format: "%.1f GB/s", $0) } ?? "not measured")); ×floor = ns/p over the fused reference loop of the same step;")
emit("×adamFloor = ns/p over the fused Adam loop (same layout and size).")
emit()
emit(Format.table(OptimizerResult.header, [], leftColumns: 2, minimumWidths: OptimizerResult.widths))

for size in sizes {
    for layoutName in layoutNames {
        let selected = workloads.filter { options.selects(optimizerID($0.name, layoutName, size)) }
        var floorsWanted = Set<FloorKernels.Kind>()
        for f in [FloorKernels.Kind.adam, .digrap] where options.selects(floorID(f, layoutName, size)) { floorsWanted.insert(f) }
        if !selected.isEmpty { floorsWanted.insert(.adam) }
        for w in selected { if let f = w.floor { floorsWanted.insert(f) } }
        guard !floorsWanted.isEmpty else { continue }

        let layout = Layout.make(layoutName, size: size)
        report.layouts.append(layout)
        let data: LayoutData
        do { data = try LayoutData(layout, seed: UInt64(size) &+ UInt64(layoutName.count)) } catch { fail("\(error)") }
        var floorNs: [FloorKernels.Kind: Double] = [:]
        let n = layout.parameterCount
        func result(id: String, workload: String, kind: String, summary: String, objectives: Int, bytes: Int, model: String,
                    timing: Statistics, floor: FloorKernels.Kind?, telemetry: [String: Double]) -> OptimizerResult {
            let perParam = ["p0": timing.p0 / Double(n), "p50": timing.p50 / Double(n), "p90": timing.p90 / Double(n),
                            "p100": timing.p100 / Double(n)]
            let gbs = Double(bytes) * Double(n) / timing.p50
            return OptimizerResult(id: id, workload: workload, kind: kind, summary: summary, layout: layoutName, nominalSize: size,
                                   parameters: n, tensors: layout.tensors.count, objectives: objectives, bytesPerParameter: bytes,
                                   byteModel: model, timing: timing, nsPerParameter: perParam, gbPerSecond: gbs,
                                   ratioToTriad: triad.map { gbs / $0 }, ratioToUpdate: inPlace.map { gbs / $0 }, floor: floor?.rawValue,
                                   ratioToFloor: floor.flatMap { floorNs[$0] }.map { perParam["p50"]! / $0 },
                                   ratioToAdamFloor: floorNs[.adam].map { perParam["p50"]! / $0 }, telemetry: telemetry)
        }
        for f in [FloorKernels.Kind.adam, .digrap] where floorsWanted.contains(f) {
            let kernels = FloorKernels(kind: f, data: data, threads: threads)
            let timing = measure(optimizerPolicy) { kernels.run() }
            floorNs[f] = timing.p50 / Double(n)
            let (bytes, model, summary) = f == .adam
                ? (28, "θ r+w, g r, m r+w, v r+w (one pass)", "fused Adam loop on raw buffers")
                : (52, "pass 1: g, θ, θ0, p r (16); pass 2: g r, θ r+w, θ0 r, p w, m r+w, v r+w (36)", "fused two-pass DiGraP (learned ω) + Adam loop")
            let r = result(id: floorID(f, layoutName, size), workload: f.rawValue, kind: "floor", summary: summary, objectives: 1,
                           bytes: bytes, model: model, timing: timing, floor: f,
                           telemetry: f == .digrap ? ["projected_share": Double(kernels.projected) / Double(kernels.step * layout.tensors.filter(\.anchored).count)] : [:])
            report.optimizer.append(r)
            emit(String(Format.table(OptimizerResult.header, [r.row], leftColumns: 2, minimumWidths: OptimizerResult.widths).split(separator: "\n").last!))
        }
        for w in selected {
            do {
                let (optimizer, step) = try w.prepare(data)
                let timing = try measure(optimizerPolicy, step)
                let r = result(id: optimizerID(w.name, layoutName, size), workload: w.name, kind: "graft", summary: w.summary,
                               objectives: w.objectives, bytes: w.bytesPerParameter, model: w.byteModel, timing: timing,
                               floor: w.floor, telemetry: w.telemetry(optimizer, data))
                report.optimizer.append(r)
                emit(String(Format.table(OptimizerResult.header, [r.row], leftColumns: 2, minimumWidths: OptimizerResult.widths).split(separator: "\n").last!))
            } catch {
                fail("\(w.name) on \(layoutName) \(Format.size(size)): \(error)")
            }
        }
    }
}
emit()

// MARK: - sgemm probe and training steps

let trainingSelected = TrainingBenchmark.configurations.filter { options.selects(trainID($0)) }
var probeTotals: [String: Double] = [:]
var gemmDone = Set<String>()
let gemmWanted = TrainingBenchmark.configurations.filter { c in
    options.selects(gemmID(c)) || trainingSelected.contains { $0.name == c.name && $0.batch == c.batch }
}
if !gemmWanted.isEmpty {
    emit("sgemm at the training-step shapes (OpenBLAS core \(report.machine.openBLASCore), \(threads) threads; GFLOP/s at the median)")
    var rows: [[String]] = []
    for c in gemmWanted where gemmDone.insert(gemmID(c)).inserted {
        let results = GemmProbe.run(sizes: c.sizes, batch: c.batch, model: c.name, policy: gemmPolicy)
        report.gemm += results
        probeTotals[gemmID(c)] = results.reduce(0) { $0 + $1.timing.p50 }
        for r in results {
            rows.append(["\(c.name) b\(c.batch)", r.shape.name, "\(r.shape.transposeA ? "T" : "N")\(r.shape.transposeB ? "T" : "N")",
                         "\(r.shape.m)×\(r.shape.n)×\(r.shape.k)", Format.time(r.timing.p50), String(format: "%.1f", r.gflopsPerSecond / 1)])
        }
        rows.append(["\(c.name) b\(c.batch)", "all GEMMs of a step", "", "", Format.time(probeTotals[gemmID(c)]!), ""])
    }
    emit(Format.table(["model", "gemm", "op", "m×n×k", "p50", "GFLOP/s"], rows, leftColumns: 2))
    emit()
}

if !trainingSelected.isEmpty {
    emit("Training steps (fixed batch; forward incl. loss, backward incl. loss gradient, optimizer step; medians)")
    var rows: [[String]] = []
    for c in trainingSelected {
        do {
            for model in try TrainingBenchmark.models(c) {
                let r = try TrainingBenchmark.run(c, model: model, policy: trainingPolicy, probe: probeTotals[gemmID(c)])
                report.training.append(r)
                let row = [r.model, "\(r.batch)", r.optimizer, r.implementation, Format.count(r.parameters), Format.time(r.forward.p50),
                           Format.time(r.backward.p50), Format.time(r.optimizerStep.p50), Format.time(r.total.p50), Format.time(r.total.p90),
                           r.gemmInStep.map { Format.time($0.p50) } ?? "—", r.gemmShare.map { String(format: "%.0f%%", $0 * 100) } ?? "—",
                           r.gemmProbeNanoseconds.map(Format.time) ?? "—"]
                rows.append(row)
            }
        } catch {
            fail("training \(c.label): \(error)")
        }
    }
    emit(Format.table(["model", "batch", "optimizer", "impl", "params", "forward", "backward", "opt step", "step p50", "step p90",
                        "GEMM in step", "GEMM share", "GEMMs alone"], rows))
    emit()
}

// ViT block and small CNN (LayerWorkloads.swift): forward, backward, Adam step.
do {
    let results = try LayerWorkloads.run(selected: options.selects, policy: trainingPolicy)
    if !results.isEmpty {
        emit("Layer training steps (GraftNN ViT block and small CNN, Adam; medians)")
        report.training += results
        emit(Format.table(["model", "batch", "params", "forward", "backward", "opt step", "step p50", "step p90"], results.map { r in
            [r.model, "\(r.batch)", Format.count(r.parameters), Format.time(r.forward.p50), Format.time(r.backward.p50),
             Format.time(r.optimizerStep.p50), Format.time(r.total.p50), Format.time(r.total.p90)]
        }))
        emit()
    }
} catch {
    fail("layer training steps: \(error)")
}

// MARK: - Targets

/// Issue 7's targets, checked where this run has the figures.
@MainActor func targetLines() -> [[String]] {
    var rows: [[String]] = []
    func opt(_ w: String, _ layout: String, _ size: Int) -> OptimizerResult? {
        report.optimizer.first { $0.workload == w && $0.layout == layout && $0.nominalSize == size }
    }
    func add(_ what: String, _ r: OptimizerResult?, target: Double, floorWorkload: String) {
        guard let r else { return }
        let ns = r.nsPerParameter["p50"]!
        let f = opt(floorWorkload, r.layout, r.nominalSize)?.nsPerParameter["p50"]
        rows.append([what, String(format: "%.3f ns/p", ns), f.map { String(format: "%.3f ns/p", $0) } ?? "—",
                     String(format: "≤ %.2f ns/p", target), ns <= target ? "met" : String(format: "missed by %.0f%%", (ns / target - 1) * 100)])
    }
    add("Adam, 1e6 mixed", opt("adam", "mixed", 1_000_000), target: 0.5, floorWorkload: "floor.adam")
    for layout in layoutNames { add("Adam, 1e7 \(layout)", opt("adam", layout, 10_000_000), target: 0.55, floorWorkload: "floor.adam") }
    add("DiGraP learned, 1e6 mixed", opt("digrap.learned.gradient", "mixed", 1_000_000), target: 1.0, floorWorkload: "floor.digrap")
    for (sizes, target) in [([784, 512, 256, 10], 2.6e6), ([784, 2048, 2048, 10], 27e6)] {
        for r in report.training where r.model == TrainingConfiguration(sizes: sizes, batch: 128, optimizer: "adam").name
                                        && r.batch == 128 && r.optimizer == "adam" {
            rows.append(["\(r.model) b128 step (\(r.implementation))", Format.time(r.total.p50), r.gemmProbeNanoseconds.map(Format.time) ?? "—",
                         "≤ \(Format.time(target))", r.total.p50 <= target ? "met" : String(format: "missed by %.0f%%", (r.total.p50 / target - 1) * 100)])
        }
    }
    return rows
}

let targets = targetLines()
if !targets.isEmpty {
    emit("Targets (issue 7; measured medians, \(threads) threads)")
    emit(Format.table(["workload", "Graft", "floor / GEMMs alone", "target", "status"], targets))
    emit()
}

report.machine.loadAverageAtEnd = MachineInfo.loadAverage()
report.elapsedSeconds = Double(Clock.now() - startTime) / 1e9
emit("load      \(report.machine.loadAverageAtEnd!.map { String(format: "%.2f", $0) }.joined(separator: " ")) (1/5/15 min) at end; elapsed \(String(format: "%.1f", report.elapsedSeconds)) s")
if let path = options.json {
    do {
        try report.write(json: path)
        emit("wrote \(path)")
    } catch {
        fail("cannot write \(path): \(error)")
    }
}
