/// A GitHub-flavoured Markdown table, rendered with padded columns so it also reads well
/// as plain text in a terminal.
///
/// ```swift
/// var table = try MarkdownTable(headers: ["method", "ID"], alignments: [.left, .right])
/// try table.append(["FT", "96.3"])
/// print(table.render())
/// // | method |   ID |
/// // | :----- | ---: |
/// // | FT     | 96.3 |
/// ```
/// Cells are escaped: `|` becomes `\|` and line breaks become spaces.
public struct MarkdownTable: Sendable, Equatable {
    /// How a column's cells are aligned.
    public enum Alignment: Sendable, Equatable {
        /// Left-aligned (`:---`).
        case left
        /// Centred (`:---:`).
        case center
        /// Right-aligned (`---:`), for numbers.
        case right
    }

    /// The column titles.
    public let headers: [String]
    /// One alignment per column.
    public let alignments: [Alignment]
    /// The body rows, each with one cell per column.
    public private(set) var rows: [[String]] = []

    /// A table with `headers`; `alignments` defaults to left for every column.
    /// - Throws: `DataError.invalidArgument` when there are no headers or the alignment
    ///   count differs from the header count.
    public init(headers: [String], alignments: [Alignment]? = nil) throws {
        guard !headers.isEmpty else { throw DataError.invalidArgument("a table needs at least one column") }
        let alignments = alignments ?? Array(repeating: .left, count: headers.count)
        guard alignments.count == headers.count else {
            throw DataError.invalidArgument("\(headers.count) headers but \(alignments.count) alignments")
        }
        self.headers = headers
        self.alignments = alignments
    }

    /// Appends a row.
    /// - Throws: `DataError.invalidArgument` when the row's cell count differs from the
    ///   column count.
    public mutating func append(_ row: [String]) throws {
        guard row.count == headers.count else {
            throw DataError.invalidArgument("row has \(row.count) cells, the table has \(headers.count) columns")
        }
        rows.append(row)
    }

    /// The table as Markdown, one line per row, each line ending in a newline.
    public func render() -> String {
        let header = headers.map(MarkdownTable.escape)
        let body = rows.map { $0.map(MarkdownTable.escape) }
        var widths = header.map { max(3, $0.count) }
        for row in body {
            for (c, cell) in row.enumerated() { widths[c] = max(widths[c], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            "| " + cells.enumerated().map { c, cell in pad(cell, to: widths[c], alignments[c]) }.joined(separator: " | ") + " |\n"
        }
        let rule = alignments.enumerated().map { c, alignment -> String in
            let w = widths[c]
            switch alignment {
            case .left: return ":" + String(repeating: "-", count: w - 1)
            case .right: return String(repeating: "-", count: w - 1) + ":"
            case .center: return ":" + String(repeating: "-", count: w - 2) + ":"
            }
        }
        return line(header) + "| " + rule.joined(separator: " | ") + " |\n" + body.map(line).joined()
    }

    private func pad(_ text: String, to width: Int, _ alignment: Alignment) -> String {
        let gap = width - text.count
        switch alignment {
        case .left: return text + String(repeating: " ", count: gap)
        case .right: return String(repeating: " ", count: gap) + text
        case .center:
            let left = gap / 2
            return String(repeating: " ", count: left) + text + String(repeating: " ", count: gap - left)
        }
    }

    private static func escape(_ cell: String) -> String {
        var out = ""
        for ch in cell {
            switch ch {
            case "|": out += "\\|"
            case "\n", "\r", "\r\n": out += " "
            default: out.append(ch)
            }
        }
        return out
    }
}
