import GraftBenchmarking
import CGraftFloors
import Dispatch
import GraftTensor

/// The C floors: every optimizer step Graft times, written as plain fused C loops
/// (`Benchmarks/CGraftFloors`, AVX2+FMA by function multiversioning) and driven from here over
/// the same layout, split over the threads exactly as ``FloorKernels`` does: work is cut into
/// segments (≤ `Vector.reductionBlock` elements of one tensor; whole rows, or part of one row,
/// where a per-row reduction needs it), dealt to the threads as contiguous runs of equal element
/// count, one `concurrentPerform` per pass. Reductions leave per-segment (per-row) partial
/// sums; a short serial step between the passes turns them into per-tensor scalars, as Graft's
/// `finishReduction` does. Hyperparameters are those of the workload of the same name.
final class CFloor {
    /// The floors (`floor.<name>`), one per step rule / robust recipe.
    enum Kind: String, CaseIterable {
        case sgd = "floor.sgd", momentum = "floor.momentum", nesterov = "floor.nesterov", adam = "floor.adam"
        case adamw = "floor.adamw", l2sp = "floor.l2sp", digrap = "floor.digrap", digrapFixed = "floor.digrap-fixed"
        case digrapUpdate = "floor.digrap-update", digrapFixedUpdate = "floor.digrap-fixed-update"
        case spd = "floor.spd", ftp = "floor.ftp", clip = "floor.clip"
        case pcgrad2Global = "floor.pcgrad2-global", pcgrad2Tensor = "floor.pcgrad2-tensor"
        case pcgrad4Global = "floor.pcgrad4-global", pcgrad4Tensor = "floor.pcgrad4-tensor"

        /// PCGrad's objective count (1 for every other floor).
        var objectives: Int {
            switch self {
            case .pcgrad2Global, .pcgrad2Tensor: return 2
            case .pcgrad4Global, .pcgrad4Tensor: return 4
            default: return 1
            }
        }
        var isPCGrad: Bool { objectives > 1 }
        /// PCGrad with per-tensor surgery.
        var perTensorSurgery: Bool { self == .pcgrad2Tensor || self == .pcgrad4Tensor }

        /// Short id part (`floor/<short>/…`).
        var short: String { String(rawValue.dropFirst("floor.".count)) }

        /// Passes over memory and the byte model (B/param) of the floor itself.
        var bytes: (Int, String) {
            switch self {
            case .sgd: return (12, "θ r+w, g r (one pass)")
            case .momentum, .nesterov: return (20, "θ r+w, g r, b r+w (one pass)")
            case .adam, .adamw: return (28, "θ r+w, g r, m r+w, v r+w (one pass)")
            case .l2sp: return (24, "θ r+w, g r, θ0 r, b r+w (one pass)")
            case .digrap: return (52, "pass 1: g, θ, θ0, p r (16); pass 2: g r, θ r+w, θ0 r, p w, m r+w, v r+w (36)")
            case .digrapFixed: return (44, "pass 1: g, θ, θ0 r (12); pass 2: g r, θ r+w, θ0 r, m r+w, v r+w (32)")
            case .digrapUpdate: return (56, "pass 1: g, θ, θ0, p r, m r+w, v r+w (32); pass 2: θ r+w, θ0, m, v r, p w (24)")
            case .digrapFixedUpdate: return (48, "pass 1: g, θ, θ0 r, m r+w, v r+w (28); pass 2: θ r+w, θ0, m, v r (20)")
            case .spd: return (48, "pass 1: g, θ, θ0 r, m r+w, v r+w (28); pass 2: θ r+w, θ0, m, v r (20)")
            case .ftp: return (48, "pass 1: g, ĉ r+w, θ, θ0 r, m r+w, v r+w (36); pass 2: θ w, θ0, ĉ r (12)")
            case .clip: return (16, "pass 1: g r (4); pass 2: θ r+w, g r (12)")
            case .pcgrad2Global, .pcgrad2Tensor, .pcgrad4Global, .pcgrad4Tensor:
                let k = objectives
                return (8 * k + 24, "pass 1: \(k) g r for the Gram matrix (\(4 * k)); pass 2: \(k) g r, θ r+w, m r+w, v r+w (\(4 * k + 24))")
            }
        }

        var summary: String {
            switch self {
            case .sgd: return "C: SGD loop"
            case .momentum: return "C: SGD momentum loop"
            case .nesterov: return "C: SGD Nesterov loop"
            case .adam: return "C: fused Adam loop"
            case .adamw: return "C: fused AdamW loop"
            case .l2sp: return "C: L2-SP + SGD momentum loop"
            case .digrap: return "C: two-pass DiGraP (learned ω, rows) + Adam"
            case .digrapFixed: return "C: two-pass DiGraP (fixed ω 1) + Adam"
            case .digrapUpdate: return "C: two-pass Adam + DiGraP (learned ω, rows), update placement"
            case .digrapFixedUpdate: return "C: two-pass Adam + DiGraP (fixed ω 1), update placement"
            case .spd: return "C: two-pass Adam + SPD"
            case .ftp: return "C: two-pass Adam + FTP"
            case .clip: return "C: two-pass clip + SGD"
            default: return "C: PCGrad K = \(objectives), \(perTensorSurgery ? "tensor" : "global") (Gram pass, then Σ α_k g_k into Adam)"
            }
        }

        var usesAnchors: Bool { [.l2sp, .digrap, .digrapFixed, .digrapUpdate, .digrapFixedUpdate, .spd, .ftp].contains(self) }
        var usesAdam: Bool { [.adam, .adamw, .digrap, .digrapFixed, .digrapUpdate, .digrapFixedUpdate, .spd, .ftp].contains(self) || isPCGrad }
        /// DiGraP with a learned ω (per-row cosines, p_{t−1} stored).
        var learnsOmega: Bool { self == .digrap || self == .digrapUpdate }
        /// Whether segments must respect rows (per-row reductions).
        var byRows: Bool { learnsOmega || self == .ftp }
        /// Partial sums per row piece.
        var width: Int {
            switch self {
            case .digrap, .digrapFixed, .digrapUpdate, .digrapFixedUpdate: return 5
            case .spd: return 3
            case .ftp: return 2
            case .clip: return 1
            case .pcgrad2Global, .pcgrad2Tensor, .pcgrad4Global, .pcgrad4Tensor: return objectives * (objectives + 1) / 2
            default: return 0
            }
        }
    }

    struct Segment {
        var tensor: Int
        var lo: Int
        var hi: Int
        /// The tensor's row of `lo` (per-row kinds) and the offset of this segment's partial sums.
        var firstRow: Int
        var partial: Int
    }

    let kind: Kind
    let threads: Int
    private var owned: [UnsafeMutablePointer<Float>] = []
    private(set) var theta: [UnsafeMutablePointer<Float>] = []
    private var grad: [UnsafeMutablePointer<Float>] = []
    private var m: [UnsafeMutablePointer<Float>?] = []
    private var v: [UnsafeMutablePointer<Float>?] = []
    private var anchor: [UnsafeMutablePointer<Float>?] = []
    /// Momentum buffer, DiGraP's p_{t−1} or FTP's ĉ_{t−1}.
    private var extra: [UnsafeMutablePointer<Float>?] = []
    private let counts: [Int]
    private let cols: [Int]
    private let rows: [Int]
    private let segments: [Segment]
    private let runs: [Range<Int>]
    private let partial: UnsafeMutablePointer<Double>
    private let partialCount: Int
    /// Per-row sums between the passes (5 slots per row) and each tensor's first row in them.
    private let sums: UnsafeMutablePointer<Double>
    private let rowBase: [Int]
    private let totalRows: Int
    // Per-tensor scalars between the passes.
    private var k: [Float], coefficient: [Float]
    private var omega: [Double], omegaM: [Double], omegaV: [Double]
    private var gamma: [Double], gammaM: [Double], gammaV: [Double]
    private var previousNorms: [[Float]]
    private var scales: [UnsafeMutablePointer<Float>?] = []
    /// PCGrad: per tensor, the K objectives' gradient pointers (as C wants them) and the combination α.
    private var objectivePointers: [UnsafeMutablePointer<UnsafePointer<Float>?>] = []
    private var alpha: [UnsafeMutablePointer<Float>] = []
    private(set) var step = 0
    /// Tensor-steps that projected (DiGraP) or decayed (SPD).
    private(set) var events = 0

    // The workloads' hyperparameters.
    static let adamLR: Float = 1e-3, sgdLR: Float = 1e-2, mu: Float = 0.9, adamWDecay: Float = 1e-2
    static let l2spAlpha: Float = 1e-2, l2spBeta: Float = 1e-2, digrapMu: Float = 0.5, spdLambda: Float = 1
    static let ftpK: Float = 1, ftpMu: Float = 1e-2, clipNorm: Float = 1

    init(kind: Kind, data: LayoutData, threads: Int) {
        self.kind = kind
        self.threads = max(1, threads)
        let specs = data.layout.tensors
        // Each kind of buffer (θ, g, m, v, θ0, the extra state) is one contiguous arena, tensors
        // packed in order (offsets rounded to 16 floats from 64 elements up), as optimizer-owned
        // state is: many tiny tensors do not each get their own allocation.
        var offsets: [Int] = [], arenaCount = 0
        for spec in specs {
            let n = spec.count
            if n >= 64 { arenaCount = (arenaCount + 15) / 16 * 16 }
            offsets.append(arenaCount)
            arenaCount += n
        }
        var arenas: [UnsafeMutablePointer<Float>] = []
        func arena() -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(64, arenaCount * 4), alignment: 64).bindMemory(to: Float.self, capacity: max(1, arenaCount))
            p.initialize(repeating: 0, count: max(1, arenaCount))
            arenas.append(p)
            return p
        }
        let thetaArena = arena(), gradArena = arena()
        let mArena = kind.usesAdam ? arena() : nil, vArena = kind.usesAdam ? arena() : nil
        let anchorArena = kind.usesAnchors ? arena() : nil
        let objectiveArenas = kind.isPCGrad ? (0..<kind.objectives).map { _ in arena() } : []
        let extraArena = [.momentum, .nesterov, .l2sp, .digrap, .digrapUpdate, .ftp].contains(kind) ? arena() : nil
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(64, n * 4), alignment: 64).bindMemory(to: Float.self, capacity: max(1, n))
            p.initialize(repeating: 0, count: max(1, n))
            return p
        }
        func copy(_ t: Tensor, into p: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
            t.withUnsafeBufferPointer { if let b = $0.baseAddress { p.update(from: b, count: t.count) } }
            return p
        }
        var segs: [Segment] = []
        var counts: [Int] = [], cols: [Int] = [], rows: [Int] = []
        var offset = 0
        let block = Vector.reductionBlock
        for (i, spec) in specs.enumerated() {
            let n = spec.count
            let anchored = kind.usesAnchors && spec.anchored
            let o = offsets[i]
            theta.append(copy(data.values[i], into: thetaArena + o))
            grad.append(copy(data.gradients[0][i], into: gradArena + o))
            m.append(mArena.map { $0 + o })
            v.append(vArena.map { $0 + o })
            anchor.append(anchored ? copy(data.anchors[i]!, into: anchorArena! + o) : nil)
            let needsExtra = [.momentum, .nesterov, .l2sp].contains(kind) || (anchored && (kind.learnsOmega || kind == .ftp))
            extra.append(needsExtra ? extraArena! + o : nil)
            let r = kind.byRows && spec.shape.count >= 2 ? spec.shape[0] : 1
            let c = max(1, n / max(1, r))
            counts.append(n); cols.append(c); rows.append(r)
            scales.append(kind == .ftp && anchored ? buffer(r) : nil)
            if kind.isPCGrad {
                let pointers = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: kind.objectives)
                for k in 0..<kind.objectives {
                    pointers[k] = UnsafePointer(copy(data.gradients[k][i], into: objectiveArenas[k] + o))
                }
                objectivePointers.append(pointers)
                alpha.append(buffer(kind.objectives))
            }
            // Segments: whole rows up to a block, or block pieces of one row.
            var lo = 0
            while lo < n {
                var hi: Int
                if c >= block || !kind.byRows {
                    let rowEnd = kind.byRows ? (lo / c + 1) * c : n
                    hi = min(rowEnd, lo + block)
                } else {
                    hi = min(n, lo + max(1, block / c) * c)
                }
                let firstRow = kind.byRows ? lo / c : 0
                let rowsIn = kind.byRows ? (hi - 1) / c - firstRow + 1 : 1
                segs.append(Segment(tensor: i, lo: lo, hi: hi, firstRow: firstRow, partial: offset))
                offset += rowsIn * max(1, kind.width)
                lo = hi
            }
        }
        owned = arenas + scales.compactMap { $0 }
        self.counts = counts; self.cols = cols; self.rows = rows
        segments = segs
        var runs: [Range<Int>] = []
        let total = segs.reduce(0) { $0 + $1.hi - $1.lo }
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
        partialCount = max(1, offset)
        partial = .allocate(capacity: partialCount)
        partial.initialize(repeating: 0, count: partialCount)
        var bases: [Int] = [], acc2 = 0
        for i in specs.indices { bases.append(acc2); acc2 += kind.byRows ? rows[i] : 1 }
        rowBase = bases
        totalRows = max(1, acc2)
        sums = .allocate(capacity: totalRows * 5)
        sums.initialize(repeating: 0, count: totalRows * 5)
        k = [Float](repeating: 0, count: specs.count)
        coefficient = k
        omega = [Double](repeating: 0, count: specs.count)
        omegaM = omega; omegaV = omega
        gamma = [Double](repeating: Double(Float(1e-8)), count: specs.count)
        gammaM = omega; gammaV = omega
        previousNorms = rows.map { [Float](repeating: 0, count: $0) }
    }

    deinit {
        for b in owned { b.deallocate() }
        partial.deallocate()
        sums.deallocate()
        for p in objectivePointers { p.deallocate() }
        for a in alpha { a.deallocate() }
    }

    /// Reloads the gradients from `data`, objective k scaled by `scales[k]` (objective 0 for
    /// the single-gradient floors): the self-check varies the gradients between steps.
    func loadGradients(_ data: LayoutData, scales: [Float]) {
        for i in theta.indices {
            let n = counts[i]
            data.gradients[0][i].withUnsafeBufferPointer { src in for j in 0..<n { grad[i][j] = src[j] * scales[0] } }
            if kind.isPCGrad {
                for k in 0..<kind.objectives {
                    let dst = UnsafeMutablePointer(mutating: objectivePointers[i][k]!)
                    data.gradients[k][i].withUnsafeBufferPointer { src in for j in 0..<n { dst[j] = src[j] * scales[k] } }
                }
            }
        }
    }

    /// θ of tensor `i` (for the self-check).
    func values(_ i: Int) -> [Float] { Array(UnsafeBufferPointer(start: theta[i], count: counts[i])) }

    private func parallel(_ body: (Segment, Int) -> Void) {
        let segs = segments, runs = self.runs
        if threads == 1 { for s in runs[0] { body(segs[s], s) }; return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: runs.count) { t in
                FloatingPointEnvironment.flushSubnormalsToZero()
                for s in runs[t] { body(segs[s], s) }
            }
        }
    }

    /// One optimizer step.
    func run() {
        step += 1
        let t = step
        let beta1: Float = 0.9, beta2: Float = 0.999
        let bc1 = 1 - pow(Double(beta1), Double(t)), bc2 = 1 - pow(Double(beta2), Double(t))
        var ka = GraftAdamConstants(b1: beta1, b2: beta2, c1: 1 - beta1, c2: 1 - beta2, stepSize: Float(Double(Self.adamLR) / bc1),
                                    invSqrtBC2: Float(1 / bc2.squareRoot()), eps: 1e-8)
        let invBC1 = Float(1 / bc1)
        let theta = self.theta, grad = self.grad, m = self.m, v = self.v, anchor = self.anchor, extra = self.extra
        let partial = self.partial, cols = self.cols
        withUnsafePointer(to: &ka) { kp in
            switch kind {
            case .sgd:
                parallel { s, _ in graft_floor_sgd(theta[s.tensor], grad[s.tensor], Int64(s.lo), Int64(s.hi), Self.sgdLR) }
            case .momentum, .nesterov:
                let nesterov: Int32 = kind == .nesterov ? 1 : 0, first: Int32 = t == 1 ? 1 : 0
                parallel { s, _ in
                    graft_floor_momentum(theta[s.tensor], grad[s.tensor], extra[s.tensor], nil, Int64(s.lo), Int64(s.hi), Self.sgdLR,
                                         Self.mu, 0, first, nesterov)
                }
            case .l2sp:
                let first: Int32 = t == 1 ? 1 : 0
                parallel { s, _ in
                    let a = anchor[s.tensor]
                    graft_floor_momentum(theta[s.tensor], grad[s.tensor], extra[s.tensor], a, Int64(s.lo), Int64(s.hi), Self.sgdLR,
                                         Self.mu, a == nil ? Self.l2spBeta : Self.l2spAlpha, first, 0)
                }
            case .adam:
                parallel { s, _ in graft_floor_adam(theta[s.tensor], grad[s.tensor], m[s.tensor], v[s.tensor], Int64(s.lo), Int64(s.hi), kp) }
            case .adamw:
                parallel { s, _ in
                    graft_floor_adamw(theta[s.tensor], grad[s.tensor], m[s.tensor], v[s.tensor], Int64(s.lo), Int64(s.hi), kp,
                                      Self.adamLR, invBC1, Self.adamWDecay)
                }
            case .clip:
                parallel { s, i in graft_floor_sumsq(grad[s.tensor], Int64(s.lo), Int64(s.hi), partial + s.partial) }
                var total = 0.0
                for s in segments { total += partial[s.partial] }
                let coefficient = min(1, Float(Double(Self.clipNorm) / (total.squareRoot() + 1e-6)))
                let lr = Self.sgdLR * coefficient
                parallel { s, _ in graft_floor_sgd(theta[s.tensor], grad[s.tensor], Int64(s.lo), Int64(s.hi), lr) }
            case .digrap, .digrapFixed:
                let learned = kind == .digrap
                parallel { s, _ in
                    guard let a = anchor[s.tensor] else { return }
                    graft_floor_digrap_reduce(theta[s.tensor], grad[s.tensor], a, learned ? extra[s.tensor] : nil, Int64(s.lo), Int64(s.hi),
                                              Int64(cols[s.tensor]), partial + s.partial)
                }
                serialDiGraP(t, learned: learned)
                let k = self.k, coefficient = self.coefficient
                parallel { s, _ in
                    let i = s.tensor
                    if let a = anchor[i] {
                        graft_floor_digrap_apply(theta[i], grad[i], m[i], v[i], a, learned ? extra[i] : nil, k[i], coefficient[i],
                                                 Int64(s.lo), Int64(s.hi), kp)
                    } else {
                        graft_floor_adam(theta[i], grad[i], m[i], v[i], Int64(s.lo), Int64(s.hi), kp)
                    }
                }
            case .digrapUpdate, .digrapFixedUpdate:
                let learned = kind.learnsOmega
                parallel { s, _ in
                    let i = s.tensor
                    if let a = anchor[i] {
                        graft_floor_digrap_update_reduce(theta[i], grad[i], m[i], v[i], a, learned ? extra[i] : nil, Int64(s.lo), Int64(s.hi),
                                                         Int64(cols[i]), kp, invBC1, partial + s.partial)
                    } else {
                        graft_floor_adam(theta[i], grad[i], m[i], v[i], Int64(s.lo), Int64(s.hi), kp)
                    }
                }
                serialDiGraP(t, learned: learned)
                let k = self.k, coefficient = self.coefficient
                parallel { s, _ in
                    let i = s.tensor
                    guard let a = anchor[i] else { return }
                    graft_floor_digrap_update_apply(theta[i], m[i], v[i], a, learned ? extra[i] : nil, k[i], coefficient[i], Self.adamLR, invBC1,
                                                    Int64(s.lo), Int64(s.hi), kp)
                }
            case .pcgrad2Global, .pcgrad2Tensor, .pcgrad4Global, .pcgrad4Tensor:
                let pointers = objectivePointers, objectives = Int32(kind.objectives)
                parallel { s, _ in
                    graft_floor_gram(pointers[s.tensor], objectives, Int64(s.lo), Int64(s.hi), partial + s.partial)
                }
                serialPCGrad()
                let alpha = self.alpha
                parallel { s, _ in
                    let i = s.tensor
                    graft_floor_combine_adam(theta[i], pointers[i], alpha[i], objectives, m[i], v[i], Int64(s.lo), Int64(s.hi), kp)
                }
            case .spd:
                parallel { s, _ in
                    let i = s.tensor
                    if let a = anchor[i] {
                        graft_floor_spd_reduce(theta[i], grad[i], m[i], v[i], a, Int64(s.lo), Int64(s.hi), kp, partial + s.partial)
                    } else {
                        graft_floor_adam(theta[i], grad[i], m[i], v[i], Int64(s.lo), Int64(s.hi), kp)
                    }
                }
                let factors = serialSPD()
                parallel { s, _ in
                    let i = s.tensor
                    guard let a = anchor[i] else { return }
                    graft_floor_spd_apply(theta[i], m[i], v[i], a, Int64(s.lo), Int64(s.hi), kp, factors[i])
                }
            case .ftp:
                let reads: [Int32] = (0..<theta.count).map { t > 1 && !previousNorms[$0].allSatisfy { $0 == 0 } ? 1 : 0 }
                parallel { s, _ in
                    let i = s.tensor
                    if let a = anchor[i] {
                        graft_floor_ftp_reduce(theta[i], grad[i], m[i], v[i], a, extra[i], Int64(s.lo), Int64(s.hi), Int64(cols[i]), kp,
                                               reads[i], partial + s.partial)
                    } else {
                        graft_floor_adam(theta[i], grad[i], m[i], v[i], Int64(s.lo), Int64(s.hi), kp)
                    }
                }
                serialFTP(t, reads: reads)
                let scales = self.scales
                parallel { s, _ in
                    let i = s.tensor
                    guard let a = anchor[i] else { return }
                    graft_floor_ftp_apply(theta[i], a, extra[i], Int64(s.lo), Int64(s.hi), Int64(cols[i]), scales[i])
                }
            }
        }
    }

    /// Per-row sums from the segments' partials (`width` values per row piece) into `sums`
    /// (`slots` values per row, tensor i's rows from `rowBase[i]`), anchored tensors only.
    private func rowSums(_ width: Int, _ slots: Int) {
        let sums = self.sums
        sums.update(repeating: 0, count: totalRows * 5)
        for s in segments where anchor[s.tensor] != nil {
            let c = kind.byRows ? cols[s.tensor] : counts[s.tensor]
            let rowsIn = (s.hi - 1) / c - s.lo / c + 1
            let base = (rowBase[s.tensor] + s.firstRow) * slots
            for j in 0..<rowsIn {
                for q in 0..<slots { sums[base + j * slots + q] += partial[s.partial + j * width + q] }
            }
        }
    }

    /// DiGraP between the passes, as `DirectionalProjection.finishReduction`: ω's Adam step on
    /// the summed row cosines (learned, t > 1), then the coefficients of pass 2.
    private func serialDiGraP(_ t: Int, learned: Bool) {
        let slots = learned ? 5 : 2
        rowSums(5, slots)
        let sums = self.sums
        for i in theta.indices where anchor[i] != nil {
            var d = 0.0, cc = 0.0
            let rowRange = rowBase[i]..<(rowBase[i] + (kind.byRows ? rows[i] : 1))
            for r in rowRange { d += sums[r * slots]; cc += sums[r * slots + 1] }
            if learned && t > 1 {
                var h = 0.0
                for r in rowRange {
                    h += sums[r * 5 + 2] / (max(sums[r * 5 + 3].squareRoot(), 1e-12) * max(sums[r * 5 + 4].squareRoot(), 1e-12))
                }
                omegaM[i] = 0.9 * omegaM[i] + 0.1 * h
                omegaV[i] = 0.999 * omegaV[i] + 0.001 * h * h
                let mHat = omegaM[i] / (1 - pow(0.9, Double(t))), vHat = omegaV[i] / (1 - pow(0.999, Double(t)))
                let next = Double(Float(omega[i])) - Double(Self.digrapMu) * mHat / (vHat.squareRoot() + 1e-8)
                omega[i] = Double(Float(min(max(next, 0), 1)))
            }
            let w = learned ? omega[i] : 1
            if d < 0 { events += 1 }
            k[i] = d < 0 && w > 0 ? Float(w * d / cc) : 0
            coefficient[i] = Float(d / (cc + 1e-8))
        }
    }

    /// PCGrad between the passes: with G the Gram matrix of a unit (the group, or one tensor),
    /// objective i's projected gradient is `Σ_k a_ik g_k`, starting from `a_i = e_i`; for each
    /// other j in ascending order, `<ĝ_i, g_j> = Σ_k a_ik G_kj`, and when it is negative
    /// `a_ij −= <ĝ_i, g_j> / G_jj` (the projection against the original g_j). The sum over i is α.
    private func serialPCGrad() {
        let k = kind.objectives, width = kind.width
        func combination(_ g: [Double]) -> [Float] {
            func gram(_ a: Int, _ b: Int) -> Double { let (i, j) = a <= b ? (a, b) : (b, a); return g[i * k - i * (i - 1) / 2 + (j - i)] }
            var total = [Double](repeating: 0, count: k)
            for i in 0..<k {
                var a = [Double](repeating: 0, count: k)
                a[i] = 1
                for j in 0..<k where j != i {
                    var overlap = 0.0
                    for q in 0..<k { overlap += a[q] * gram(q, j) }
                    if overlap < 0 { a[j] -= overlap / gram(j, j) }
                }
                for q in 0..<k { total[q] += a[q] }
            }
            return total.map { Float($0) }
        }
        var units = [[Double]](repeating: [Double](repeating: 0, count: width), count: kind.perTensorSurgery ? theta.count : 1)
        for s in segments {
            let u = kind.perTensorSurgery ? s.tensor : 0
            for q in 0..<width { units[u][q] += partial[s.partial + q] }
        }
        let combined = units.map(combination)
        for i in theta.indices {
            let c = combined[kind.perTensorSurgery ? i : 0]
            for q in 0..<k { alpha[i][q] = c[q] }
        }
    }

    /// SPD between the passes: the decay factor λ r per tensor (0 unless `<g, θ − θ0>` > 0).
    private func serialSPD() -> [Float] {
        rowSums(3, 3)
        let sums = self.sums
        var factors = [Float](repeating: 0, count: theta.count)
        for i in theta.indices where anchor[i] != nil {
            let b = rowBase[i] * 3
            let gc = sums[b], oldNorm = sums[b + 1].squareRoot(), newNorm = sums[b + 2].squareRoot()
            guard gc > 0 else { continue }
            events += 1
            let ratio = newNorm > 0 ? Float(min(max((newNorm - oldNorm) / newNorm, 0), 1)) : 0
            factors[i] = Self.spdLambda * ratio
        }
        return factors
    }

    /// FTP between the passes: γ's Adam step and the per-row scales, as `TrainableProjection.finishReduction`.
    private func serialFTP(_ t: Int, reads: [Int32]) {
        rowSums(2, 2)
        let sums = self.sums
        for i in theta.indices where anchor[i] != nil {
            var gg = 0.0
            var norms = [Float](repeating: 0, count: rows[i])
            for r in 0..<rows[i] {
                let b = (rowBase[i] + r) * 2
                if reads[i] != 0 { gg += sums[b] / Double(previousNorms[i][r]) }
                norms[r] = Float(min(sums[b + 1], Double(Float.greatestFiniteMagnitude))) + 1e-8
            }
            var g = Float(gamma[i])
            if t == 1 {
                g = 1e-8
            } else {
                if gg > 0 { gg *= Double(Self.ftpK) }
                gammaM[i] = 0.9 * gammaM[i] + 0.1 * gg
                gammaV[i] = 0.999 * gammaV[i] + 0.001 * gg * gg
                let mHat = gammaM[i] / (1 - pow(0.9, Double(t))), vHat = gammaV[i] / (1 - pow(0.999, Double(t)))
                let next = Double(g) - Double(Self.ftpMu) * mHat / (vHat.squareRoot() + 1e-8)
                g = Float(min(max(next, 1e-8), Double(norms.max() ?? 1e-8)))
            }
            gamma[i] = Double(g)
            for r in 0..<rows[i] { scales[i]![r] = min(max(g / norms[r], 0), 1) }
            previousNorms[i] = norms
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
