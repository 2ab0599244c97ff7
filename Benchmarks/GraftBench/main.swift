import GraftBenchmarking
import CGraftFloors
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

if BuildGuard.current.isDebugBuild() {
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

/// A floor's byte model (bytes and make-up as the floor declares them).
func floorByteModel(_ bytes: Int, _ model: String) -> ByteModel {
    do { return try ByteModel(bytesPerParameter: bytes, description: model) } catch { fail("\(model): \(error)") }
}
func optimizerID(_ w: String, _ layout: String, _ size: Int) -> String { "optimizer/\(w)/\(layout)/\(Format.size(size))" }
func floorID(_ short: String, _ layout: String, _ size: Int) -> String { "floor/\(short)/\(layout)/\(Format.size(size))" }
func swiftFloorShort(_ f: FloorKernels.Kind) -> String { String(f.rawValue.dropFirst("floor.".count)) }
func snapshotID(_ layout: String, _ size: Int) -> String { "snapshot/adam/\(layout)/\(Format.size(size))" }
func gemmID(_ c: TrainingConfiguration) -> String { "gemm/\(c.name)/b\(c.batch)" }
func trainID(_ c: TrainingConfiguration) -> String { "train/\(c.name)/b\(c.batch)/\(c.optimizer)" }

if options.checkFloors {
    emit("Floor self-check: \(threads) threads, C floors built with \(graft_floors_avx2() != 0 ? "AVX2+FMA detected" : "the baseline only"); θ after 4 steps,")
    emit("max |Δθ| relative to the largest change of θ (ok: ≤ \(FloorCheck.tolerance) × change + 4 ulp(1))")
    do {
        let rows = try FloorCheck.run(threads: threads)
        emit(Format.table(["floor", "against", "variant", "layout", "max |Δθ|", "max change", "relative", "status"], rows.map {
            [$0.floor, $0.against, $0.variant, $0.layout, String(format: "%.2e", $0.maxDifference), String(format: "%.2e", $0.maxChange),
             String(format: "%.2e", $0.relative), $0.passed ? "ok" : "MISMATCH"]
        }, leftColumns: 4))
        let bad = rows.filter { !$0.passed }.count
        emit("\(rows.count - bad) passed, \(bad) failed")
        exit(bad == 0 ? 0 : 1)
    } catch {
        fail("floor check: \(error)")
    }
}

if options.list {
    // The ids the run would select (floors a selected workload needs also run).
    var ids: [String] = []
    for size in sizes {
        for layout in layoutNames {
            for f in CFloor.Kind.allCases { ids.append(floorID(f.short, layout, size)) }
            for f in [FloorKernels.Kind.adam, .digrap] { ids.append(floorID(swiftFloorShort(f), layout, size)) }
            for w in workloads { ids.append(optimizerID(w.name, layout, size)) }
        }
    }
    var seen = Set<String>()
    for c in TrainingBenchmark.configurations where seen.insert(gemmID(c)).inserted { ids.append(gemmID(c)) }
    for c in TrainingBenchmark.configurations { ids.append(trainID(c)) }
    for e in PerTensorOverhead.shapes { ids.append(PerTensorOverhead.id(e)) }
    if sizes.contains(where: { $0 >= 1_000_000 }) { ids.append(snapshotID("mixed", 10_000_000)) }
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

report.floorVariant = graft_floors_avx2() != 0 ? "avx2+fma" : "baseline"
emit("Optimizer steps: ns/p = step time / parameters; GB/s = byte model (B/p) × parameters / median step;")
emit("×triad, ×upd = GB/s over the best \(threads)-thread triad (\(triad.map { String(format: "%.1f GB/s", $0) } ?? "not measured")) and in-place update")
emit("(\(inPlace.map { String(format: "%.1f GB/s", $0) } ?? "not measured")); ×floor = ns/p over the C floor of the same step (plain fused C loops,")
emit("\(report.floorVariant) variant); a Graft row's floor is timed interleaved with it (\"floor paired\" in the notes: the same moments")
emit("of the machine), the floor.<name> rows are the floors timed on their own. ×adamFloor = ns/p over the floor.adam row (same")
emit("layout and size). floor.swift-* rows: the Swift floors.")
emit()
emit(Format.table(OptimizerResult.header, [], leftColumns: 2, minimumWidths: OptimizerResult.widths))

for size in sizes {
    for layoutName in layoutNames {
        let selected = workloads.filter { options.selects(optimizerID($0.name, layoutName, size)) }
        var floorsWanted = Set<CFloor.Kind>()
        for f in CFloor.Kind.allCases where options.selects(floorID(f.short, layoutName, size)) { floorsWanted.insert(f) }
        if !selected.isEmpty { floorsWanted.insert(.adam) }
        for w in selected { if let f = w.floor { floorsWanted.insert(f) } }
        let swiftFloors = [FloorKernels.Kind.adam, .digrap].filter { options.selects(floorID(swiftFloorShort($0), layoutName, size)) }
        guard !floorsWanted.isEmpty || !swiftFloors.isEmpty else { continue }

        let layout = Layout.make(layoutName, size: size)
        report.layouts.append(layout)
        let data: LayoutData
        do { data = try LayoutData(layout, seed: UInt64(size) &+ UInt64(layoutName.count)) } catch { fail("\(error)") }
        var floorNs: [CFloor.Kind: Double] = [:]
        let n = layout.parameterCount
        // Floor rows: the library's row (the same derived figures as every optimizer row).
        func result(id: String, workload: String, kind: String, summary: String, objectives: Int, bytes: Int, model: String,
                    timing: Statistics, floor: CFloor.Kind?, telemetry: [String: Double]) -> OptimizerResult {
            OptimizerResult(id: id, workload: workload, kind: kind, summary: summary, layout: layout, objectives: objectives,
                                   byteModel: floorByteModel(bytes, model), timing: timing, bandwidth: report.bandwidth, threads: threads,
                                   floor: floor?.rawValue, floorNsPerParameter: floor.flatMap { floorNs[$0] },
                                   adamFloorNsPerParameter: floorNs[.adam], telemetry: telemetry)
        }
        func printRow(_ r: OptimizerResult) {
            emit(String(Format.table(OptimizerResult.header, [r.row], leftColumns: 2, minimumWidths: OptimizerResult.widths).split(separator: "\n").last!))
        }
        // The Adam floor first (every row's ×adamFloor), then the others in declaration order.
        for f in CFloor.Kind.allCases.sorted(by: { ($0 == .adam ? 0 : 1) < ($1 == .adam ? 0 : 1) }) where floorsWanted.contains(f) {
            let kernels = CFloor(kind: f, data: data, threads: threads)
            let timing = measure(optimizerPolicy) { kernels.run() }
            floorNs[f] = timing.p50 / Double(n)
            let anchored = layout.tensors.filter(\.anchored).count
            var telemetry: [String: Double] = [:]
            if [.digrap, .digrapFixed, .digrapUpdate, .digrapFixedUpdate].contains(f) { telemetry["projected_share"] = Double(kernels.events) / Double(kernels.step * anchored) }
            if f == .spd { telemetry["decayed_share"] = Double(kernels.events) / Double(kernels.step * anchored) }
            let r = result(id: floorID(f.short, layoutName, size), workload: f.rawValue, kind: "floor", summary: f.summary, objectives: 1,
                           bytes: f.bytes.0, model: f.bytes.1, timing: timing, floor: f, telemetry: telemetry)
            report.optimizer.append(r)
            printRow(r)
        }
        for f in swiftFloors {
            let kernels = FloorKernels(kind: f, data: data, threads: threads)
            let timing = measure(optimizerPolicy) { kernels.run() }
            let (bytes, model, summary) = f == .adam
                ? (28, "θ r+w, g r, m r+w, v r+w (one pass)", "Swift: fused Adam loop on raw buffers")
                : (52, "pass 1: g, θ, θ0, p r (16); pass 2: g r, θ r+w, θ0 r, p w, m r+w, v r+w (36)", "Swift: fused two-pass DiGraP (learned ω) + Adam loop")
            let c: CFloor.Kind = f == .adam ? .adam : .digrap
            let r = result(id: floorID(swiftFloorShort(f), layoutName, size), workload: f.rawValue, kind: "swift-floor", summary: summary,
                           objectives: 1, bytes: bytes, model: model, timing: timing, floor: floorNs[c] == nil ? nil : c,
                           telemetry: f == .digrap ? ["projected_share": Double(kernels.projected) / Double(kernels.step * layout.tensors.filter(\.anchored).count)] : [:])
            report.optimizer.append(r)
            printRow(r)
        }
        // Graft's rows: each workload as a GraftBenchmarking TransformBenchmark on the shared data,
        // timed interleaved with its own C floor when it has one (×floor from that paired floor).
        for w in selected {
            do {
                let r = try w.run(on: data, threads: threads, floorNs: floorNs, policy: optimizerPolicy, bandwidth: report.bandwidth)
                report.optimizer.append(r)
                printRow(r)
            } catch {
                fail("\(w.name) on \(layoutName) \(Format.size(size)): \(error)")
            }
        }
    }
}
emit()

// The CustomTransform example's row, in words: does the user's transform run fused, and at what cost over Adam.
for r in report.optimizer where r.workload == "custom.noise-adam" {
    let adam = report.optimizer.first { $0.workload == "adam" && $0.kind == "graft" && $0.layout == r.layout && $0.nominalSize == r.nominalSize }
    let fused = r.telemetry["fused"] == 1
    emit("CustomTransform (\(Format.size(r.nominalSize)) \(r.layout)): GradientNoise → Adam → lr \(fused ? "runs fused (isFused(group:) == true)" : "does NOT run fused")"
         + String(format: ", %.3f ns/p", r.nsPerParameter["p50"]!)
         + (adam.map { String(format: " vs Graft Adam %.3f ns/p (%.1f×: the noise generator)", $0.nsPerParameter["p50"]!, r.nsPerParameter["p50"]! / $0.nsPerParameter["p50"]!) } ?? ""))
}
if report.optimizer.contains(where: { $0.workload == "custom.noise-adam" }) { emit() }

// MARK: - Per-tensor overhead

let overheadSelected = PerTensorOverhead.shapes.filter { options.selects(PerTensorOverhead.id($0)) }
if !overheadSelected.isEmpty {
    emit("Per-tensor overhead: Adam over \(PerTensorOverhead.tensors) tiny tensors (all bookkeeping); ns/tensor = median step / tensors")
    var rows: [[String]] = []
    for elements in overheadSelected {
        do {
            let r = try PerTensorOverhead.run(elements: elements, threads: threads, policy: optimizerPolicy)
            report.perTensor.append(r)
            rows.append([r.id, "\(r.tensors) × [\(r.elementsPerTensor)]", Format.time(r.timing.p50), String(format: "%.1f", r.nsPerTensor),
                         String(format: "%.1f", r.floorNsPerTensor), r.nsPerTensor < 50 ? "met" : "missed"])
        } catch {
            fail("per-tensor overhead: \(error)")
        }
    }
    emit(Format.table(["id", "tensors", "step p50", "ns/tensor", "C floor ns/tensor", "< 50 ns"], rows))
    emit()
}

// MARK: - Snapshots

let snapshotSizes = sizes.filter { $0 >= 1_000_000 }.isEmpty ? [] : [10_000_000]
let snapshotWanted = snapshotSizes.filter { options.selects(snapshotID("mixed", $0)) }
if !snapshotWanted.isEmpty {
    emit("Snapshots: Adam state (m, v) after two steps; save = snapshot() + write(to:) (encoded() + atomic file write), load = read(from:)")
    emit("(read + decode + verify) + restore(_:); medians over \(rounds) round(s)")
    var rows: [[String]] = []
    for size in snapshotWanted {
        do {
            let layout = Layout.make("mixed", size: size)
            let data = try LayoutData(layout, seed: 3)
            let r = try SnapshotBenchmark.run(layout: layout, data: data, id: snapshotID("mixed", size), rounds: rounds)
            report.snapshot.append(r)
            rows.append([r.id, Format.count(r.parameters), String(format: "%.1f MB", Double(r.rawStateBytes) / 1e6),
                         String(format: "%.1f MB", Double(r.fileBytes) / 1e6), String(format: "%.4f", r.ratio),
                         Format.time(r.snapshot.p50), Format.time(r.encode.p50), Format.time(r.write.p50), Format.time(r.save.p50),
                         Format.time(r.read.p50), Format.time(r.restore.p50), Format.time(r.load.p50)])
        } catch {
            fail("snapshot: \(error)")
        }
    }
    emit(Format.table(["id", "params", "raw state", "file", "file/raw", "snapshot()", "encoded()", "write(to:)", "save",
                       "read(from:)", "restore", "load"], rows))
    emit()
}

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

var trainingFloors: [String: Double] = [:]
if !trainingSelected.isEmpty {
    emit("Training steps (fixed batch; forward incl. loss, backward incl. loss gradient, optimizer step; medians)")
    var rows: [[String]] = []
    for c in trainingSelected {
        do {
            for model in try TrainingBenchmark.models(c) {
                var r = try TrainingBenchmark.run(c, model: model, policy: trainingPolicy, probe: probeTotals[gemmID(c)])
                if c.optimizer == "adam" {
                    let key = trainID(c)
                    if trainingFloors[key] == nil {
                        trainingFloors[key] = try TrainingBenchmark.adamFloor(model.parameters, threads: threads, policy: optimizerPolicy)
                    }
                    r.optimizerFloorNanoseconds = trainingFloors[key]
                    if let probe = r.gemmProbeNanoseconds, let f = trainingFloors[key] { r.ratioToGemmsPlusFloor = r.total.p50 / (probe + f) }
                }
                report.training.append(r)
                var row: [String] = [r.model, "\(r.batch)", r.optimizer, r.implementation, Format.count(r.parameters), Format.time(r.forward.p50)]
                row += [Format.time(r.backward.p50), Format.time(r.optimizerStep.p50), Format.time(r.total.p50), Format.time(r.total.p90)]
                row.append(r.gemmInStep.map { Format.time($0.p50) } ?? "—")
                row.append(r.gemmShare.map { String(format: "%.0f%%", $0 * 100) } ?? "—")
                row.append(r.gemmProbeNanoseconds.map(Format.time) ?? "—")
                row.append(r.optimizerFloorNanoseconds.map(Format.time) ?? "—")
                row.append(r.ratioToGemmsPlusFloor.map { String(format: "%.2f", $0) } ?? "—")
                rows.append(row)
            }
        } catch {
            fail("training \(c.label): \(error)")
        }
    }
    emit(Format.table(["model", "batch", "optimizer", "impl", "params", "forward", "backward", "opt step", "step p50", "step p90",
                        "GEMM in step", "GEMM share", "GEMMs alone", "Adam floor", "×(GEMMs+floor)"], rows))
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

/// The printed reference of a ×floor target: the floor timed interleaved with the row when it was
/// paired (the figure its `ratioToFloor` divides by, with the median of the per-round ratios),
/// else the floor's own row of the same layout and size; nil when neither is there.
@MainActor func floorReference(of r: OptimizerResult, floor: String) -> String? {
    if r.floorPaired == true, let ns = r.floorNsPerParameter {
        let rounds = r.ratioToFloorRoundsP50.map { String(format: "; rounds %.3f×", $0) } ?? ""
        return String(format: "%.3f ns/p (%@, paired%@)", ns, floor, rounds)
    }
    guard let f = report.optimizer.first(where: { $0.workload == floor && $0.layout == r.layout && $0.nominalSize == r.nominalSize }),
          let ns = f.nsPerParameter["p50"] else { return nil }
    return String(format: "%.3f ns/p (%@, separate run)", ns, floor)
}

/// Issue 12's targets (and issue 13's per-tensor overhead), checked where this run has the figures.
@MainActor func targetResults() -> [TargetResult] {
    var out: [TargetResult] = []
    func ratioTarget(_ label: String, _ workload: String, bound: Double, layouts: [String], sizes wanted: [Int]?) {
        for r in report.optimizer where r.workload == workload && r.kind == "graft" && layouts.contains(r.layout)
                                        && (wanted?.contains(r.nominalSize) ?? true) {
            guard let floor = r.floor, let ratio = r.ratioToFloor, let graftNs = r.nsPerParameter["p50"],
                  let reference = floorReference(of: r, floor: floor)
            else { continue }
            out.append(TargetResult(what: "\(label), \(Format.size(r.nominalSize)) \(r.layout)",
                                    graft: String(format: "%.3f ns/p", graftNs), reference: reference,
                                    value: ratio, bound: bound, target: String(format: "≤ %.2f× floor", bound), met: ratio <= bound))
        }
    }
    let main = ["mixed"]
    ratioTarget("Adam", "adam", bound: 1.3, layouts: main, sizes: [1_000_000, 10_000_000])
    ratioTarget("SGD", "sgd", bound: 1.3, layouts: main, sizes: nil)
    ratioTarget("SGD momentum", "momentum", bound: 1.3, layouts: main, sizes: nil)
    ratioTarget("AdamW", "adamw", bound: 1.3, layouts: main, sizes: nil)
    ratioTarget("DiGraP learned ω (gradient)", "digrap.learned.gradient", bound: 1.5, layouts: main, sizes: [1_000_000])
    ratioTarget("DiGraP fixed ω (gradient)", "digrap.fixed.gradient", bound: 1.5, layouts: main, sizes: nil)
    ratioTarget("SPD", "spd", bound: 1.5, layouts: main, sizes: nil)
    ratioTarget("FTP", "ftp", bound: 1.5, layouts: main, sizes: nil)
    ratioTarget("L2-SP", "l2sp", bound: 1.5, layouts: main, sizes: nil)
    for r in report.training where r.model == "mlp-784-2048-2048-10" && r.batch == 128 && r.optimizer == "adam" {
        guard let ratio = r.ratioToGemmsPlusFloor, let probe = r.gemmProbeNanoseconds, let f = r.optimizerFloorNanoseconds else { continue }
        out.append(TargetResult(what: "\(r.model) b128 Adam step (\(r.implementation))", graft: Format.time(r.total.p50),
                                reference: "\(Format.time(probe + f)) (GEMMs \(Format.time(probe)) + Adam floor \(Format.time(f)))",
                                value: ratio, bound: 1.15, target: "≤ 1.15× (GEMMs + floor)", met: ratio <= 1.15))
    }
    for s in report.snapshot {
        out.append(TargetResult(what: "Adam state snapshot, \(Format.size(s.nominalSize)) \(s.layout)",
                                graft: String(format: "%.1f MB file", Double(s.fileBytes) / 1e6),
                                reference: String(format: "%.1f MB raw state", Double(s.rawStateBytes) / 1e6),
                                value: s.ratio, bound: 1.01, target: "≤ 1.01× raw", met: s.ratio <= 1.01))
    }
    for p in report.perTensor {
        out.append(TargetResult(what: "Per-tensor overhead, Adam, \(p.tensors) × [\(p.elementsPerTensor)]",
                                graft: String(format: "%.1f ns/tensor", p.nsPerTensor),
                                reference: String(format: "%.1f ns/tensor (C floor)", p.floorNsPerTensor),
                                value: p.nsPerTensor, bound: 50, target: "< 50 ns/tensor", met: p.nsPerTensor < 50))
    }
    return out
}

report.targets = targetResults()
if !report.targets.isEmpty {
    emit("Targets (issue 12; per-tensor overhead: issue 13; measured medians, \(threads) threads)")
    emit(Format.table(["target", "Graft", "reference", "measured", "bound", "status"], report.targets.map {
        [$0.what, $0.graft, $0.reference, $0.bound == 50 ? String(format: "%.1f ns", $0.value) : String(format: "%.3f×", $0.value), $0.target,
         $0.met ? "met" : String(format: "missed by %.0f%%", ($0.value / $0.bound - 1) * 100)]
    }, leftColumns: 3))
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
