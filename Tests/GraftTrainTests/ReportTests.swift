import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Synchronization
import Testing
@testable import GraftTrain

@Suite struct MarkdownTableTests {
    @Test func rendersExactly() throws {
        var table = try MarkdownTable(headers: ["method", "ID", "OOD avg", "note"], alignments: [.left, .right, .right, .center])
        try table.append(["FT", "96.3", "55.0 ± 1.2", "x"])
        try table.append(["L2-SP (λ 1)", "93.6", "72.0", "a|b"])
        let expected = """
        | method      |   ID |    OOD avg | note |
        | :---------- | ---: | ---------: | :--: |
        | FT          | 96.3 | 55.0 ± 1.2 |  x   |
        | L2-SP (λ 1) | 93.6 |       72.0 | a\\|b |

        """
        #expect(table.render() == expected)
    }

    @Test func defaultsAndErrors() throws {
        var table = try MarkdownTable(headers: ["a"])
        try table.append(["line\nbreak"])
        #expect(table.render() == "| a          |\n| :--------- |\n| line break |\n")
        #expect(throws: DataError.self) { try table.append(["1", "2"]) }
        #expect(throws: DataError.self) { try MarkdownTable(headers: ["a", "b"], alignments: [.left]) }
        #expect(throws: DataError.self) { try MarkdownTable(headers: []) }
    }
}

/// Collects element names and text of an XML document; fails on malformed XML.
private final class XMLCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var text = ""
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) { elements.append(name) }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    static func parse(_ document: String) -> XMLCollector? {
        let collector = XMLCollector()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = collector
        return parser.parse() ? collector : nil
    }
}

@Suite struct SVGPlotTests {
    @Test func scatterIsWellFormedAndLabelled() throws {
        let plot = SVGScatterPlot(title: "ID vs OOD <digits>", xLabel: "ID accuracy (%)", yLabel: "OOD accuracy (%)", points: [
            .init(label: "FT", x: 96.3, y: 55, xError: 0.4, yError: 2.1),
            .init(label: "L2-SP & co", x: 93.6, y: 72),
            .init(label: "LP", x: 94.5, y: 67, yError: 1),
            .init(label: "broken", x: .nan, y: 50),
        ])
        let svg = plot.render()
        let xml = try #require(XMLCollector.parse(svg), "well-formed XML")
        #expect(xml.elements.first == "svg")
        #expect(xml.elements.filter { $0 == "circle" }.count == 3, "non-finite points are left out")
        for label in ["FT", "L2-SP & co", "LP", "ID vs OOD <digits>", "ID accuracy (%)", "OOD accuracy (%)"] {
            #expect(xml.text.contains(label), "\(label)")
        }
        #expect(!xml.text.contains("broken"))
        #expect(svg.contains("L2-SP &amp; co"))

        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try plot.write(to: dir.file("scatter.svg"))
        #expect(try String(contentsOf: dir.file("scatter.svg"), encoding: .utf8) == svg)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["scatter.svg"], "no temporary file left")
    }

    @Test func linePlotIsWellFormedWithLegend() throws {
        let plot = SVGLinePlot(title: "ω per layer", xLabel: "step", yLabel: "ω", series: [
            .init(name: "layers.0.weight", x: [0, 10, 20, 30], y: [1, 0.7, .nan, 0.2]),
            .init(name: "layers.1.weight", values: [1, 0.9, 0.85, 0.8]),
        ])
        let svg = plot.render()
        let xml = try #require(XMLCollector.parse(svg), "well-formed XML")
        #expect(xml.elements.filter { $0 == "path" }.count == 2)
        for text in ["ω per layer", "layers.0.weight", "layers.1.weight", "step"] { #expect(xml.text.contains(text)) }
        // The NaN breaks the first line into two pieces (two move-to commands).
        let firstPath = try #require(svg.split(separator: "\n").first { $0.contains(#"class="series""#) })
        #expect(firstPath.filter { $0 == "M" }.count == 2)
        // Ticks are round numbers covering the data.
        #expect(xml.text.contains("30") && xml.text.contains("0.2") && xml.text.contains("1.0"))
    }

    @Test func degenerateInputsStillRender() throws {
        #expect(XMLCollector.parse(SVGLinePlot(title: "", xLabel: "", yLabel: "").render()) != nil)
        #expect(XMLCollector.parse(SVGScatterPlot(title: "t", xLabel: "x", yLabel: "y",
                                                  points: [.init(label: "one", x: 5, y: 5)]).render()) != nil)
        let axis = SVGSupport.Axis(covering: [0.13, 0.87])
        #expect(axis.lower <= 0.13 && axis.upper >= 0.87 && axis.ticks.count >= 3 && axis.ticks.count <= 10)
    }
}

@Suite struct AtomicFileTests {
    @Test func replacesAndFailsCleanly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try AtomicFile.write("one", to: dir.file("f"))
        try AtomicFile.write("two", to: dir.file("f"))
        #expect(try String(contentsOf: dir.file("f"), encoding: .utf8) == "two")
        let missingFolder = dir.url.appendingPathComponent("no/such/folder/f")
        #expect(throws: DataError.self) { try AtomicFile.write("x", to: missingFolder) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.url.path) == ["f"])
    }
}

/// A clock and an output sink for driving `ProgressLine` deterministically.
private final class FakeTerminal: Sendable {
    let now = Mutex<Double>(0)
    let written = Mutex<[String]>([])
    func progress(_ mode: ProgressLine.Mode) -> ProgressLine {
        ProgressLine(mode: mode, interactiveInterval: 0.1, plainInterval: 10,
                     output: { text in self.written.withLock { $0.append(text) } },
                     clock: { self.now.withLock { $0 } })
    }
    func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    var output: [String] { written.withLock { $0 } }
}

@Suite struct ProgressLineTests {
    @Test func interactiveRewritesOneLineAtLimitedRate() {
        let t = FakeTerminal()
        let p = t.progress(.interactive)
        p.update("a")
        p.update("b")  // too soon: kept pending
        t.advance(0.2)
        p.update("c")
        p.update("d")
        p.finish()
        #expect(t.output == ["\ra\u{1B}[K", "\rc\u{1B}[K", "\rd\u{1B}[K\n"])
    }

    @Test func plainPrintsSparseLinesAndTheFinalState() {
        let t = FakeTerminal()
        let p = t.progress(.plain)
        for i in 0..<100 {
            p.update("step \(i)")
            t.advance(0.5)
        }
        p.finish("done")
        #expect(t.output == ["step 0\n", "step 20\n", "step 40\n", "step 60\n", "step 80\n", "done\n"])
    }

    @Test func logKeepsTheStatusLine() {
        let t = FakeTerminal()
        let p = t.progress(.interactive)
        p.update("epoch 1")
        p.log("saved checkpoint")
        #expect(t.output.last == "\r\u{1B}[Ksaved checkpoint\nepoch 1\u{1B}[K")
        let silent = t.progress(.silent)
        silent.update("x")
        silent.finish("y")
        #expect(t.output.count == 2)
    }

    @Test func modeDetection() {
        #expect(ProgressLine.detectMode(environment: [:], isTerminal: true) == .interactive)
        #expect(ProgressLine.detectMode(environment: [:], isTerminal: false) == .plain)
        #expect(ProgressLine.detectMode(environment: ["CI": "true"], isTerminal: true) == .plain)
        #expect(ProgressLine.detectMode(environment: ["CI": "false"], isTerminal: true) == .interactive)
    }
}
