import Foundation

/// A dependency-free SVG plot of several named series over a shared x axis, with ticks,
/// a legend and a title: for example DiGraP's ω per layer over training steps.
///
/// ```swift
/// var plot = SVGLinePlot(title: "ω per layer", xLabel: "step", yLabel: "ω")
/// plot.series.append(.init(name: "layers.0.weight", x: [0, 1, 2], y: [1, 0.8, 0.5]))
/// try plot.write(to: URL(fileURLWithPath: "omega.svg"))
/// ```
/// A non-finite value breaks its line (the segments on either side are drawn); text is
/// XML-escaped.
public struct SVGLinePlot: Sendable, Equatable {
    /// One line.
    public struct Series: Sendable, Equatable {
        /// The legend text.
        public var name: String
        /// Horizontal coordinates.
        public var x: [Double]
        /// Vertical coordinates (paired with `x`; extra values of the longer array are ignored).
        public var y: [Double]

        /// A series from paired coordinates.
        public init(name: String, x: [Double], y: [Double]) {
            (self.name, self.x, self.y) = (name, x, y)
        }

        /// A series whose x coordinates are `0, 1, 2, …`.
        public init(name: String, values: [Double]) {
            self.init(name: name, x: values.indices.map(Double.init), y: values)
        }
    }

    /// The title above the plot.
    public var title: String
    /// The horizontal axis title.
    public var xLabel: String
    /// The vertical axis title.
    public var yLabel: String
    /// The lines, drawn in order with colours from a 10-colour palette (then dashed).
    public var series: [Series]
    /// Width in pixels.
    public var width: Double
    /// Height in pixels.
    public var height: Double

    /// An empty plot of `width × height` pixels.
    public init(title: String, xLabel: String, yLabel: String, series: [Series] = [],
                width: Double = 720, height: Double = 420) {
        (self.title, self.xLabel, self.yLabel, self.series) = (title, xLabel, yLabel, series)
        (self.width, self.height) = (max(240, width), max(160, height))
    }

    /// The SVG document.
    public func render() -> String {
        let pairs = series.map { s in Array(zip(s.x, s.y)) }
        let finite = pairs.flatMap { $0.filter { $0.0.isFinite && $0.1.isFinite } }
        let x = SVGSupport.Axis(covering: finite.map(\.0))
        let y = SVGSupport.Axis(covering: finite.map(\.1))
        let longestName = series.map(\.name.count).max() ?? 0
        let legendWidth = series.isEmpty ? 0 : Double(min(longestName, 40)) * 7 + 40
        let frame = SVGSupport.Frame(width: width, height: height, left: 64, right: 24 + legendWidth, top: 40, bottom: 48)
        var out = SVGSupport.open(frame: frame, title: title, xLabel: xLabel, yLabel: yLabel, x: x, y: y)
        let c = SVGSupport.coordinate
        for (i, points) in pairs.enumerated() {
            let colour = SVGSupport.palette[i % SVGSupport.palette.count]
            let dash = i >= SVGSupport.palette.count ? ##" stroke-dasharray="5 3""## : ""
            var path = ""
            var penDown = false
            for (px, py) in points {
                guard px.isFinite, py.isFinite else { penDown = false; continue }
                path += (penDown ? "L" : "M") + c(x.map(px, from: frame.plotLeft, to: frame.plotRight)) + " "
                    + c(y.map(py, from: frame.plotBottom, to: frame.plotTop))
                penDown = true
            }
            if !path.isEmpty {
                out.append(##"<path class="series" d="\##(path)" fill="none" stroke="\##(colour)" stroke-width="1.8"\##(dash)/>"##)
            }
        }
        if !series.isEmpty {
            let lx = frame.plotRight + 14
            for (i, s) in series.enumerated() {
                let colour = SVGSupport.palette[i % SVGSupport.palette.count]
                let dash = i >= SVGSupport.palette.count ? ##" stroke-dasharray="5 3""## : ""
                let ly = frame.plotTop + 10 + Double(i) * 18
                var name = s.name
                if name.count > 40 { name = String(name.prefix(39)) + "…" }
                out.append(##"<line x1="\##(c(lx))" y1="\##(c(ly))" x2="\##(c(lx + 20))" y2="\##(c(ly))" stroke="\##(colour)" stroke-width="2"\##(dash)/>"##)
                out.append(##"<text x="\##(c(lx + 26))" y="\##(c(ly + 4))">\##(SVGSupport.escape(name))</text>"##)
            }
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// Writes the SVG document atomically to `url`.
    /// - Throws: `DataError.writeFailed`.
    public func write(to url: URL) throws {
        try AtomicFile.write(render(), to: url)
    }
}
