import Foundation

/// Shared pieces of the SVG writers: scales, tick choice, number formatting, escaping.
enum SVGSupport {
    /// A categorical palette (Tableau 10), distinguishable in colour and greyscale print.
    static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    /// Escapes text for XML content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // Control characters other than tab and newline are not allowed in XML 1.0.
            case _ where scalar.value < 0x20 && scalar != "\t" && scalar != "\n": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A coordinate with two decimals (keeps files small and diffable).
    static func coordinate(_ v: Double) -> String {
        String(format: "%.2f", v)
    }

    /// An axis: a data interval mapped linearly onto a pixel interval, with "nice" ticks.
    struct Axis {
        let lower: Double, upper: Double
        let ticks: [Double]
        let decimals: Int

        /// An axis covering `values` (non-finite ones ignored) with about `targetTicks` ticks
        /// at multiples of 1, 2 or 5 × 10^k. An empty or constant set gets a unit interval.
        init(covering values: [Double], targetTicks: Int = 5) {
            let finite = values.filter(\.isFinite)
            var lo = finite.min() ?? 0, hi = finite.max() ?? 1
            if hi - lo <= max(abs(hi), abs(lo)) * 1e-9 {
                let pad = lo == 0 ? 0.5 : abs(lo) * 0.1
                lo -= pad
                hi += pad
            }
            let step = Axis.niceStep((hi - lo) / Double(max(1, targetTicks - 1)))
            lower = (lo / step).rounded(.down) * step
            upper = (hi / step).rounded(.up) * step
            var ticks = [Double]()
            var k = 0
            while true {
                let t = lower + Double(k) * step
                if t > upper + step * 1e-6 || k > 100 { break }
                ticks.append(abs(t) < step * 1e-9 ? 0 : t)
                k += 1
            }
            self.ticks = ticks
            decimals = max(0, Int((-log10(step)).rounded(.up)))
        }

        static func niceStep(_ raw: Double) -> Double {
            guard raw.isFinite, raw > 0 else { return 1 }
            let magnitude = pow(10, (log10(raw)).rounded(.down))
            let fraction = raw / magnitude
            let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
            return nice * magnitude
        }

        /// `value` mapped to the pixel interval `from...to` (`to` may be below `from`).
        func map(_ value: Double, from: Double, to: Double) -> Double {
            from + (value - lower) / (upper - lower) * (to - from)
        }

        func label(_ value: Double) -> String {
            String(format: "%.\(decimals)f", value)
        }
    }

    /// The plot area of a chart: pixel bounds inside the margins.
    struct Frame {
        let width: Double, height: Double
        let left: Double, right: Double, top: Double, bottom: Double

        var plotLeft: Double { left }
        var plotRight: Double { width - right }
        var plotTop: Double { top }
        var plotBottom: Double { height - bottom }
    }

    /// The document prologue, title, axes with ticks and grid lines, and axis titles.
    static func open(frame f: Frame, title: String, xLabel: String, yLabel: String, x: Axis, y: Axis) -> [String] {
        var out = [
            ##"<?xml version="1.0" encoding="UTF-8"?>"##,
            ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(Int(f.width))" height="\##(Int(f.height))" viewBox="0 0 \##(Int(f.width)) \##(Int(f.height))" font-family="sans-serif" font-size="12">"##,
            ##"<rect x="0" y="0" width="\##(Int(f.width))" height="\##(Int(f.height))" fill="white"/>"##,
        ]
        if !title.isEmpty {
            out.append(##"<text x="\##(coordinate(f.width / 2))" y="22" text-anchor="middle" font-size="15" font-weight="bold">\##(escape(title))</text>"##)
        }
        out.append(##"<g stroke="#e5e5e5" stroke-width="1">"##)
        for t in x.ticks {
            let px = coordinate(x.map(t, from: f.plotLeft, to: f.plotRight))
            out.append(##"<line x1="\##(px)" y1="\##(coordinate(f.plotTop))" x2="\##(px)" y2="\##(coordinate(f.plotBottom))"/>"##)
        }
        for t in y.ticks {
            let py = coordinate(y.map(t, from: f.plotBottom, to: f.plotTop))
            out.append(##"<line x1="\##(coordinate(f.plotLeft))" y1="\##(py)" x2="\##(coordinate(f.plotRight))" y2="\##(py)"/>"##)
        }
        out.append("</g>")
        out.append(##"<rect x="\##(coordinate(f.plotLeft))" y="\##(coordinate(f.plotTop))" width="\##(coordinate(f.plotRight - f.plotLeft))" height="\##(coordinate(f.plotBottom - f.plotTop))" fill="none" stroke="#333333"/>"##)
        out.append(##"<g fill="#333333">"##)
        for t in x.ticks {
            let px = coordinate(x.map(t, from: f.plotLeft, to: f.plotRight))
            out.append(##"<text x="\##(px)" y="\##(coordinate(f.plotBottom + 16))" text-anchor="middle">\##(x.label(t))</text>"##)
        }
        for t in y.ticks {
            let py = coordinate(y.map(t, from: f.plotBottom, to: f.plotTop) + 4)
            out.append(##"<text x="\##(coordinate(f.plotLeft - 6))" y="\##(py)" text-anchor="end">\##(y.label(t))</text>"##)
        }
        out.append("</g>")
        out.append(##"<text x="\##(coordinate((f.plotLeft + f.plotRight) / 2))" y="\##(coordinate(f.height - 8))" text-anchor="middle">\##(escape(xLabel))</text>"##)
        let cy = coordinate((f.plotTop + f.plotBottom) / 2)
        out.append(##"<text x="16" y="\##(cy)" text-anchor="middle" transform="rotate(-90 16 \##(cy))">\##(escape(yLabel))</text>"##)
        return out
    }
}
