import DocSnippetExtraction
import Foundation

// Writes Tests/DocSnippetTests/GeneratedDocSnippets.swift from the ```swift snippets of the doc
// comments in Sources/ and of README.md. Run from the package root: swift run extract-doc-snippets

let arguments = CommandLine.arguments.dropFirst()
if arguments.contains("--help") || arguments.contains("-h") {
    print("""
        usage: swift run extract-doc-snippets [--check]

        Extracts every ```swift snippet of the /// doc comments under Sources/ and of README.md into
        \(DocSnippetExtractor.outputPath) (each snippet the body of a function the test build compiles).
        --check   write nothing; exit 1 when the file is stale
        """)
    exit(0)
}
if let unknown = arguments.first(where: { $0 != "--check" }) {
    FileHandle.standardError.write(Data("extract-doc-snippets: unknown option \"\(unknown)\" (see --help)\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
guard FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) else {
    FileHandle.standardError.write(Data("extract-doc-snippets: run it from the package root (no Package.swift here)\n".utf8))
    exit(1)
}
do {
    let snippets = try DocSnippetExtractor.snippets(root: root)
    let text = DocSnippetExtractor.generate(snippets)
    let output = root.appendingPathComponent(DocSnippetExtractor.outputPath)
    let current = try? String(contentsOf: output, encoding: .utf8)
    let skipped = snippets.filter(\.skipped).count
    if arguments.contains("--check") {
        print(current == text ? "up to date: \(snippets.count) snippets (\(skipped) skipped)" : "stale: run swift run extract-doc-snippets")
        exit(current == text ? 0 : 1)
    }
    if current != text { try text.write(to: output, atomically: true, encoding: .utf8) }
    print("\(DocSnippetExtractor.outputPath): \(snippets.count) snippets (\(skipped) skipped)\(current == text ? ", unchanged" : "")")
} catch {
    FileHandle.standardError.write(Data("extract-doc-snippets: \(error)\n".utf8))
    exit(1)
}
