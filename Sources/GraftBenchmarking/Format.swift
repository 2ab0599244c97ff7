import Foundation

/// Text formatting for benchmark tables (graft-bench's and `graft bench`'s).
public enum Format {
    /// A duration in ns as `812 ns`, `3.4 µs`, `1.25 ms` or `2.01 s`.
    public static func time(_ ns: Double) -> String {
        if ns >= 1e9 { return String(format: "%.2f s", ns / 1e9) }
        if ns >= 1e6 { return String(format: "%.2f ms", ns / 1e6) }
        if ns >= 1e3 { return String(format: "%.1f µs", ns / 1e3) }
        return String(format: "%.0f ns", ns)
    }

    /// A size as `1e6` when it is a power of ten times one, else in digits.
    public static func size(_ n: Int) -> String {
        var e = 0, m = n
        while m >= 10 && m % 10 == 0 { m /= 10; e += 1 }
        return m == 1 ? "1e\(e)" : "\(n)"
    }

    /// A count as `1.00M`, `63.0k` or digits.
    public static func count(_ n: Int) -> String {
        if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
        if n >= 1_000 { return String(format: "%.1fk", Double(n) / 1e3) }
        return "\(n)"
    }

    /// A ratio with two decimals, `—` when absent.
    public static func ratio(_ r: Double?) -> String { r.map { String(format: "%.2f", $0) } ?? "—" }

    /// `value` with `decimals` decimals between `prefix` and `suffix`.
    public static func fixed(_ value: Double, _ decimals: Int, prefix: String = "", suffix: String = "") -> String {
        prefix + String(format: "%.\(decimals)f", value) + suffix
    }

    /// A text table: left-aligned first column(s), right-aligned numbers, a rule under the header.
    public static func table(_ header: [String], _ rows: [[String]], leftColumns: Int = 1, minimumWidths: [Int] = []) -> String {
        var widths = header.indices.map { max(header[$0].count, $0 < minimumWidths.count ? minimumWidths[$0] : 0) }
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ r: [String]) -> String {
            r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, (i < widths.count ? widths[i] : c.count) - c.count))
                return i < leftColumns ? c + pad : pad + c
            }.joined(separator: "  ")
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
    }

    /// A Markdown table (`| a | b |`, numbers right-aligned after the first `leftColumns`).
    public static func markdown(_ header: [String], _ rows: [[String]], leftColumns: Int = 1) -> String {
        let align = header.indices.map { $0 < leftColumns ? "---" : "---:" }
        return ([header, align] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }
}
