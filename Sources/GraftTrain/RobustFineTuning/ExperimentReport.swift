import Foundation

/// Aggregates seeds into the Markdown table, the JSON results and the SVG figures of the
/// robust fine-tuning comparison.
public struct ExperimentReport: Sendable {
    /// Per-method aggregate over seeds.
    public struct Row: Sendable, Codable, Equatable {
        /// The method.
        public let method: FineTuneMethod
        /// The method's label in tables and plots.
        public let label: String
        /// ID test accuracy over seeds.
        public let id: MeanStd
        /// Accuracy on each OOD set over seeds.
        public let ood: [MeanStd]
        /// The OOD average over seeds.
        public let oodAverage: MeanStd
        /// DiGraP's μ chosen per seed.
        public let chosenMu: [Float]
        /// Wall-clock seconds per fine-tuning step over seeds (no values for methods without a
        /// training run of their own).
        public let secondsPerStep: MeanStd
    }

    /// Every seed's results.
    public let seeds: [SeedResult]
    /// OOD set names, in column order.
    public let oodNames: [String]
    /// One row per method, in run order.
    public let rows: [Row]

    /// Aggregates `seeds` (mean and sample standard deviation per method).
    public init(seeds: [SeedResult]) {
        self.seeds = seeds
        oodNames = seeds.first?.oodNames ?? []
        var rows: [Row] = []
        let order = seeds.first?.methods.map(\.method) ?? []
        for method in order {
            let results = seeds.compactMap { s in s.methods.first { $0.method == method } }
            let ood = oodNames.indices.map { i in MeanStd(results.map { $0.oodAccuracies[i] }) }
            rows.append(Row(method: method, label: method.label, id: MeanStd(results.map(\.idAccuracy)), ood: ood,
                            oodAverage: MeanStd(results.map(\.oodAverage)), chosenMu: results.compactMap(\.chosenMu),
                            secondsPerStep: MeanStd(results.compactMap(\.secondsPerStep))))
        }
        self.rows = rows
    }

    /// The results table (accuracy in %, mean ± sample std over seeds) with the mean
    /// wall-clock milliseconds per fine-tuning step (`—` without a training run of its own).
    public func markdownTable() throws -> String {
        var table = try MarkdownTable(headers: ["method", "ID"] + oodNames + ["OOD avg", "ms / step"],
                                      alignments: [.left] + Array(repeating: .right, count: oodNames.count + 3))
        for row in rows {
            let time = row.secondsPerStep.values.isEmpty ? "—" : String(format: "%.2f", row.secondsPerStep.mean * 1000)
            try table.append([row.label, row.id.percent()] + row.ood.map { $0.percent() } + [row.oodAverage.percent(), time])
        }
        return table.render()
    }

    /// A per-layer summary of DiGraP's ω: final value (mean over seeds) and conflict share.
    public func omegaSummary() throws -> String? {
        let traces = seeds.flatMap(\.omegaTraces)
        guard !traces.isEmpty else { return nil }
        var table = try MarkdownTable(headers: ["method", "tensor", "final ω", "mean ω", "steps with d < 0", "steps with h > 0"],
                                      alignments: [.left, .left, .right, .right, .right, .right])
        var keys: [(FineTuneMethod, String)] = []
        for t in traces where !keys.contains(where: { $0 == (t.method, t.path) }) { keys.append((t.method, t.path)) }
        for (method, path) in keys {
            let group = traces.filter { $0.method == method && $0.path == path }
            let finals = MeanStd(group.compactMap { $0.omega.last })
            let conflicts = MeanStd(group.map(\.conflictFraction))
            let means = MeanStd(group.map { $0.omega.isEmpty ? 0 : $0.omega.reduce(0, +) / Double($0.omega.count) })
            // From t = 2 on (t = 1 has no hypergradient).
            let positive = MeanStd(group.map { t in
                let h = t.hypergradient.dropFirst()
                return h.isEmpty ? 0 : Double(h.filter { $0 > 0 }.count) / Double(h.count)
            })
            try table.append([method.label, path, String(format: "%.3f", finals.mean), String(format: "%.3f", means.mean),
                              String(format: "%.0f %%", conflicts.mean * 100), String(format: "%.0f %%", positive.mean * 100)])
        }
        return table.render()
    }

    /// ID vs OOD-average accuracy per method (the paper-style scatter), with ± std bars.
    public func scatterPlot() -> SVGScatterPlot {
        SVGScatterPlot(title: "Robust fine-tuning on digits: ID vs OOD accuracy (\(seeds.count) seed\(seeds.count == 1 ? "" : "s"))",
                       xLabel: "ID test accuracy (%)", yLabel: "OOD accuracy, average of \(oodNames.count) shifts (%)",
                       points: rows.map { row in
                           SVGScatterPlot.Point(label: row.label, x: row.id.mean * 100, y: row.oodAverage.mean * 100,
                                                xError: seeds.count > 1 ? row.id.std * 100 : nil,
                                                yError: seeds.count > 1 ? row.oodAverage.std * 100 : nil)
                       })
    }

    /// ω per backbone weight matrix over training steps (first seed), one series per tensor
    /// and DiGraP variant.
    public func omegaPlot() -> SVGLinePlot? {
        guard let first = seeds.first, !first.omegaTraces.isEmpty else { return nil }
        return SVGLinePlot(title: "DiGraP ω per layer over training (seed \(first.seed))", xLabel: "optimizer step", yLabel: "ω",
                           series: first.omegaTraces.map { t in
                               SVGLinePlot.Series(name: "\(t.method.rawValue) \(t.path)", x: t.omega.indices.map { Double($0 + 1) }, y: t.omega)
                           })
    }

    /// The hypergradient h per backbone weight matrix over training steps (first seed; a
    /// 25-step moving average): where it stays above 0, the learned ω is driven to 0.
    public func hypergradientPlot() -> SVGLinePlot? {
        guard let first = seeds.first, !first.omegaTraces.isEmpty else { return nil }
        func smoothed(_ h: [Double]) -> [Double] {
            let window = 25
            return h.indices.map { i in
                let part = h[max(1, i - window + 1)...max(1, i)].filter(\.isFinite)
                return part.isEmpty ? .nan : part.reduce(0, +) / Double(part.count)
            }
        }
        return SVGLinePlot(title: "DiGraP hypergradient h per layer (25-step mean, seed \(first.seed)): h > 0 pushes ω down",
                           xLabel: "optimizer step", yLabel: "h (sum of row cosines)",
                           series: first.omegaTraces.map { t in
                               SVGLinePlot.Series(name: "\(t.method.rawValue) \(t.path)", x: t.hypergradient.indices.dropFirst().map { Double($0 + 1) },
                                                  y: Array(smoothed(t.hypergradient).dropFirst()))
                           })
    }

    /// The whole report as JSON (`graft-robust-finetune/1`).
    public func json(configuration: ExperimentConfiguration) throws -> Data {
        struct Document: Codable {
            let format: String
            let configuration: ExperimentConfiguration
            let oodNames: [String]
            let summary: [Row]
            let seeds: [SeedResult]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(Document(format: "graft-robust-finetune/1", configuration: configuration, oodNames: oodNames,
                                           summary: rows, seeds: seeds))
    }

    /// Writes `results.md`, `results.json`, `id-vs-ood.svg` and (with DiGraP runs) `omega.svg` and
    /// `hypergradient.svg` into `directory`.
    @discardableResult
    public func write(to directory: URL, configuration: ExperimentConfiguration) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [URL] = []
        var markdown = try markdownTable()
        if let omega = try omegaSummary() { markdown += "\n" + omega }
        let md = directory.appendingPathComponent("results.md")
        try AtomicFile.write(markdown, to: md); written.append(md)
        let json = directory.appendingPathComponent("results.json")
        try AtomicFile.write(Array(try self.json(configuration: configuration)), to: json); written.append(json)
        let scatter = directory.appendingPathComponent("id-vs-ood.svg")
        try scatterPlot().write(to: scatter); written.append(scatter)
        if let plot = omegaPlot() {
            let url = directory.appendingPathComponent("omega.svg")
            try plot.write(to: url); written.append(url)
        }
        if let plot = hypergradientPlot() {
            let url = directory.appendingPathComponent("hypergradient.svg")
            try plot.write(to: url); written.append(url)
        }
        return written
    }
}
