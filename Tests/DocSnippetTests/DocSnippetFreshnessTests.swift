import DocSnippetExtraction
import Foundation
import Testing

/// The generated snippet file is what the sources say today: editing a doc-comment or README
/// snippet without running `swift run extract-doc-snippets` fails here (and a snippet that
/// does not compile fails the build of this target).
@Suite("Doc snippets")
struct DocSnippetFreshnessTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("GeneratedDocSnippets.swift is up to date with Sources/ and README.md")
    func generatedFileIsFresh() throws {
        let snippets = try DocSnippetExtractor.snippets(root: root)
        #expect(snippets.count >= 15, "found only \(snippets.count) snippets: is the root right? \(root.path)")
        let committed = try String(contentsOf: root.appendingPathComponent(DocSnippetExtractor.outputPath), encoding: .utf8)
        let expected = DocSnippetExtractor.generate(snippets)
        #expect(committed == expected, "stale: run `swift run extract-doc-snippets` from the package root")
    }

    @Test("doc-comment fences: only ```swift blocks, prefix stripped, unterminated comments dropped, skip marks honoured")
    func extraction() {
        let text = """
            /// Text.
            /// ```swift
            /// import GraftOptim
            /// let x = 1
            ///     indented()
            /// ```
            /// ```
            /// not swift
            /// ```
            /// ```swift
            /// // snippet: skip
            /// partial
            /// ```
            /// ```swift
            /// unterminated
            func f() {}
            """
        let s = DocSnippetExtractor.docSnippets(in: text, file: "Sources/M/F.swift", module: "M")
        #expect(s.count == 2)
        #expect(s.first?.lines == ["import GraftOptim", "let x = 1", "    indented()"])
        #expect(s.map(\.skipped) == [false, true])
        let generated = DocSnippetExtractor.generate(s)
        #expect(generated.contains("import GraftOptim\nimport M\n"))
        #expect(generated.contains("private func Sources_M_F_swift_1() throws {\n    let x = 1\n        indented()\n    _ = x\n}"))
        #expect(generated.contains("// - Sources/M/F.swift, snippet 2"))
        #expect(!generated.contains("partial"))
    }

    @Test("README fences: an HTML comment before the fence skips the snippet")
    func markdown() {
        let text = "a\n```swift\nlet a = 1\n```\n<!-- snippet: skip (uses `model`) -->\n```swift\nmodel.x\n```\n```python\nx\n```\n"
        let s = DocSnippetExtractor.markdownSnippets(in: text, file: "README.md")
        #expect(s.map(\.lines) == [["let a = 1"], ["model.x"]])
        #expect(s.map(\.skipped) == [false, true])
    }
}
