import Foundation

/// A dependency-free SVG scatter plot with one labelled point per item and optional error
/// bars: the paper-style "ID accuracy vs OOD accuracy, one point per method" figure.
///
/// ```swift
/// var plot = SVGScatterPlot(title: "Digits", xLabel: "ID accuracy (%)", yLabel: "OOD accuracy (%)")
/// plot.points.append(.init(label: "FT", x: 96.3, y: 55, xError: 0.4, yError: 2.1))
/// try plot.write(to: URL(fileURLWithPath: "scatter.svg"))
/// ```
/// Points with a non-finite coordinate are left out; text is XML-escaped.
public struct SVGScatterPlot: Sendable, Equatable {
    /// One labelled point.
    public struct Point: Sendable, Equatable {
        /// The text next to the point (for example a method name).
        public var label: String
        /// Horizontal position.
        public var x: Double
        /// Vertical position.
        public var y: Double
        /// Half-width of a horizontal error bar (for example a standard deviation), if any.
        public var xError: Double?
        /// Half-height of a vertical error bar, if any.
        public var yError: Double?

        /// A point, optionally with error bars.
        public init(label: String, x: Double, y: Double, xError: Double? = nil, yError: Double? = nil) {
            (self.label, self.x, self.y, self.xError, self.yError) = (label, x, y, xError, yError)
        }
    }

    /// The title above the plot.
    public var title: String
    /// The horizontal axis title.
    public var xLabel: String
    /// The vertical axis title.
    public var yLabel: String
    /// The points, drawn in order with colours from a 10-colour palette.
    public var points: [Point]
    /// Width in pixels.
    public var width: Double
    /// Height in pixels.
    public var height: Double

    /// An empty plot of `width × height` pixels.
    public init(title: String, xLabel: String, yLabel: String, points: [Point] = [],
                width: Double = 640, height: Double = 480) {
        (self.title, self.xLabel, self.yLabel, self.points) = (title, xLabel, yLabel, points)
        (self.width, self.height) = (max(200, width), max(160, height))
    }

    /// The SVG document.
    public func render() -> String {
        let shown = points.filter { $0.x.isFinite && $0.y.isFinite }
        func extent(_ value: (Point) -> Double, _ error: (Point) -> Double?) -> [Double] {
            shown.flatMap { p -> [Double] in
                let e = error(p).flatMap { $0.isFinite ? abs($0) : nil } ?? 0
                return [value(p) - e, value(p) + e]
            }
        }
        let x = SVGSupport.Axis(covering: extent(\.x, \.xError))
        let y = SVGSupport.Axis(covering: extent(\.y, \.yError))
        let frame = SVGSupport.Frame(width: width, height: height, left: 64, right: 24, top: 40, bottom: 48)
        var out = SVGSupport.open(frame: frame, title: title, xLabel: xLabel, yLabel: yLabel, x: x, y: y)
        for (i, p) in shown.enumerated() {
            let colour = SVGSupport.palette[i % SVGSupport.palette.count]
            let px = x.map(p.x, from: frame.plotLeft, to: frame.plotRight)
            let py = y.map(p.y, from: frame.plotBottom, to: frame.plotTop)
            let c = SVGSupport.coordinate
            out.append(##"<g class="point" stroke="\##(colour)" fill="\##(colour)">"##)
            if let e = p.xError, e.isFinite, e != 0 {
                let x0 = c(x.map(p.x - abs(e), from: frame.plotLeft, to: frame.plotRight))
                let x1 = c(x.map(p.x + abs(e), from: frame.plotLeft, to: frame.plotRight))
                out.append(##"<path d="M\##(x0) \##(c(py - 4))V\##(c(py + 4))M\##(x0) \##(c(py))H\##(x1)M\##(x1) \##(c(py - 4))V\##(c(py + 4))" fill="none"/>"##)
            }
            if let e = p.yError, e.isFinite, e != 0 {
                let y0 = c(y.map(p.y - abs(e), from: frame.plotBottom, to: frame.plotTop))
                let y1 = c(y.map(p.y + abs(e), from: frame.plotBottom, to: frame.plotTop))
                out.append(##"<path d="M\##(c(px - 4)) \##(y0)H\##(c(px + 4))M\##(c(px)) \##(y0)V\##(y1)M\##(c(px - 4)) \##(y1)H\##(c(px + 4))" fill="none"/>"##)
            }
            out.append(##"<circle cx="\##(c(px))" cy="\##(c(py))" r="4.5"/>"##)
            out.append(##"<text x="\##(c(px + 7))" y="\##(c(py - 7))" stroke="none" fill="#222222">\##(SVGSupport.escape(p.label))</text>"##)
            out.append("</g>")
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
