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
        let labels = placeLabels(shown, x: x, y: y, frame: frame)
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
            let label = labels[i]
            if label.moved {
                out.append(##"<path d="M\##(c(px)) \##(c(py))L\##(c(label.leaderX)) \##(c(label.y - 4))" stroke-width="0.6" fill="none" opacity="0.6"/>"##)
            }
            out.append(##"<text x="\##(c(label.x))" y="\##(c(label.y))" text-anchor="\##(label.anchor)" stroke="none" fill="#222222">\##(SVGSupport.escape(p.label))</text>"##)
            out.append("</g>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// Label positions that do not overlap each other: each label starts above and to the
    /// right of its point (to the left near the right edge) and moves down in line steps
    /// until it clears the labels already placed, top to bottom; moved labels get a leader line.
    private func placeLabels(_ shown: [Point], x: SVGSupport.Axis, y: SVGSupport.Axis, frame: SVGSupport.Frame)
        -> [(x: Double, y: Double, anchor: String, moved: Bool, leaderX: Double)] {
        let charWidth = 6.6, lineHeight = 14.0
        var placed: [(x0: Double, x1: Double, y0: Double, y1: Double)] = []
        var result = [(x: Double, y: Double, anchor: String, moved: Bool, leaderX: Double)](
            repeating: (0, 0, "start", false, 0), count: shown.count)
        let order = shown.indices.sorted {
            y.map(shown[$0].y, from: frame.plotBottom, to: frame.plotTop) < y.map(shown[$1].y, from: frame.plotBottom, to: frame.plotTop)
        }
        for i in order {
            let px = x.map(shown[i].x, from: frame.plotLeft, to: frame.plotRight)
            let py = y.map(shown[i].y, from: frame.plotBottom, to: frame.plotTop)
            let w = Double(shown[i].label.count) * charWidth
            let leftward = px + 7 + w > frame.plotRight
            let x0 = leftward ? px - 7 - w : px + 7
            var ty = py - 7
            var moved = false
            for _ in 0..<40 {
                let box = (x0: x0, x1: x0 + w, y0: ty - lineHeight + 3, y1: ty + 3)
                if !placed.contains(where: { $0.x0 < box.x1 && box.x0 < $0.x1 && $0.y0 < box.y1 && box.y0 < $0.y1 }) { break }
                ty += lineHeight
                moved = true
            }
            placed.append((x0, x0 + w, ty - lineHeight + 3, ty + 3))
            result[i] = (leftward ? px - 7 : px + 7, ty, leftward ? "end" : "start", moved, leftward ? px - 7 : px + 7)
        }
        return result
    }

    /// Writes the SVG document atomically to `url`.
    /// - Throws: `DataError.writeFailed`.
    public func write(to url: URL) throws {
        try AtomicFile.write(render(), to: url)
    }
}
