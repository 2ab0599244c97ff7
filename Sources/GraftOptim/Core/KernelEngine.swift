import GraftTensor
import Synchronization

/// How a kernel's tensors are cut into segments and spread over the threads, made once per
/// group (shapes are known when the optimizer is built) and remade only when the thread
/// count changes.
///
/// A tensor is cut into rows (its first dimension for rank ≥ 2, else one row) and each row
/// into segments of at most `segmentLength` elements. The list of all segments, tensor after
/// tensor, is cut into one contiguous piece per worker with equal element counts, so both
/// cores always work: a large tensor is split, small tensors are spread. The cuts depend on
/// the thread count; the segments (and so every reduction's order of addition) do not.
public final class KernelPlan: @unchecked Sendable {
    /// Elements per segment (a segment of each buffer stays in L1/L2 while it is processed).
    public static let segmentLength = Vector.reductionBlock
    /// The most workers a plan uses (the optimizer keeps one result slot per worker).
    public static let maximumWorkers = 64
    /// What a tensor's bookkeeping costs in a step (binding its state, its loop set-up, its
    /// scattered buffers' cache misses), in elements of work: about 30 ns, the time of ~64
    /// elements of a fused Adam loop. Layouts of many small tensors (biases, norms) are worth
    /// both cores for this alone; the plan counts it when it decides and when it balances.
    public static let overheadPerTensor = 64

    /// The work of `parameters` in elements, with `overheadPerTensor` for each non-empty tensor.
    @usableFromInline static func work(_ parameters: [ParameterInfo]) -> Int {
        parameters.reduce(0) { $0 + ($1.count > 0 ? $1.count + overheadPerTensor : 0) }
    }

    /// Groups of at most this many elements keep the update of a leading native step rule
    /// (`Adam → [FTP] → lr`, `Adam → lr → [SPD]`): their first reduction pass commits the rule's
    /// state and stores its update once, and the later passes read it instead of recomputing it
    /// (Adam's √ and ÷ ran twice). It costs 4 bytes of memory per element; larger groups keep the
    /// recomputation (only 10⁶ was measured with it, see `ARCHITECTURE.md`).
    public static let keptUpdateLimit = 1 << 21

    /// One worker's share of one tensor: segments `lower ..< upper`; `index` numbers the plan's
    /// pieces (worker after worker).
    @usableFromInline struct Piece: Sendable {
        @usableFromInline let tensor: Int
        @usableFromInline let lower: Int
        @usableFromInline let upper: Int
        @usableFromInline let index: Int
    }

    /// Whether this plan keeps updates: not known before its first step with a reduction.
    @usableFromInline enum KeptUpdates { case undecided, used, unused }
    @usableFromInline var keepsUpdates = KeptUpdates.undecided
    /// The kept updates (element `i` of tensor `k` at `keptOffsets[k] + i`) while `keepsUpdates`
    /// is not `.unused`, allocated at the first step that may use them.
    @usableFromInline var keptUpdates: UnsafeMutablePointer<Float>?
    @usableFromInline let keptOffsets: [Int]
    @usableFromInline let elements: Int
    /// Per piece: the members whose update a reduction pass of this step kept (0: none).
    @usableFromInline let keptMembers: UnsafeMutablePointer<Int>
    /// Per piece: whether the member after the kept ones finished its state in that reduction
    /// pass (`LaneFunction.commitsInReduction`), so the update itself was not kept.
    @usableFromInline let committedInReduction: UnsafeMutablePointer<Bool>
    /// The number of pieces (`Piece.index` runs over `0 ..< pieceCount`).
    @usableFromInline let pieceCount: Int

    @usableFromInline let rows: [Int]
    @usableFromInline let segmentsPerRow: [Int]
    @usableFromInline let pieces: [[Piece]]
    /// `applies[pass][tensor]`.
    @usableFromInline let applies: [[Bool]]
    @usableFromInline let scratch: UnsafeMutablePointer<Double>?
    @usableFromInline let scratchOffsets: [Int]
    /// The thread count the plan was made for.
    public let threads: Int

    /// A plan for `parameters` under `runner`, with `threads` workers when the group has at
    /// least `parallelThreshold` elements of work (`work(_:)`; one worker otherwise).
    @usableFromInline init(parameters: [ParameterInfo], runner: KernelRunner, threads: Int, parallelThreshold: Int) {
        let length = KernelPlan.segmentLength
        var rows: [Int] = [], perRow: [Int] = []
        for p in parameters {
            let n = p.count
            let r = n == 0 || p.rank < 2 ? 1 : max(1, p.rows)
            let cols = n / r
            rows.append(r)
            perRow.append(n == 0 ? 0 : max(1, (cols + length - 1) / length))
        }
        let work = KernelPlan.work(parameters)
        self.rows = rows
        self.segmentsPerRow = perRow
        applies = (0..<runner.passes).map { pass in parameters.map { runner.applies(pass, $0) } }
        var elementOffsets: [Int] = [], elements = 0
        for p in parameters {
            elementOffsets.append(elements)
            elements += p.count
        }
        keptOffsets = elementOffsets
        self.elements = elements
        var offsets: [Int] = [], total = 0
        for k in parameters.indices {
            offsets.append(total)
            total += runner.scratch(rows[k] * perRow[k])
        }
        scratchOffsets = offsets
        if total > 0 {
            scratch = UnsafeMutablePointer<Double>.allocate(capacity: total)
            scratch!.initialize(repeating: 0, count: total)
        } else {
            scratch = nil
        }
        let workers = threads > 1 && work >= parallelThreshold ? min(threads, KernelPlan.maximumWorkers) : 1
        self.threads = threads
        var pieces = [[Piece]](repeating: [], count: workers)
        var worker = 0, done = 0, index = 0
        for k in parameters.indices {
            let n = parameters[k].count
            let segments = rows[k] * perRow[k]
            guard segments > 0 else { continue }
            let cols = n / rows[k]
            var lower = 0
            done += KernelPlan.overheadPerTensor
            for s in 0..<segments {
                let b = s % perRow[k]
                done += min(cols, (b + 1) * length) - b * length
                // Close this worker's piece once it holds its share of the work.
                if worker < workers - 1 && done * workers >= work * (worker + 1) {
                    pieces[worker].append(Piece(tensor: k, lower: lower, upper: s + 1, index: index))
                    index += 1
                    lower = s + 1
                    worker += 1
                }
            }
            if lower < segments {
                pieces[worker].append(Piece(tensor: k, lower: lower, upper: segments, index: index))
                index += 1
            }
        }
        self.pieces = pieces.filter { !$0.isEmpty }
        pieceCount = index
        keptMembers = .allocate(capacity: max(1, index))
        keptMembers.initialize(repeating: 0, count: max(1, index))
        committedInReduction = .allocate(capacity: max(1, index))
        committedInReduction.initialize(repeating: false, count: max(1, index))
    }

    deinit {
        scratch?.deallocate()
        keptUpdates?.deallocate()
        keptMembers.deallocate()
        committedInReduction.deallocate()
    }

    /// Whether this step's first reduction pass may commit a leading native step rule: θ is
    /// written and the native loops are on. Its update is then kept (`keptUpdates`, in groups of
    /// at most `keptUpdateLimit` elements) or, when the member after it finishes in that pass too
    /// (`LaneFunction.commitsInReduction`: FTP), needed in the segment buffer only, in any group.
    @usableFromInline var commitsInReduction = false

    /// Before a step's reduction passes (on the calling thread): whether the step may commit in
    /// its reduction pass, and keep updates (the group is small enough, and earlier steps did not
    /// show that none are kept); allocates them at the first such step and forgets the last step's.
    @usableFromInline func prepareKeptUpdates(_ run: KernelRun, passes: Int) {
        keptMembers.update(repeating: 0, count: max(1, pieceCount))
        committedInReduction.update(repeating: false, count: max(1, pieceCount))
        commitsInReduction = passes > 0 && run.addsToValue && elements > 0 && KernelEngine.usesNativeKernels
        guard commitsInReduction, keepsUpdates != .unused, elements <= KernelPlan.keptUpdateLimit else { return }
        if keptUpdates == nil { keptUpdates = .allocate(capacity: elements) }
    }

    /// After the step: a plan whose first step with kept updates kept none (no leading native step
    /// rule, or only members that finished in the reduction pass) frees them for good.
    @usableFromInline func finishKeptUpdates() {
        guard keepsUpdates == .undecided, let kept = keptUpdates else { return }
        if (0..<pieceCount).contains(where: { keptMembers[$0] > 0 && !committedInReduction[$0] }) {
            keepsUpdates = .used
        } else {
            keepsUpdates = .unused
            kept.deallocate()
            keptUpdates = nil
        }
    }

    /// The segment of tensor `k`: element range of segment `s` and its row.
    @inlinable func segment(_ s: Int, of k: Int, count: Int) -> (lower: Int, upper: Int, row: Int) {
        let spr = segmentsPerRow[k]
        let row = s / spr, b = s - row * spr
        let cols = count / rows[k]
        let lo = row * cols + b * KernelPlan.segmentLength
        return (lo, row * cols + Swift.min(cols, (b + 1) * KernelPlan.segmentLength), row)
    }
}

/// One group step for a kernel: the tensors, where the running update comes from and goes,
/// the plan and the state. Made by the optimizer (fused path) or by `runInPlace`.
public struct KernelRun: @unchecked Sendable {
    @usableFromInline let step: StepInfo
    @usableFromInline let tensors: [KernelTensor]
    /// Per tensor: where the incoming update is read (g, or the running update).
    @usableFromInline let inputs: [UnsafePointer<Float>]
    /// Per tensor: where the result goes: θ ← θ + u when `addsToValue`, else u itself.
    @usableFromInline let outputs: [UnsafeMutablePointer<Float>]
    @usableFromInline let addsToValue: Bool
    @usableFromInline let plan: KernelPlan
    @usableFromInline let state: GroupState
    /// Per worker: the lowest tensor index whose new θ was not finite (Int.max: none).
    @usableFromInline let nonFiniteOutput: UnsafeMutablePointer<Int>

    @usableFromInline init(step: StepInfo, tensors: [KernelTensor], inputs: [UnsafePointer<Float>], outputs: [UnsafeMutablePointer<Float>],
                           addsToValue: Bool, plan: KernelPlan, state: GroupState, nonFiniteOutput: UnsafeMutablePointer<Int>) {
        self.step = step
        self.tensors = tensors
        self.inputs = inputs
        self.outputs = outputs
        self.addsToValue = addsToValue
        self.plan = plan
        self.state = state
        self.nonFiniteOutput = nonFiniteOutput
    }
}

/// Runs kernels: the reduction passes, the per-tensor `finishReduction`, the elementwise pass.
public enum KernelEngine {
    /// Whether Adam-family chains run as the native C loop (`NativeStepChain`; default `true`).
    /// Both paths give bitwise the same results; the switch exists to compare them (tests,
    /// benchmarks). Process-wide: set it before stepping, not while other threads step.
    public static var usesNativeKernels: Bool {
        get { nativeSetting.load(ordering: .relaxed) }
        set { nativeSetting.store(newValue, ordering: .relaxed) }
    }
    @usableFromInline static let nativeSetting = Atomic<Bool>(true)
    #if DEBUG
    /// Segments the native loop ran (debug builds only: lets tests prove the path was taken).
    @usableFromInline static let nativeSegments = Atomic<Int>(0)
    /// Segments a native reduction loop (`LaneFunction.reduceNatively`) ran.
    @usableFromInline static let nativeReducedSegments = Atomic<Int>(0)
    /// Segments of a pass that read a kept step-rule update (`KernelPlan.keptUpdateLimit`)
    /// instead of running the step rule.
    @usableFromInline static let keptUpdateSegments = Atomic<Int>(0)
    #endif

    /// Runs `kernel` over `run`: every reduction pass over every worker's pieces, the
    /// per-tensor finish (in tensor order), then the elementwise pass.
    @inlinable public static func run<K: FusableTransform>(_ kernel: K, _ run: KernelRun) {
        let prepared = kernel.prepareKernel(run.step)
        let plan = run.plan
        let passes = kernel.reductionPasses
        plan.prepareKeptUpdates(run, passes: passes)
        defer { plan.finishKeptUpdates() }
        for pass in 0..<passes {
            let applies = plan.applies[pass]
            forEachWorker(plan) { w in
                var buffer: UnsafeMutablePointer<Float>?
                defer { buffer?.deallocate() }
                for piece in plan.pieces[w] where applies[piece.tensor] {
                    process(kernel, prepared, run, piece, pass: pass, commit: false, worker: w, buffer: &buffer)
                }
            }
            for k in run.tensors.indices where applies[k] {
                kernel.finishReduction(pass, prepared, run.tensors[k], run.state)
            }
        }
        forEachWorker(plan) { w in
            var buffer: UnsafeMutablePointer<Float>?
            defer { buffer?.deallocate() }
            for piece in plan.pieces[w] { process(kernel, prepared, run, piece, pass: passes, commit: true, worker: w, buffer: &buffer) }
        }
    }

    @inlinable static func forEachWorker(_ plan: KernelPlan, _ body: (Int) -> Void) {
        let n = plan.pieces.count
        if n == 1 { body(0) } else if n > 1 { Parallel.forEach(iterations: n, body) }
    }

    /// Runs one piece of one pass. `buffer` is the worker's segment buffer for split chains,
    /// allocated on first need and freed by the caller after the worker's last piece.
    @inlinable static func process<K: FusableTransform>(_ kernel: K, _ prepared: K.KernelPrepared, _ run: KernelRun,
                                                         _ piece: KernelPlan.Piece, pass: Int, commit: Bool, worker: Int,
                                                         buffer workerBuffer: inout UnsafeMutablePointer<Float>?) {
        typealias V = SIMD8<Float>
        let k = piece.tensor
        let tensor = run.tensors[k]
        var lanes = kernel.bindKernel(prepared, tensor, run.state, pass: pass, commit: commit)
        let input = UnsafeRawPointer(run.inputs[k])
        let output = run.outputs[k]
        let rawOutput = UnsafeMutableRawPointer(output)
        let theta = UnsafeRawPointer(tensor.value)
        let value = tensor.value
        let reduction = pass < kernel.reductionPasses
        var nonFinite = false
        let segmentsPerRow = tensor.segmentsPerRow, columns = tensor.columns
        // The piece's segments are consecutive blocks of consecutive rows, so its elements are one
        // contiguous range, `pieceLower ..< pieceUpper`.
        let firstRow = segmentsPerRow == 1 ? piece.lower : piece.lower / segmentsPerRow
        let lastRow = segmentsPerRow == 1 ? piece.upper - 1 : (piece.upper - 1) / segmentsPerRow
        let pieceLower = firstRow * columns + (piece.lower - firstRow * segmentsPerRow) * KernelPlan.segmentLength
        let pieceUpper = lastRow * columns
            + Swift.min(columns, (piece.upper - lastRow * segmentsPerRow) * KernelPlan.segmentLength)
        /// The element range of segment `s` of this tensor (as in the loop below).
        @inline(__always) func segmentBounds(_ s: Int) -> (lower: Int, upper: Int) {
            let row = segmentsPerRow == 1 ? s : s / segmentsPerRow, b = s - row * segmentsPerRow
            return (row * columns + b * KernelPlan.segmentLength, row * columns + Swift.min(columns, (b + 1) * KernelPlan.segmentLength))
        }
        /// The run of consecutive segments `s ..< end` of this piece whose elements, `lower ..< upper`,
        /// fit the segment buffer (at least segment `s`): what one native call of a split chain covers.
        @inline(__always) func segmentRun(from s: Int) -> (end: Int, lower: Int, upper: Int) {
            let first = segmentBounds(s)
            var end = s + 1, hi = first.upper
            while end < piece.upper {
                let next = segmentBounds(end)
                if next.upper - first.lower > KernelPlan.segmentLength { break }
                hi = next.upper
                end += 1
            }
            return (end, first.lower, hi)
        }
        // The leading native step rule's update of this piece when a reduction pass of this step
        // kept it (`KernelPlan.keptUpdateLimit`; the rule's state is then committed): element `i`
        // at `keptUpdate[i]`, the members after the first `keptAfter` still to run over it.
        // When the member after the kept ones finished its state in that pass (FTP's ĉ), the update
        // was not kept either: the elementwise pass does not read it.
        let keptMembers = run.plan.keptMembers[piece.index]
        let committedInReduction = keptMembers > 0 && run.plan.committedInReduction[piece.index]
        var keptUpdate = keptMembers > 0 && !committedInReduction ? run.plan.keptUpdates.map { $0 + run.plan.keptOffsets[k] } : nil
        var keptAfter = keptMembers
        /// Redoes reduction segment `t` in Double (its float partial sums overflowed on finite inputs),
        /// from the committed leading members' update of its first element at `update` when they
        /// were committed (every caller on the step-rule-first path passes its run buffer), else
        /// from the inputs through every member.
        @inline(__always) func reduceSegmentPrecisely(_ t: Int, update: UnsafePointer<Float>? = nil) {
            let (lo, hi) = segmentBounds(t)
            lanes.beginSegment(t, row: segmentsPerRow == 1 ? t : t / segmentsPerRow, precise: true)
            for j in lo..<hi {
                if keptAfter > 0, let update {
                    var u = update[j - lo]
                    _ = lanes.applyTrailing(after: keptAfter, &u, theta: value[j], at: j)
                } else {
                    var u = run.inputs[k][j]
                    _ = lanes.apply(&u, theta: value[j], at: j)
                }
            }
            _ = lanes.endSegment(t)
        }
        /// The reduction of this piece's segments `s ..< end` as whole rows with native calls
        /// (`LaneFunction.reduceRowsNatively`; input of segment s's first element at `input`),
        /// redoing an overflowed segment in Double; returns the first segment not done (`end` when
        /// all were, `s` when the lanes have no such loop).
        @inline(__always) func reduceRows(after members: Int, _ input: UnsafePointer<Float>, from s: Int, to end: Int) -> Int {
            guard segmentsPerRow == 1, KernelEngine.usesNativeKernels else { return s }
            var t = s
            while t < end, let done = lanes.reduceRowsNatively(after: members, input + (t - s) * columns, theta: value,
                                                              lower: t * columns, columns: columns, segment: t, count: end - t) {
                #if DEBUG
                KernelEngine.nativeReducedSegments.add(done, ordering: .relaxed)
                #endif
                t += done
                if t < end {
                    reduceSegmentPrecisely(t, update: members > 0 ? input + (t - s) * columns : nil)
                    t += 1
                }
            }
            return t
        }
        /// The committing step rule `step` (the first `members`), the reduction of the members after
        /// it and their commit (`commitReduction`) over this piece's segments `s ..< end` (elements
        /// from `runLower`, ≤ one segment buffer) as fused native calls over whole rows
        /// (`LaneFunction.reduceRowsNatively(after:committing:…)`); an overflowed segment, whose
        /// update the call left in `buffer`, redone in Double and committed. Returns `false`
        /// (nothing done) when the lanes have no such loop.
        @inline(__always) func reduceAndCommitRows(_ step: NativeStepChain, after members: Int, from s: Int, to end: Int,
                                                   runLower: Int, buffer: UnsafeMutablePointer<Float>) -> Bool {
            guard segmentsPerRow == 1 else { return false }
            var t = s
            while t < end {
                let lower = t * columns
                guard let done = lanes.reduceRowsNatively(after: members, committing: step, gradient: run.inputs[k], theta: value,
                                                          update: buffer + (lower - runLower), lower: lower, columns: columns,
                                                          segment: t, count: end - t) else {
                    // Support is a property of the lanes: only the first call can decline.
                    if t == s { return false }
                    fatalError("KernelEngine: a fused reduction declined segment \(t) after running segment \(s)")
                }
                #if DEBUG
                KernelEngine.nativeReducedSegments.add(done, ordering: .relaxed)
                #endif
                t += done
                if t < end {
                    // Segment t's float sums overflowed: its step is committed and its update is in
                    // the buffer; redo its reduction in Double from there, then commit it.
                    let overflowed = buffer + (t * columns - runLower)
                    reduceSegmentPrecisely(t, update: overflowed)
                    lanes.commitReduction(after: members, overflowed, theta: value, lower: t * columns, upper: (t + 1) * columns)
                    t += 1
                }
            }
            return true
        }
        // A complete Adam- or SGD-family chain runs the whole piece as one C call (256-bit where the
        // CPU has it; bitwise the same as the Swift loop below, see `NativeStepChain`). Native
        // chains are purely elementwise: they have no segment hooks to call.
        // Native C loops, looked up only for pieces long enough to use them (a tiny tensor's step
        // must not pay for building descriptions: it is all bookkeeping, see per-tensor overhead).
        // 1. A complete Adam- or SGD-family chain runs the whole piece as one C call (256-bit where
        //    the CPU has it; bitwise the same as the Swift loop below, see `NativeStepChain`).
        //    Native chains are purely elementwise: they have no segment hooks to call.
        // 2. Else, a chain whose trailing members are a native step (`[DiGraP] → Adam → lr`): the
        //    leading members run in the Swift loop into a segment buffer, then the C loop reads it.
        //    Every member is elementwise in this pass and reads θ before the C loop writes it, so
        //    the result is bitwise the all-Swift loop's.
        // 3. Else, a chain whose first members are a native step rule (`Adam → lr → [SPD]`, `Adam →
        //    [FTP] → lr`): the C loop computes their update into the segment buffer (committing
        //    their state, or dry in a reduction pass; θ untouched), then the remaining members'
        //    Swift lanes (or their native reduction) run over it. In a small group the reduction
        //    pass commits their state and keeps the update for the later passes instead
        //    (`KernelPlan.keptUpdateLimit`): those then only read it.
        var native: NativeStepChain?, trailing: NativeStepChain?, prefix: NativeStepChain?
        // The committed step rule whose update this pass recomputes from its state (SPD after Adam).
        var recomputed: NativeStepChain?
        var leading = 0, prefixMembers = 0
        let outputIsTheta = run.addsToValue && UnsafePointer(output) == theta.assumingMemoryBound(to: Float.self)
        let writesTheta = commit && outputIsTheta
        if keptMembers > 0 {
            // An earlier pass ran the step rule and kept its update: whatever the lanes or the
            // native switch say now, this piece must not run it again.
            prefixMembers = keptMembers
            if committedInReduction {
                lanes.useCommittedReduction(after: keptMembers)
                if lanes.readsUpdateAfterCommittedReduction(after: keptMembers) {
                    var chain = NativeStepChain()
                    guard lanes.describeNative(&chain, leading: keptMembers), chain.canRecomputeUpdate else {
                        fatalError("KernelEngine: the step rule committed in the reduction pass no longer describes itself")
                    }
                    recomputed = chain
                }
            }
        } else if pieceUpper - pieceLower >= NativeStepChain.minimumLength && KernelEngine.usesNativeKernels && (reduction || writesTheta) {
            let members = lanes.memberLanes
            if !reduction {
                var chain = NativeStepChain()
                if lanes.describeNative(&chain) && chain.isComplete { native = chain }
                var skip = 1
                while native == nil && trailing == nil && skip < members {
                    var chain = NativeStepChain()
                    if lanes.describeNative(&chain, skipping: skip) && chain.isComplete {
                        trailing = chain
                        leading = skip
                    }
                    skip += 1
                }
            }
            var count = members - 1
            while native == nil && trailing == nil && prefix == nil && count >= 1 {
                var chain = NativeStepChain()
                if lanes.describeNative(&chain, leading: count) && chain.isLeadingStep {
                    prefix = chain
                    prefixMembers = count
                }
                count -= 1
            }
        }
        if (leading > 0 || prefixMembers > 0) && workerBuffer == nil {
            // Initialised: after a reduction that committed FTP's ĉ the elementwise pass hands it to
            // lanes that ignore it, and no lane should see undefined floats.
            workerBuffer = .allocate(capacity: KernelPlan.segmentLength)
            workerBuffer!.initialize(repeating: 0, count: KernelPlan.segmentLength)
        }
        let buffer = leading > 0 || prefixMembers > 0 ? workerBuffer : nil
        if let native {
            if !native.run(gradient: run.inputs[k], theta: output, lower: pieceLower, upper: pieceUpper) { nonFinite = true }
            #if DEBUG
            KernelEngine.nativeSegments.add(piece.upper - piece.lower, ordering: .relaxed)
            #endif
        } else if let trailing, let buffer,
                  lanes.applyLeadingNatively(leading, run.inputs[k] + pieceLower, theta: value, out: buffer,
                                             lower: pieceLower, upper: pieceLower) {
            // The leading members have a native loop too (it just ran on an empty range): run both
            // over runs of consecutive segments that fill the buffer (rows of 128 are 32 segments
            // to a call), not segment by segment. Their segment hooks do nothing in this pass; they
            // are called in order all the same.
            var s = piece.lower
            while s < piece.upper {
                let (end, lo, hi) = segmentRun(from: s)
                if !lanes.applyLeadingNatively(leading, run.inputs[k] + lo, theta: value, out: buffer, lower: lo, upper: hi) {
                    // The native switch went off since the probe (another thread set it): the Swift lanes.
                    applyLeading(&lanes, leading, run.inputs[k], theta: value, into: buffer, lower: lo, upper: hi)
                }
                for t in s..<end {
                    lanes.beginSegment(t, row: segmentsPerRow == 1 ? t : t / segmentsPerRow, precise: false)
                    _ = lanes.endSegment(t)
                }
                if !trailing.run(gradientAtLower: buffer, theta: output, lower: lo, upper: hi) { nonFinite = true }
                #if DEBUG
                KernelEngine.nativeSegments.add(end - s, ordering: .relaxed)
                #endif
                s = end
            }
        } else if prefixMembers > 0, let buffer, reduction || run.addsToValue {
            // The native step rule leads (`Adam → lr → [SPD]`, `Adam → [FTP] → lr`): its update over a
            // run of consecutive segments that fill the buffer is one C call (rows of 128 are 32
            // segments to a call); the remaining members then run over the buffer, as native calls
            // over the run's rows when they have them (`reduceRowsNatively`, `applyTrailingRowsNatively`),
            // else segment by segment.
            // The first reduction pass of a small group commits the step rule's state and keeps its
            // update (`KernelPlan.keptUpdateLimit`): the later passes read it, as the redo of an
            // overflowed segment does.
            var step = keptMembers > 0 ? nil : prefix
            var commitsHere = false
            if reduction, keptMembers == 0, outputIsTheta, run.plan.commitsInReduction {
                // The member after the step rule may finish here too (FTP stores ĉ): then the
                // update lives in the segment buffer only, for the reduction and its redo, and
                // no group is too large for it.
                // (A member that still reads the update then gets it recomputed from the committed
                // state, which only Adam's allows: a momentum step's needs the gradient.)
                commitsHere = lanes.commitsInReduction(after: prefixMembers)
                    && (!lanes.readsUpdateAfterCommittedReduction(after: prefixMembers) || step?.canRecomputeUpdate == true)
                let kept = commitsHere ? nil : run.plan.keptUpdates
                if commitsHere || kept != nil {
                    keptUpdate = kept.map { $0 + run.plan.keptOffsets[k] }
                    keptAfter = prefixMembers
                    step?.commits = true
                    run.plan.keptMembers[piece.index] = prefixMembers
                    run.plan.committedInReduction[piece.index] = commitsHere
                }
            }
            var s = piece.lower
            while s < piece.upper {
                let (end, runLower, runUpper) = segmentRun(from: s)
                let buffer = keptUpdate.map { $0 + runLower } ?? buffer
                if commitsHere, let step,
                   reduceAndCommitRows(step, after: prefixMembers, from: s, to: end, runLower: runLower, buffer: buffer) {
                    // The step, the reduction and the commit of the run in one loop per row.
                    #if DEBUG
                    KernelEngine.nativeSegments.add(end - s, ordering: .relaxed)
                    #endif
                    s = end
                    continue
                }
                if let step {
                    step.runUpdate(gradient: run.inputs[k], theta: value, out: buffer, lower: runLower, upper: runUpper)
                } else if let recomputed {
                    _ = recomputed.runUpdateFromMoments(theta: value, out: buffer, lower: runLower, upper: runUpper)
                    #if DEBUG
                    KernelEngine.keptUpdateSegments.add(end - s, ordering: .relaxed)
                    #endif
                } else {
                    #if DEBUG
                    KernelEngine.keptUpdateSegments.add(end - s, ordering: .relaxed)
                    #endif
                }
                var rowsDone = s
                if reduction {
                    rowsDone = reduceRows(after: prefixMembers, buffer, from: s, to: end)
                } else if segmentsPerRow == 1, let finite = lanes.applyTrailingRowsNatively(
                    after: prefixMembers, buffer, theta: value, output: output, lower: runLower, columns: columns, segment: s,
                    count: end - s, then: nil) {
                    // The remaining members' native loop stored θ + u for the whole run.
                    if !finite { nonFinite = true }
                    rowsDone = end
                }
                for t in rowsDone..<end {
                    let (lo, hi) = segmentBounds(t)
                    let row = segmentsPerRow == 1 ? t : t / segmentsPerRow
                    let segmentBuffer = buffer + (lo - runLower)
                    lanes.beginSegment(t, row: row, precise: false)
                    if reduction {
                        if lanes.reduceNatively(after: prefixMembers, segmentBuffer, theta: value, lower: lo, upper: hi) {
                            #if DEBUG
                            KernelEngine.nativeReducedSegments.add(1, ordering: .relaxed)
                            #endif
                        } else {
                            applyTrailing(&lanes, after: prefixMembers, segmentBuffer, theta: value, lower: lo, upper: hi, output: nil)
                        }
                        if !lanes.endSegment(t) { reduceSegmentPrecisely(t, update: segmentBuffer) }
                    } else {
                        applyTrailing(&lanes, after: prefixMembers, segmentBuffer, theta: value, lower: lo, upper: hi, output: output)
                        _ = lanes.endSegment(t)
                    }
                }
                if commitsHere {
                    lanes.commitReduction(after: prefixMembers, buffer, theta: value, lower: runLower, upper: runUpper)
                }
                if !reduction && rowsDone < end && !nonFinite
                    && !Vector.allFinite(UnsafeBufferPointer(start: output + runLower, count: runUpper - runLower)) {
                    nonFinite = true
                }
                #if DEBUG
                KernelEngine.nativeSegments.add(end - s, ordering: .relaxed)
                #endif
                s = end
            }
        } else {
            // A reduction over rows of one segment each (columns ≤ the segment length) runs as native
            // calls over many rows, when the lanes have them; the rest segment by segment.
            let rowsDone = reduction && pieceUpper - pieceLower >= NativeStepChain.minimumLength
                ? reduceRows(after: 0, run.inputs[k] + pieceLower, from: piece.lower, to: piece.upper) : piece.lower
            for s in rowsDone..<piece.upper {
                // Segment s: row s / segmentsPerRow, block b of that row (as `KernelPlan.segment`);
                // one segment per row is the common case, and a 64-bit division costs ~40 cycles.
                let row = segmentsPerRow == 1 ? s : s / segmentsPerRow, b = s - row * segmentsPerRow
                let lo = row * columns + b * KernelPlan.segmentLength
                let hi = row * columns + Swift.min(columns, (b + 1) * KernelPlan.segmentLength)
                lanes.beginSegment(s, row: row, precise: false)
                var i = lo
                if reduction {
                    if lanes.reduceNatively(run.inputs[k] + lo, theta: value, lower: lo, upper: hi) {
                        #if DEBUG
                        KernelEngine.nativeReducedSegments.add(1, ordering: .relaxed)
                        #endif
                    } else {
                        while i + 8 <= hi {
                            var u = Lane.load(input, i)
                            _ = lanes.apply(&u, theta: Lane.load(theta, i), at: i)
                            i &+= 8
                        }
                        while i < hi {
                            var u = run.inputs[k][i]
                            _ = lanes.apply(&u, theta: value[i], at: i)
                            i &+= 1
                        }
                    }
                    // A float partial sum overflowed on finite inputs: redo the segment in Double.
                    if !lanes.endSegment(s) { reduceSegmentPrecisely(s) }
                } else if run.addsToValue, let trailing, let buffer, hi - lo >= NativeStepChain.minimumLength {
                    if !lanes.applyLeadingNatively(leading, run.inputs[k] + lo, theta: value, out: buffer, lower: lo, upper: hi) {
                        applyLeading(&lanes, leading, run.inputs[k], theta: value, into: buffer, lower: lo, upper: hi)
                    }
                    _ = lanes.endSegment(s)
                    if !trailing.run(gradientAtLower: buffer, theta: output, lower: lo, upper: hi) { nonFinite = true }
                    #if DEBUG
                    KernelEngine.nativeSegments.add(1, ordering: .relaxed)
                    #endif
                } else if run.addsToValue {
                    while i + 8 <= hi {
                        var u = Lane.load(input, i)
                        let th = Lane.load(theta, i)
                        _ = lanes.apply(&u, theta: th, at: i)
                        Lane.store(th + u, rawOutput, i)
                        i &+= 8
                    }
                    let vectorEnd = i
                    while i < hi {
                        var u = run.inputs[k][i]
                        let th = value[i]
                        _ = lanes.apply(&u, theta: th, at: i)
                        let new = th + u
                        output[i] = new
                        if !new.isFinite { nonFinite = true }
                        i &+= 1
                    }
                    _ = lanes.endSegment(s)
                    // The new values of this segment are in L1: one cheap scan finds a non-finite one
                    // (cheaper than a check inside the vector loop, which costs registers there).
                    if !nonFinite && vectorEnd > lo && !Vector.allFinite(UnsafeBufferPointer(start: output + lo, count: vectorEnd - lo)) {
                        nonFinite = true
                    }
                } else {
                    while i + 8 <= hi {
                        var u = Lane.load(input, i)
                        _ = lanes.apply(&u, theta: Lane.load(theta, i), at: i)
                        Lane.store(u, rawOutput, i)
                        i &+= 8
                    }
                    while i < hi {
                        var u = run.inputs[k][i]
                        _ = lanes.apply(&u, theta: value[i], at: i)
                        output[i] = u
                        i &+= 1
                    }
                    _ = lanes.endSegment(s)
                }
            }
        }
        if nonFinite {
            // Each worker writes only its own slot.
            let slot = run.nonFiniteOutput + worker
            if k < slot.pointee { slot.pointee = k }
        }
    }

    /// The first `count` members' Swift lanes over elements `lower ..< upper` of `input`, element
    /// `lower + j`'s update into `buffer[j]` (for a native step rule that reads the buffer next).
    @inlinable @inline(__always)
    static func applyLeading<L: LaneFunction>(_ lanes: inout L, _ count: Int, _ input: UnsafePointer<Float>, theta value: UnsafePointer<Float>,
                                              into buffer: UnsafeMutablePointer<Float>, lower: Int, upper: Int) {
        typealias V = SIMD8<Float>
        let rawInput = UnsafeRawPointer(input), theta = UnsafeRawPointer(value), rawBuffer = UnsafeMutableRawPointer(buffer)
        var i = lower
        while i + 8 <= upper {
            var u = Lane.load(rawInput, i)
            _ = lanes.applyLeading(count, &u, theta: Lane.load(theta, i), at: i)
            Lane.store(u, rawBuffer, i &- lower)
            i &+= 8
        }
        while i < upper {
            var u = input[i]
            _ = lanes.applyLeading(count, &u, theta: value[i], at: i)
            buffer[i &- lower] = u
            i &+= 1
        }
    }

    /// The members after the first `members` over a segment's updates in `buffer` (element `lower`
    /// at `buffer[0]`): reduction lanes when `output` is `nil`, else θ + u stored at `output`.
    @inlinable @inline(__always)
    static func applyTrailing<L: LaneFunction>(_ lanes: inout L, after members: Int, _ buffer: UnsafeMutablePointer<Float>,
                                               theta value: UnsafePointer<Float>, lower: Int, upper: Int,
                                               output: UnsafeMutablePointer<Float>?) {
        typealias V = SIMD8<Float>
        let rawBuffer = UnsafeRawPointer(buffer), theta = UnsafeRawPointer(value)
        var i = lower
        while i + 8 <= upper {
            var u = Lane.load(rawBuffer, i &- lower)
            let th = Lane.load(theta, i)
            _ = lanes.applyTrailing(after: members, &u, theta: th, at: i)
            if let output { Lane.store(th + u, output, i) }
            i &+= 8
        }
        while i < upper {
            var u = buffer[i &- lower]
            let th = value[i]
            _ = lanes.applyTrailing(after: members, &u, theta: th, at: i)
            if let output { output[i] = th + u }
            i &+= 1
        }
    }

    /// Runs `kernel` in place on the running updates of `group` (a kernel that is one member of
    /// a chain that is not fused as a whole).
    @inlinable public static func runInPlace<K: FusableTransform>(_ kernel: K, group: GroupStep, state: GroupState) {
        guard let runner = kernel.makeKernelRunner() else { return }
        runInPlace(runner, group: group, state: state, selected: Array(group.slots.indices))
    }

    /// Runs `runner` in place on the running updates of the tensors `selected` (indices in
    /// `group`) only; the others are not touched. Each selected tensor keeps its index in the
    /// group, so `state.view(k)` is its own state. (`Masked` runs an inner member it cannot fuse
    /// statically, an erased one from a trace recipe, on its selected tensors this way.)
    @usableFromInline static func runInPlace(_ runner: KernelRunner, group: GroupStep, state: GroupState, selected: [Int]) {
        guard !selected.isEmpty else { return }
        let infos = selected.map { group.slots[$0].info }
        let plan = KernelPlan(parameters: infos, runner: runner, threads: Parallel.threads, parallelThreshold: group.parallelThreshold)
        var tensors: [KernelTensor] = []
        var inputs: [UnsafePointer<Float>] = [], outputs: [UnsafeMutablePointer<Float>] = []
        let empty = UnsafeMutablePointer<Float>.allocate(capacity: 8)
        empty.initialize(repeating: 0, count: 8)
        defer { empty.deallocate() }
        for (j, k) in selected.enumerated() {
            let slot = group.slots[k]
            let u = slot.update.baseAddress ?? empty
            tensors.append(KernelTensor(slot: slot, index: k, plan: plan, planIndex: j, empty: empty))
            inputs.append(UnsafePointer(u))
            outputs.append(u)
        }
        let flags = UnsafeMutablePointer<Int>.allocate(capacity: max(1, plan.pieces.count))
        flags.initialize(repeating: .max, count: max(1, plan.pieces.count))
        defer { flags.deallocate() }
        runner.run(KernelRun(step: group.info, tensors: tensors, inputs: inputs, outputs: outputs, addsToValue: false,
                             plan: plan, state: state, nonFiniteOutput: flags))
    }
}

extension KernelTensor {
    /// The kernel's view of the slot of an unfused step: tensor `planIndex` of `plan`, keeping its
    /// index in the group (`index`, so `state.view(index)` is its own state); absent buffers read
    /// `empty`.
    init(slot: TensorSlot, index: Int, plan: KernelPlan, planIndex j: Int, empty: UnsafeMutablePointer<Float>) {
        self.init(index: index, count: slot.count, rows: plan.rows[j], segmentsPerRow: plan.segmentsPerRow[j],
                  rank: slot.info.rank, value: slot.value.baseAddress ?? UnsafePointer(empty),
                  anchor: slot.anchorValues?.baseAddress, hasAnchor: slot.hasAnchor,
                  gradient: slot.gradient.baseAddress ?? UnsafePointer(empty),
                  providedGradient: slot.providedGradient?.baseAddress,
                  scratch: plan.scratch.map { $0 + plan.scratchOffsets[j] })
    }
}
