import Foundation

/// Extracts the ```swift snippets of `///` doc comments under `Sources/` (and of the README)
/// into one Swift file that the `DocSnippetTests` target compiles, so that a snippet that does
/// not compile fails the test build.
///
/// Each snippet becomes the body of a private throwing function (never called: the check is
/// that it compiles), named after its file and its ordinal there (not its line, so editing
/// other parts of the file does not make the generated file stale). Its `import` lines are
/// hoisted to the top of the generated file, next to an import of the module the file belongs
/// to. A snippet that is intentionally partial is left out by a line `// snippet: skip` in it
/// (doc comments) or an HTML comment `<!-- snippet: skip -->` on the line before its fence
/// (README); the generated file lists the skipped ones.
public enum DocSnippetExtractor {
    /// One snippet.
    public struct Snippet: Equatable, Sendable {
        /// The file, relative to the package root.
        public let file: String
        /// The module whose sources hold it (`nil` for the README).
        public let module: String?
        /// Its ordinal among the snippets of its file (1-based).
        public let ordinal: Int
        /// Its lines, without the doc-comment prefix.
        public let lines: [String]
        /// Whether it is marked `snippet: skip`.
        public let skipped: Bool
    }

    /// Where the generated file lives, relative to the package root.
    public static let outputPath = "Tests/DocSnippetTests/GeneratedDocSnippets.swift"

    /// The snippets of one source file's doc comments.
    public static func docSnippets(in text: String, file: String, module: String?) -> [Snippet] {
        var snippets: [Snippet] = []
        var current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard trimmed.hasPrefix("///") else {
                current = nil   // the comment ended without a closing fence: not a snippet
                continue
            }
            var content = trimmed.dropFirst(3)
            if content.first == " " { content = content.dropFirst() }
            let fence = content.trimmingCharacters(in: .whitespaces)
            if var lines = current {
                if fence == "```" {
                    snippets.append(Snippet(file: file, module: module, ordinal: snippets.count + 1, lines: lines,
                                            skipped: lines.contains { $0.trimmingCharacters(in: .whitespaces) == "// snippet: skip" }))
                    current = nil
                } else {
                    lines.append(String(content))
                    current = lines
                }
            } else if fence == "```swift" {
                current = []
            }
        }
        return snippets
    }

    /// The ```swift snippets of a Markdown file.
    public static func markdownSnippets(in text: String, file: String) -> [Snippet] {
        var snippets: [Snippet] = []
        var current: [String]?
        var previous = ""
        var skipNext = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if var lines = current {
                if line.trimmingCharacters(in: .whitespaces) == "```" {
                    snippets.append(Snippet(file: file, module: nil, ordinal: snippets.count + 1, lines: lines, skipped: skipNext))
                    current = nil
                } else {
                    lines.append(line)
                    current = lines
                }
            } else if line.trimmingCharacters(in: .whitespaces) == "```swift" {
                current = []
                skipNext = previous.trimmingCharacters(in: .whitespaces).hasPrefix("<!-- snippet: skip")
            }
            previous = line
        }
        return snippets
    }

    /// Every snippet of the package at `root`: `Sources/**/*.swift` in path order, then `README.md`.
    public static func snippets(root: URL) throws -> [Snippet] {
        let sources = root.appendingPathComponent("Sources")
        var files: [String] = []
        if let walker = FileManager.default.enumerator(atPath: sources.path) {
            for case let path as String in walker where path.hasSuffix(".swift") { files.append(path) }
        }
        var result: [Snippet] = []
        for path in files.sorted() {
            let text = try String(contentsOf: sources.appendingPathComponent(path), encoding: .utf8)
            let module = path.split(separator: "/").first.map(String.init)
            result += docSnippets(in: text, file: "Sources/" + path, module: module)
        }
        let readme = root.appendingPathComponent("README.md")
        if FileManager.default.fileExists(atPath: readme.path) {
            result += markdownSnippets(in: try String(contentsOf: readme, encoding: .utf8), file: "README.md")
        }
        return result
    }

    /// The names a top-level (unindented) `let` or `var` line declares: `let x = …` → x,
    /// `let (a, b) = …` → a, b.
    static func topLevelNames(_ line: String) -> [String] {
        for keyword in ["let ", "var "] where line.hasPrefix(keyword) {
            let rest = line.dropFirst(keyword.count)
            if rest.hasPrefix("("), let close = rest.firstIndex(of: ")") {
                return rest[rest.index(after: rest.startIndex)..<close].split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && $0 != "_" && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } }
            }
            let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            return name.isEmpty ? [] : [String(name)]
        }
        return []
    }

    /// The generated Swift file for `snippets`.
    public static func generate(_ snippets: [Snippet]) -> String {
        var imports: Set<String> = ["Foundation"]
        var functions: [String] = []
        var skipped: [String] = []
        for s in snippets {
            if s.skipped {
                skipped.append("\(s.file), snippet \(s.ordinal)")
                continue
            }
            if let module = s.module { imports.insert(module) }
            var body: [String] = []
            for line in s.lines {
                let t = line.trimmingCharacters(in: .whitespaces)
                if t.hasPrefix("import ") {
                    imports.insert(String(t.dropFirst("import ".count)).trimmingCharacters(in: .whitespaces))
                } else {
                    body.append(line.isEmpty ? "" : "    " + line)
                }
            }
            // Snippets show values without using them; mark the top-level ones used (no warnings).
            let used = s.lines.flatMap(topLevelNames)
            if !used.isEmpty { body.append("    _ = " + (used.count == 1 ? used[0] : "(" + used.joined(separator: ", ") + ")")) }
            while body.first == "" { body.removeFirst() }
            let name = s.file.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            functions.append("""
                // \(s.file), snippet \(s.ordinal)
                private func \(name)_\(s.ordinal)() throws {
                \(body.joined(separator: "\n"))
                }
                """)
        }
        var out = """
            // Generated by `swift run extract-doc-snippets` from the ```swift snippets of the doc comments
            // in Sources/ and of README.md. Do not edit: edit the snippet and regenerate
            // (DocSnippetTests fails while this file is stale). The functions are never called: the
            // test build checks that every snippet compiles.

            """
        out += imports.sorted().map { "import \($0)" }.joined(separator: "\n") + "\n"
        if !skipped.isEmpty {
            out += "\n// Skipped (marked `snippet: skip`):\n" + skipped.map { "// - \($0)" }.joined(separator: "\n") + "\n"
        }
        for f in functions { out += "\n" + f + "\n" }
        return out
    }
}
