import GraftTensor

/// Fused one-pass reductions for anchor-based projections: over a tensor split into rows,
/// `Σ u·c`, `Σ c·c`, `Σ u·u` for the whole tensor and, per row, `Σ x·p`, `Σ x·x`, `Σ p·p`,
/// where `c = θ − θ0` is formed on the fly (θ0 = 0 when there is no anchor buffer).
///
/// Work is cut into segments of at most `Vector.reductionBlock` elements inside a row;
/// segment sums use SIMD accumulators in Float and are added in Double in a fixed order,
/// so the result does not depend on how many threads computed the segments.
struct ProjectionStatistics {
    var uc = 0.0, cc = 0.0, uu = 0.0
    /// Per-row `(x·p, x·x, p·p)` when requested.
    var rowXP: [Double] = [], rowXX: [Double] = [], rowPP: [Double] = []

    static func compute(update u: UnsafePointer<Float>, value th: UnsafePointer<Float>, anchor a: UnsafePointer<Float>?,
                        x: UnsafePointer<Float>?, p: UnsafePointer<Float>?, count: Int, rows: Int, parallel: Bool) -> ProjectionStatistics {
        var out = ProjectionStatistics()
        guard count > 0, rows > 0 else { return out }
        let cols = count / rows
        let block = Vector.reductionBlock
        let blocksPerRow = max(1, (cols + block - 1) / block)
        let segments = rows * blocksPerRow
        let wantsRows = x != nil && p != nil
        let width = wantsRows ? 6 : 3
        var partial = [Double](repeating: 0, count: segments * width)
        partial.withUnsafeMutableBufferPointer { buf in
            let out = buf.baseAddress!
            let body: (Range<Int>) -> Void = { range in
                for s in range {
                    let r = s / blocksPerRow, b = s % blocksPerRow
                    let lo = r * cols + b * block
                    let hi = r * cols + min(cols, (b + 1) * block)
                    segment(u, th, a, x, p, lo, hi, out + s * width, wantsRows)
                }
            }
            if parallel && segments > 1 {
                Parallel.forChunks(count: segments, minimumPerChunk: max(1, Parallel.minimumElements / (2 * min(cols, block) + 1)), alignment: 1, body)
            } else {
                body(0..<segments)
            }
        }
        if wantsRows {
            out.rowXP = [Double](repeating: 0, count: rows)
            out.rowXX = out.rowXP
            out.rowPP = out.rowXP
        }
        for s in 0..<segments {
            let o = s * width
            out.uc += partial[o]; out.cc += partial[o + 1]; out.uu += partial[o + 2]
            if wantsRows {
                let r = s / blocksPerRow
                out.rowXP[r] += partial[o + 3]; out.rowXX[r] += partial[o + 4]; out.rowPP[r] += partial[o + 5]
            }
        }
        return out
    }

    @inline(__always)
    private static func segment(_ u: UnsafePointer<Float>, _ th: UnsafePointer<Float>, _ a: UnsafePointer<Float>?,
                                _ x: UnsafePointer<Float>?, _ p: UnsafePointer<Float>?, _ lo: Int, _ hi: Int,
                                _ out: UnsafeMutablePointer<Double>, _ wantsRows: Bool) {
        typealias V = SIMD8<Float>
        var suc = V(), scc = V(), suu = V(), sxp = V(), sxx = V(), spp = V()
        let ru = UnsafeRawPointer(u), rt = UnsafeRawPointer(th)
        var i = lo
        if let a {
            let ra = UnsafeRawPointer(a)
            if wantsRows, let x, let p {
                let rx = UnsafeRawPointer(x), rp = UnsafeRawPointer(p)
                while i + 8 <= hi {
                    let o = i * 4
                    let uv = ru.loadUnaligned(fromByteOffset: o, as: V.self)
                    let c = rt.loadUnaligned(fromByteOffset: o, as: V.self) - ra.loadUnaligned(fromByteOffset: o, as: V.self)
                    let xv = rx.loadUnaligned(fromByteOffset: o, as: V.self), pv = rp.loadUnaligned(fromByteOffset: o, as: V.self)
                    suc += uv * c; scc += c * c; suu += uv * uv; sxp += xv * pv; sxx += xv * xv; spp += pv * pv
                    i += 8
                }
            } else {
                while i + 8 <= hi {
                    let o = i * 4
                    let uv = ru.loadUnaligned(fromByteOffset: o, as: V.self)
                    let c = rt.loadUnaligned(fromByteOffset: o, as: V.self) - ra.loadUnaligned(fromByteOffset: o, as: V.self)
                    suc += uv * c; scc += c * c; suu += uv * uv
                    i += 8
                }
            }
        } else {
            if wantsRows, let x, let p {
                let rx = UnsafeRawPointer(x), rp = UnsafeRawPointer(p)
                while i + 8 <= hi {
                    let o = i * 4
                    let uv = ru.loadUnaligned(fromByteOffset: o, as: V.self), c = rt.loadUnaligned(fromByteOffset: o, as: V.self)
                    let xv = rx.loadUnaligned(fromByteOffset: o, as: V.self), pv = rp.loadUnaligned(fromByteOffset: o, as: V.self)
                    suc += uv * c; scc += c * c; suu += uv * uv; sxp += xv * pv; sxx += xv * xv; spp += pv * pv
                    i += 8
                }
            } else {
                while i + 8 <= hi {
                    let o = i * 4
                    let uv = ru.loadUnaligned(fromByteOffset: o, as: V.self), c = rt.loadUnaligned(fromByteOffset: o, as: V.self)
                    suc += uv * c; scc += c * c; suu += uv * uv
                    i += 8
                }
            }
        }
        var tuc = suc.sum(), tcc = scc.sum(), tuu = suu.sum(), txp = sxp.sum(), txx = sxx.sum(), tpp = spp.sum()
        while i < hi {
            let c = th[i] - (a?[i] ?? 0)
            tuc += u[i] * c; tcc += c * c; tuu += u[i] * u[i]
            if wantsRows, let x, let p { txp += x[i] * p[i]; txx += x[i] * x[i]; tpp += p[i] * p[i] }
            i += 1
        }
        if tuc.isFinite && tcc.isFinite && tuu.isFinite && txp.isFinite && txx.isFinite && tpp.isFinite {
            out[0] = Double(tuc); out[1] = Double(tcc); out[2] = Double(tuu)
            if wantsRows { out[3] = Double(txp); out[4] = Double(txx); out[5] = Double(tpp) }
            return
        }
        // Float overflow on finite inputs (e.g. gradients of 1e30): redo the segment in Double.
        var duc = 0.0, dcc = 0.0, duu = 0.0, dxp = 0.0, dxx = 0.0, dpp = 0.0
        for i in lo..<hi {
            let c = Double(th[i]) - Double(a?[i] ?? 0), uv = Double(u[i])
            duc += uv * c; dcc += c * c; duu += uv * uv
            if wantsRows, let x, let p {
                let xv = Double(x[i]), pv = Double(p[i])
                dxp += xv * pv; dxx += xv * xv; dpp += pv * pv
            }
        }
        out[0] = duc; out[1] = dcc; out[2] = duu
        if wantsRows { out[3] = dxp; out[4] = dxx; out[5] = dpp }
    }
}
