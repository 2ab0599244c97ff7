import GraftBenchmarking
import Dispatch
import GraftTensor

/// The Swift floors (kept next to the C floors of ``CFloor`` as rows of their own, and as a
/// second implementation for `--check-floors`): the same step written as plain fused Swift
/// loops over raw buffers, with no framework around them.
///
/// - `floor.adam`: one pass per step, `θ, g, m, v` touched once per element (28 B/param);
/// - `floor.digrap`: DiGraP with a learned ω in the paper's placement (rows hypergradient),
///   two passes: pass 1 reads `g, θ, θ0, p_{t−1}` for `<g, c>`, `‖c‖²` and the per-row pieces of
///   `cos(g, p_{t−1})`; a serial step updates ω per tensor; pass 2 stores `p_t`, projects and
///   runs Adam in one loop (52 B/param).
///
/// Work is cut into segments (at most `Vector.reductionBlock` elements, never crossing a row)
/// that are dealt to the threads as contiguous runs of equal element count, so one dispatch
/// per pass keeps both cores busy whatever the layout. Reductions use `SIMD16` accumulators
/// (a C compiler would vectorise a float reduction only with `-ffast-math`); elementwise loops
/// are written with `SIMD8` too, with `sqrtps` for the square root (see `sqrt8`): the loop a C
/// compiler emits at -O3 with `-fno-math-errno` at the baseline x86-64 (SSE2) target, which is
/// also what Graft itself is compiled for unless a `-target-cpu` is given.
final class FloorKernels {
    enum Kind: String { case adam = "floor.swift-adam", digrap = "floor.swift-digrap" }

    struct Segment {
        var tensor: Int
        var row: Int
        var lo: Int
        var hi: Int
    }

    let kind: Kind
    let threads: Int
    private var buffers: [UnsafeMutablePointer<Float>] = []
    private(set) var theta: [UnsafeMutablePointer<Float>] = []
    private var grad: [UnsafeMutablePointer<Float>] = []
    private var m: [UnsafeMutablePointer<Float>] = []
    private var v: [UnsafeMutablePointer<Float>] = []
    private var anchor: [UnsafeMutablePointer<Float>?] = []
    private var previous: [UnsafeMutablePointer<Float>?] = []
    private let segments: [Segment]
    private let runs: [Range<Int>]
    private let rows: [Int]
    private let rowOffset: [Int]
    private var partial: UnsafeMutablePointer<Double>
    // Per tensor DiGraP state.
    private var omega: [Double], omegaM: [Double], omegaV: [Double]
    private var k: [Float], coefficient: [Float]
    private var rowStats: [Double]
    private(set) var step = 0
    private(set) var projected = 0
    let lr: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, mu = 0.5

    init(kind: Kind, data: LayoutData, threads: Int) {
        self.kind = kind
        self.threads = max(1, threads)
        let specs = data.layout.tensors
        func copy(_ t: Tensor) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(4, t.count * 4), alignment: 64).bindMemory(to: Float.self, capacity: t.count)
            t.withUnsafeBufferPointer { p.update(from: $0.baseAddress!, count: t.count) }
            return p
        }
        func zeros(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(4, n * 4), alignment: 64).bindMemory(to: Float.self, capacity: n)
            p.initialize(repeating: 0, count: n)
            return p
        }
        var segs: [Segment] = []
        var rows: [Int] = [], rowOffset: [Int] = []
        var totalRows = 0
        for (i, spec) in specs.enumerated() {
            theta.append(copy(data.values[i]))
            grad.append(copy(data.gradients[0][i]))
            m.append(zeros(spec.count))
            v.append(zeros(spec.count))
            let anchored = kind == .digrap && spec.anchored
            anchor.append(anchored ? copy(data.anchors[i]!) : nil)
            previous.append(anchored ? zeros(spec.count) : nil)
            let r = spec.shape.count >= 2 ? spec.shape[0] : 1
            let cols = spec.count / r
            rows.append(r)
            rowOffset.append(totalRows)
            totalRows += r
            for row in 0..<r {
                var lo = row * cols
                let end = lo + cols
                while lo < end {
                    let hi = min(end, lo + Vector.reductionBlock)
                    segs.append(Segment(tensor: i, row: row, lo: lo, hi: hi))
                    lo = hi
                }
            }
        }
        buffers = theta + grad + m + v + anchor.compactMap { $0 } + previous.compactMap { $0 }
        segments = segs
        self.rows = rows
        self.rowOffset = rowOffset
        // Contiguous runs of segments with equal element counts.
        let total = segs.reduce(0) { $0 + $1.hi - $1.lo }
        var runs: [Range<Int>] = []
        var start = 0, acc = 0
        for t in 0..<self.threads {
            let goal = total * (t + 1) / self.threads
            var end = start
            while end < segs.count && (acc < goal || t == self.threads - 1) {
                acc += segs[end].hi - segs[end].lo
                end += 1
            }
            runs.append(start..<end)
            start = end
        }
        self.runs = runs
        partial = UnsafeMutablePointer<Double>.allocate(capacity: max(1, segs.count * 5))
        partial.initialize(repeating: 0, count: max(1, segs.count * 5))
        omega = [Double](repeating: 0, count: specs.count)
        omegaM = omega; omegaV = omega
        k = [Float](repeating: 0, count: specs.count)
        coefficient = k
        rowStats = [Double](repeating: 0, count: totalRows * 3)
    }

    deinit {
        for b in buffers { b.deallocate() }
        partial.deallocate()
    }

    private func parallel(_ body: (Range<Int>) -> Void) {
        if threads == 1 { body(runs[0]); return }
        let runs = self.runs
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: runs.count) { t in
                FloatingPointEnvironment.flushSubnormalsToZero()
                body(runs[t])
            }
        }
    }

    /// One optimizer step.
    func run() {
        step += 1
        let t = step
        let bc1 = 1 - pow(Double(beta1), Double(t)), bc2 = 1 - pow(Double(beta2), Double(t))
        let stepSize = Float(Double(lr) / bc1), invSqrtBC2 = Float(1 / bc2.squareRoot())
        let b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2, eps = self.eps
        let segs = segments
        let theta = self.theta, grad = self.grad, m = self.m, v = self.v, anchor = self.anchor, previous = self.previous
        if kind == .digrap {
            let partial = self.partial
            parallel { range in
                for s in range {
                    let seg = segs[s]
                    guard let a = anchor[seg.tensor] else { continue }
                    FloorKernels.statistics(theta[seg.tensor], grad[seg.tensor], a, previous[seg.tensor]!, seg.lo, seg.hi,
                                            partial + s * 5)
                }
            }
            serialDiGraP(t)
        }
        let k = self.k, coefficient = self.coefficient
        let constants = AdamConstants(b1: b1, b2: b2, c1: c1, c2: c2, stepSize: stepSize, invSqrtBC2: invSqrtBC2, eps: eps)
        parallel { range in
            for s in range {
                let seg = segs[s]
                let i = seg.tensor
                if let a = anchor[i] {
                    FloorKernels.projectedAdam(theta[i], grad[i], m[i], v[i], a, previous[i]!, k[i], coefficient[i], seg.lo, seg.hi, constants)
                } else {
                    FloorKernels.adam(theta[i], grad[i], m[i], v[i], seg.lo, seg.hi, constants)
                }
            }
        }
    }

    struct AdamConstants {
        var b1: Float, b2: Float, c1: Float, c2: Float, stepSize: Float, invSqrtBC2: Float, eps: Float
    }

    typealias V8 = SIMD8<Float>

    /// Lane-wise IEEE square root as `sqrtps`. `Float.squareRoot()` goes through libm's `sqrtf`
    /// on Linux (the C shim is compiled with `-fmath-errno`), which keeps loops scalar; a C
    /// compiler at -O3 vectorises the same loop only with `-fno-math-errno` too.
    @inline(__always) static func sqrt8(_ x: V8) -> V8 {
        #if arch(x86_64)
        let lo = _mm_sqrt_ps(x.lowHalf), hi = _mm_sqrt_ps(x.highHalf)
        return V8(lowHalf: lo, highHalf: hi)
        #else
        return x.squareRoot()
        #endif
    }

    /// `θ ← θ − stepSize · m / (sqrt(v) · invSqrtBC2 + ε)` after the moment updates, one pass.
    @inline(__always)
    static func adam(_ th: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                     _ v: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, _ k: AdamConstants) {
        let rt = UnsafeMutableRawPointer(th), rg = UnsafeRawPointer(g), rm = UnsafeMutableRawPointer(m), rv = UnsafeMutableRawPointer(v)
        var i = lo
        while i + 8 <= hi {
            let o = i * 4
            let gv = rg.loadUnaligned(fromByteOffset: o, as: V8.self)
            let mv = k.b1 * rm.loadUnaligned(fromByteOffset: o, as: V8.self) + k.c1 * gv
            let vv = k.b2 * rv.loadUnaligned(fromByteOffset: o, as: V8.self) + k.c2 * gv * gv
            rm.storeBytes(of: mv, toByteOffset: o, as: V8.self)
            rv.storeBytes(of: vv, toByteOffset: o, as: V8.self)
            let t = rt.loadUnaligned(fromByteOffset: o, as: V8.self) - k.stepSize * mv / (sqrt8(vv) * k.invSqrtBC2 + k.eps)
            rt.storeBytes(of: t, toByteOffset: o, as: V8.self)
            i += 8
        }
        while i < hi {
            let gi = g[i]
            let mi = k.b1 * m[i] + k.c1 * gi, vi = k.b2 * v[i] + k.c2 * gi * gi
            m[i] = mi; v[i] = vi
            th[i] -= k.stepSize * mi / (vi.squareRoot() * k.invSqrtBC2 + k.eps)
            i += 1
        }
    }

    /// DiGraP's pass 2: `c = θ − θ0`, `p ← coef · c`, `ĝ = g − kk · c`, then Adam on ĝ, one pass.
    @inline(__always)
    static func projectedAdam(_ th: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                              _ v: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Float>, _ p: UnsafeMutablePointer<Float>,
                              _ kk: Float, _ coef: Float, _ lo: Int, _ hi: Int, _ k: AdamConstants) {
        let rt = UnsafeMutableRawPointer(th), rg = UnsafeRawPointer(g), rm = UnsafeMutableRawPointer(m), rv = UnsafeMutableRawPointer(v)
        let ra = UnsafeRawPointer(a), rp = UnsafeMutableRawPointer(p)
        var i = lo
        while i + 8 <= hi {
            let o = i * 4
            let tv = rt.loadUnaligned(fromByteOffset: o, as: V8.self)
            let c = tv - ra.loadUnaligned(fromByteOffset: o, as: V8.self)
            rp.storeBytes(of: coef * c, toByteOffset: o, as: V8.self)
            let gv = rg.loadUnaligned(fromByteOffset: o, as: V8.self) - kk * c
            let mv = k.b1 * rm.loadUnaligned(fromByteOffset: o, as: V8.self) + k.c1 * gv
            let vv = k.b2 * rv.loadUnaligned(fromByteOffset: o, as: V8.self) + k.c2 * gv * gv
            rm.storeBytes(of: mv, toByteOffset: o, as: V8.self)
            rv.storeBytes(of: vv, toByteOffset: o, as: V8.self)
            rt.storeBytes(of: tv - k.stepSize * mv / (sqrt8(vv) * k.invSqrtBC2 + k.eps), toByteOffset: o, as: V8.self)
            i += 8
        }
        while i < hi {
            let c = th[i] - a[i]
            p[i] = coef * c
            let gi = g[i] - kk * c
            let mi = k.b1 * m[i] + k.c1 * gi, vi = k.b2 * v[i] + k.c2 * gi * gi
            m[i] = mi; v[i] = vi
            th[i] -= k.stepSize * mi / (vi.squareRoot() * k.invSqrtBC2 + k.eps)
            i += 1
        }
    }

    /// Per tensor: `<g, c>`, `‖c‖²`, the rows' cosines, ω's Adam step, and the coefficients of pass 2.
    private func serialDiGraP(_ t: Int) {
        let tensors = theta.count
        var d = [Double](repeating: 0, count: tensors), cc = d
        for i in rowStats.indices { rowStats[i] = 0 }
        for (s, seg) in segments.enumerated() where anchor[seg.tensor] != nil {
            let o = s * 5
            d[seg.tensor] += partial[o]; cc[seg.tensor] += partial[o + 1]
            let r = (rowOffset[seg.tensor] + seg.row) * 3
            rowStats[r] += partial[o + 2]; rowStats[r + 1] += partial[o + 3]; rowStats[r + 2] += partial[o + 4]
        }
        for i in 0..<tensors where anchor[i] != nil {
            if t > 1 {
                var h = 0.0
                for r in 0..<rows[i] {
                    let o = (rowOffset[i] + r) * 3
                    h += rowStats[o] / (max(rowStats[o + 1].squareRoot(), 1e-12) * max(rowStats[o + 2].squareRoot(), 1e-12))
                }
                omegaM[i] = 0.9 * omegaM[i] + 0.1 * h
                omegaV[i] = 0.999 * omegaV[i] + 0.001 * h * h
                let mHat = omegaM[i] / (1 - pow(0.9, Double(t))), vHat = omegaV[i] / (1 - pow(0.999, Double(t)))
                omega[i] = min(max(omega[i] - mu * mHat / (vHat.squareRoot() + 1e-8), 0), 1)
            }
            let dd = d[i], c2 = cc[i]
            if dd < 0 { projected += 1 }
            k[i] = dd < 0 && omega[i] > 0 ? Float(omega[i] * dd / c2) : 0
            coefficient[i] = Float(dd / (c2 + 1e-8))
        }
    }

    @inline(__always)
    private static func statistics(_ th: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Float>,
                                   _ p: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, _ out: UnsafeMutablePointer<Double>) {
        typealias V = SIMD16<Float>
        var sd = V(), sc = V(), sxp = V(), sxx = V(), spp = V()
        let rt = UnsafeRawPointer(th), rg = UnsafeRawPointer(g), ra = UnsafeRawPointer(a), rp = UnsafeRawPointer(p)
        var i = lo
        while i + 16 <= hi {
            let o = i * 4
            let gv = rg.loadUnaligned(fromByteOffset: o, as: V.self)
            let c = rt.loadUnaligned(fromByteOffset: o, as: V.self) - ra.loadUnaligned(fromByteOffset: o, as: V.self)
            let pv = rp.loadUnaligned(fromByteOffset: o, as: V.self)
            sd += gv * c; sc += c * c; sxp += gv * pv; sxx += gv * gv; spp += pv * pv
            i += 16
        }
        var td = sd.sum(), tc = sc.sum(), txp = sxp.sum(), txx = sxx.sum(), tpp = spp.sum()
        while i < hi {
            let c = th[i] - a[i]
            td += g[i] * c; tc += c * c; txp += g[i] * p[i]; txx += g[i] * g[i]; tpp += p[i] * p[i]
            i += 1
        }
        out[0] = Double(td); out[1] = Double(tc); out[2] = Double(txp); out[3] = Double(txx); out[4] = Double(tpp)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
