import Foundation

/// A whole run as the `graft-bench/1` JSON document (schema in Benchmarks/README.md): what
/// graft-bench writes with `--json` and `graft bench --json` prints.
///
/// The sections only graft-bench fills (`gemm`, `training`, `perTensor`, `snapshot`, `targets`)
/// are carried as opaque ``Section`` values and written as `[]` when absent, so every document
/// has every key of the schema.
public struct BenchmarkReport: Encodable, Sendable {
    /// `graft-bench/1`.
    public static let schemaName = "graft-bench/1"
    /// The keys of graft-bench's own sections (arrays; `[]` unless given in ``sections``).
    public static let sectionKeys = ["gemm", "training", "perTensor", "snapshot", "targets"]

    /// Always ``schemaName``.
    public var schema = BenchmarkReport.schemaName
    /// ISO-8601 start time.
    public var started: String
    /// Wall time of the run, s.
    public var elapsedSeconds: Double = 0
    /// The machine.
    public var machine: MachineInfo
    /// The settings of the run.
    public var settings: Settings
    /// The bandwidth probe's results (empty: not run).
    public var bandwidth: [MemoryProbeResult] = []
    /// Every layout timed.
    public var layouts: [ParameterLayout] = []
    /// Every optimizer and floor row.
    public var optimizer: [OptimizerResult] = []
    /// Which variant of graft-bench's C floors ran (`avx2+fma`, `baseline`; empty: none ran).
    public var floorVariant = ""
    /// graft-bench's own sections by key (one of ``sectionKeys``).
    public var sections: [String: Section] = [:]

    /// The `settings` object.
    public struct Settings: Codable, Sendable, Equatable {
        /// graft-bench `--quick`.
        public var quick: Bool
        /// `--filter` substrings.
        public var filters: [String]
        /// `--exclude` substrings.
        public var excludes: [String]
        /// Nominal sizes.
        public var sizes: [Int]
        /// Layout names.
        public var layouts: [String]
        /// Graft threads.
        public var threads: Int
        /// Warm-up seconds of the optimizer policy.
        public var warmupSeconds: Double
        /// Target seconds per round.
        public var roundSeconds: Double
        /// Rounds.
        public var rounds: Int
        /// Bandwidth probe buffer size, MB (each of three buffers).
        public var bandwidthBufferMegabytes: Int
        /// Always true: gradients are fixed between steps.
        public var gradientsFixed = true

        /// Settings as given.
        public init(quick: Bool, filters: [String], excludes: [String], sizes: [Int], layouts: [String], threads: Int,
                    warmupSeconds: Double, roundSeconds: Double, rounds: Int, bandwidthBufferMegabytes: Int) {
            self.quick = quick
            self.filters = filters
            self.excludes = excludes
            self.sizes = sizes
            self.layouts = layouts
            self.threads = threads
            self.warmupSeconds = warmupSeconds
            self.roundSeconds = roundSeconds
            self.rounds = rounds
            self.bandwidthBufferMegabytes = bandwidthBufferMegabytes
        }

        /// The settings of one policy over some layouts.
        public init(policy: TimingPolicy, layouts: [ParameterLayout], threads: Int, bandwidthBufferMegabytes: Int, quick: Bool = false) {
            var sizes: [Int] = [], names: [String] = []
            for l in layouts {
                if !sizes.contains(l.nominalSize) { sizes.append(l.nominalSize) }
                if !names.contains(l.name) { names.append(l.name) }
            }
            self.init(quick: quick, filters: [], excludes: [], sizes: sizes, layouts: names, threads: threads,
                      warmupSeconds: policy.warmupSeconds, roundSeconds: policy.roundSeconds, rounds: policy.rounds,
                      bandwidthBufferMegabytes: bandwidthBufferMegabytes)
        }
    }

    /// An encodable value of one of graft-bench's own sections.
    public struct Section: Encodable, Sendable {
        private let body: @Sendable (Encoder) throws -> Void
        /// Wraps `value` (an array of graft-bench's rows).
        public init<T: Encodable & Sendable>(_ value: T) { body = { try value.encode(to: $0) } }
        /// Encodes the wrapped value.
        public func encode(to encoder: Encoder) throws { try body(encoder) }
    }

    /// A report started now.
    public init(started: String = ISO8601DateFormatter().string(from: Date()), machine: MachineInfo, settings: Settings) {
        self.started = started
        self.machine = machine
        self.settings = settings
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Writes every key of the schema (graft-bench's sections as given, `[]` when absent).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(schema, forKey: Key("schema"))
        try c.encode(started, forKey: Key("started"))
        try c.encode(elapsedSeconds, forKey: Key("elapsedSeconds"))
        try c.encode(machine, forKey: Key("machine"))
        try c.encode(settings, forKey: Key("settings"))
        try c.encode(bandwidth, forKey: Key("bandwidth"))
        try c.encode(layouts, forKey: Key("layouts"))
        try c.encode(optimizer, forKey: Key("optimizer"))
        try c.encode(floorVariant, forKey: Key("floorVariant"))
        for key in BenchmarkReport.sectionKeys {
            if let s = sections[key] { try c.encode(s, forKey: Key(key)) } else { try c.encode([Int](), forKey: Key(key)) }
        }
    }

    /// The best GB/s of a bandwidth kernel at `threads` threads, if measured.
    public func bandwidth(_ kernel: String, threads: Int) -> Double? {
        MemoryProbe.best(kernel, threads: threads, in: bandwidth)
    }

    /// The document as pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Writes the document to `path` (atomically).
    public func write(json path: String) throws {
        try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
