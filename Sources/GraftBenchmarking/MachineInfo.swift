import Foundation
import GraftTensor

/// What the benchmark ran on: printed above the tables and stored in the JSON.
public struct MachineInfo: Codable, Sendable {
    /// `model name` from /proc/cpuinfo (the first processor).
    public var cpu: String
    /// Cores available to the process (`System.activeProcessorCount`).
    public var cores: Int
    /// Whether the CPU reports AVX-512F (what OpenBLAS kernel choice hinges on here).
    public var avx512: Bool
    /// L3 size as the kernel reports it (`lscpu`-style string from sysfs), when known.
    public var lastLevelCache: String?
    /// `openblas_get_config()`.
    public var openBLASConfiguration: String
    /// `openblas_get_corename()`: the kernel family OpenBLAS selected.
    public var openBLASCore: String
    /// Threads of a matrix product during the run (`BLAS.threads`: blocks on Graft's pool,
    /// OpenBLAS itself single-threaded).
    public var openBLASThreads: Int
    /// `OPENBLAS_CORETYPE` as the process saw it (nil: unset).
    public var openBLASCoretypeEnvironment: String?
    /// Graft's `Parallel.threads` during the run.
    public var graftThreads: Int
    /// Whether the thread that ran the benchmark (and so its kernels' workers) flushed subnormals to zero (FTZ/DAZ).
    public var flushesSubnormals: Bool
    /// 1, 5 and 15 minute load averages when the run started.
    public var loadAverageAtStart: [Double]
    /// Load averages when the run ended.
    public var loadAverageAtEnd: [Double]?
    /// The operating system (`uname -sr`).
    public var system: String
    /// Build configuration of the harness (`release`; debug builds refuse to run unless a test
    /// injects a ``BuildGuard`` that allows them).
    public var build: String

    /// The machine now (load average at start included; `loadAverageAtEnd` is left nil for
    /// the caller to fill when the run ends).
    public static func current() -> MachineInfo {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { $0.split(separator: ":", maxSplits: 1).last }
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        let avx512 = flags.split(separator: " ").contains("avx512f")
        var cache: String?
        for index in (0...4).reversed() {
            let dir = "/sys/devices/system/cpu/cpu0/cache/index\(index)"
            if let level = try? String(contentsOfFile: dir + "/level", encoding: .utf8),
               let size = try? String(contentsOfFile: dir + "/size", encoding: .utf8) {
                cache = "L\(level.trimmingCharacters(in: .whitespacesAndNewlines)) \(size.trimmingCharacters(in: .whitespacesAndNewlines))"
                break
            }
        }
        var u = utsname()
        uname(&u)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return MachineInfo(cpu: model, cores: System.activeProcessorCount, avx512: avx512, lastLevelCache: cache,
                           openBLASConfiguration: BLAS.configuration, openBLASCore: BLAS.coreName,
                           openBLASThreads: BLAS.threads,
                           openBLASCoretypeEnvironment: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
                           graftThreads: Parallel.threads, flushesSubnormals: FloatingPointEnvironment.isFlushingSubnormals,
                           loadAverageAtStart: loadAverage(), loadAverageAtEnd: nil,
                           system: "\(field(u.sysname)) \(field(u.release))", build: BuildGuard.current.isDebugBuild() ? "debug" : "release")
    }

    /// `/proc/loadavg`'s three averages.
    public static func loadAverage() -> [Double] {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    /// Lines for the text report.
    public var summary: [String] {
        var lines = [
            "machine   \(cpu), \(cores) cores\(avx512 ? ", AVX-512" : "")\(lastLevelCache.map { ", \($0)" } ?? ""), \(system)",
            "OpenBLAS  \(openBLASConfiguration) | core \(openBLASCore) | products on \(openBLASThreads) threads (Graft's pool) | OPENBLAS_CORETYPE=\(openBLASCoretypeEnvironment ?? "(unset)")",
            "Graft     \(graftThreads) threads, FTZ/DAZ \(flushesSubnormals ? "on" : "off"), \(build) build",
            "load      \(loadAverageAtStart.map { String(format: "%.2f", $0) }.joined(separator: " ")) (1/5/15 min) at start",
        ]
        if let end = loadAverageAtEnd {
            lines.append("          \(end.map { String(format: "%.2f", $0) }.joined(separator: " ")) at end")
        }
        return lines
    }
}
