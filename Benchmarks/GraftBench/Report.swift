import GraftBenchmarking
import Foundation


/// The whole run, as written by `--json` (schema `graft-bench/1`, see Benchmarks/README.md):
/// GraftBenchmarking's ``BenchmarkReport`` plus graft-bench's own sections.
struct Report {
    var schema = BenchmarkReport.schemaName
    var started: String
    var elapsedSeconds: Double = 0
    var machine: MachineInfo
    var settings: Settings
    var bandwidth: [MemoryProbeResult] = []
    var layouts: [Layout] = []
    var optimizer: [OptimizerResult] = []
    var gemm: [GemmProbeResult] = []
    var training: [TrainingResult] = []
    /// Which variant of the C floors ran (`avx2+fma` or `baseline`).
    var floorVariant = ""
    /// Per-tensor overhead rows (`overhead/adam/20000x<n>`).
    var perTensor: [PerTensorResult] = []
    /// Snapshot rows (`snapshot/adam/<layout>/<size>`).
    var snapshot: [SnapshotResult] = []
    /// The issue-12 / issue-13 targets, as checked by this run.
    var targets: [TargetResult] = []

    typealias Settings = BenchmarkReport.Settings

    func bandwidth(_ kernel: String, threads: Int) -> Double? {
        MemoryProbe.best(kernel, threads: threads, in: bandwidth)
    }

    /// The graft-bench/1 document.
    var document: BenchmarkReport {
        var d = BenchmarkReport(started: started, machine: machine, settings: settings)
        d.elapsedSeconds = elapsedSeconds
        d.bandwidth = bandwidth
        d.layouts = layouts
        d.optimizer = optimizer
        d.floorVariant = floorVariant
        d.sections = ["gemm": .init(gemm), "training": .init(training), "perTensor": .init(perTensor),
                      "snapshot": .init(snapshot), "targets": .init(targets)]
        return d
    }

    func write(json path: String) throws {
        try document.write(json: path)
    }
}

