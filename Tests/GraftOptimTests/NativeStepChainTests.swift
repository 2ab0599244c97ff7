import CGraftSupport
import GraftTensor
import GraftTestSupport
import Testing
@testable import GraftOptim

/// The native Adam- and SGD-family loops (`NativeStepChain`, C with AVX2 where the CPU has it) against the
/// Swift loop it replaces: bitwise equal parameters and state, and taken exactly where it applies.
/// Serialized: it switches `KernelEngine.usesNativeKernels` (other suites only ever see results
/// that are the same either way).
@Suite("Native step-rule kernels", .serialized)
struct NativeStepChainTests {
    /// Shapes with long rows (the C loop), rows of 40 and of 16 (C: a worker's piece is one call,
    /// whatever its rows), tensors below `minimumLength` (Swift), and rows of 45 (a vector body and
    /// a scalar tail in one segment).
    static let shapes: [[Int]] = [[1000], [3, 40], [4, 16], [5], [2, 7], [2, 45]]

    enum Recipe: String, CaseIterable, Sendable {
        case adam, adamL2, adamW, amsgrad, adamNesterovLike, sgd, sgdL2, momentum, dampened, nesterovL2, momentumThenDecay
        case l2sp, l2spMomentum, l2spAdam, l2spScheduled
        case digrapLearned, digrapFixed, digrapUpdate, spd, ftp, ftpMomentum
        func transform() throws -> AnyGradientTransform {
            switch self {
            case .adam: AnyGradientTransform(try Recipes.adam(learningRate: 1e-2))
            case .adamL2: AnyGradientTransform(try Recipes.adam(learningRate: 1e-2, weightDecay: 0.05))
            case .adamW: AnyGradientTransform(try Recipes.adamW(learningRate: try Schedule(.cosine(initial: 1e-2, totalSteps: 6, final: 0)), weightDecay: 0.1))
            case .amsgrad: AnyGradientTransform(try Recipes.adam(learningRate: 1e-2, amsgrad: true))
            // Adam followed by another decay after the learning rate: not a chain the C loop runs.
            case .adamNesterovLike: AnyGradientTransform(try chain {
                try ScaleByAdam().named("adam")
                try ScaleByLearningRate(.constant(1e-2))
                try AddDecayedWeights(.constant(0.01)).named("late_decay")
            })
            case .sgd: AnyGradientTransform(try Recipes.sgd(learningRate: 0.05))
            case .sgdL2: AnyGradientTransform(try Recipes.sgd(learningRate: 0.05, weightDecay: 0.01))
            case .momentum: AnyGradientTransform(try Recipes.sgd(learningRate: 0.05, momentum: 0.9))
            case .dampened: AnyGradientTransform(try Recipes.sgd(learningRate: 0.05, momentum: 0.9, dampening: 0.1))
            case .nesterovL2: AnyGradientTransform(try Recipes.sgd(learningRate: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01))
            // Decay after the momentum: not a chain the C loop runs.
            // L2-SP (α toward θ0 on anchored tensors, β toward 0 on p2, which has no anchor).
            case .l2sp: try Recipes.l2sp(learningRate: 0.05, alpha: 0.1, beta: 0.01)
            case .l2spMomentum: try Recipes.l2sp(learningRate: 0.05, alpha: 0.1, beta: 0.01, base: .sgd(momentum: 0.9, nesterov: true))
            case .l2spAdam: try Recipes.l2sp(learningRate: 1e-2, alpha: 0.3, base: .adam())
            case .l2spScheduled: try Recipes.l2sp(learningRate: 0.05, alpha: try Schedule(.cosine(initial: 0.2, totalSteps: 6, final: 0)),
                                                   base: .sgd(momentum: 0.9))
            // DiGraP: the reduction pass runs natively (`graft_digrap_reduce`), the rest in Swift.
            case .digrapLearned: try Recipes.digrap(learningRate: 1e-2, omega: .learned(mu: 0.05, initial: 0.5))
            case .digrapFixed: try Recipes.digrap(learningRate: 1e-2, omega: .fixed(1), hypergradient: .flat)
            case .digrapUpdate: try Recipes.digrap(learningRate: 1e-2, omega: .learned(mu: 0.05, initial: 1), placement: .update)
            // SPD and FTP after the step rule: the C loop's update into a buffer, then their lanes.
            case .spd: AnyGradientTransform(try Recipes.spd(learningRate: 1e-2, lambda: 0.5))
            case .ftp: try Recipes.ftp(learningRate: 1e-2)
            case .ftpMomentum: try Recipes.ftp(learningRate: 0.05, base: .sgd(momentum: 0.9))
            case .momentumThenDecay: AnyGradientTransform(try chain {
                try Momentum(momentum: 0.9).named("momentum")
                try AddDecayedWeights(.constant(0.01)).named("late_decay")
                try ScaleByLearningRate(.constant(0.05))
            })
            }
        }
        /// Segments the C step loop runs per step at least: the whole chain on every piece of at least
        /// 32 elements ([1000]: 1, [3, 40]: 3, [4, 16]: 4, [2, 45]: 2), or, for DiGraP before Adam
        /// (its projection in Swift into a buffer, then Adam in C) and for the robust members after
        /// the step rule (Adam or momentum in C into a buffer, then their Swift lanes: DiGraP's
        /// update placement, SPD, FTP), every segment of at least 32.
        var nativeSegmentsPerStep: Int {
            switch self {
            case .amsgrad, .adamNesterovLike, .momentumThenDecay: 0
            case .digrapLearned, .digrapFixed, .digrapUpdate, .spd, .ftp, .ftpMomentum: 6
            default: 10
            }
        }
        /// Segments a native reduction runs per step at least. DiGraP before Adam reduces the
        /// incoming gradient natively on every segment of every anchored tensor ([1000]: 1,
        /// [3, 40]: 3, [5]: 1, [2, 7]: 2, [2, 45]: 2; p2 has no anchor); SPD and FTP reduce the C step loop's update in a buffer, on segments of at
        /// least 32 elements (6). DiGraP after Adam (update placement) reduces in the Swift loop.
        /// Segments whose elementwise pass does not run the step rule again, per step at least,
        /// because the reduction pass committed it (keeping its update, `KernelPlan.keptUpdateLimit`,
        /// or, for FTP, storing ĉ): the robust members after a native step rule (SPD, FTP), on the
        /// segments of at least 32 elements (6).
        var keptSegmentsPerStep: Int {
            switch self {
            case .spd, .ftp, .ftpMomentum: 6
            default: 0
            }
        }
        var nativeReductionsPerStep: Int {
            switch self {
            case .digrapLearned, .digrapFixed: 9
            case .spd, .ftp, .ftpMomentum: 6
            default: 0
            }
        }
    }

    func train(_ recipe: Recipe, native: Bool, gradients: [[Tensor]]) throws -> ([Tensor], OptimizerSnapshot) {
        // p2 is a new head (no anchor): L2-SP decays it toward 0 with β.
        let parameters = Self.shapes.enumerated().map { k, shape in
            NamedParameter(path: "p\(k)", parameter: Parameter(randomUniformTensor(shape, lower: -1, upper: 1, seed: UInt64(k + 1)),
                                                              anchor: k == 2 ? .none : .initial))
        }
        let optimizer = try Optimizer(parameters: parameters, groups: [ParameterGroup("all", selecting: .all, transform: try recipe.transform())])
        KernelEngine.usesNativeKernels = native
        defer { KernelEngine.usesNativeKernels = true }
        for step in gradients {
            for (p, g) in zip(parameters, step) { p.parameter.gradient = g }
            try optimizer.step()
        }
        return (parameters.map(\.parameter.value), try optimizer.snapshot())
    }

    @Test(arguments: Recipe.allCases)
    func nativeLoopIsBitwiseTheSwiftLoop(recipe: Recipe) throws {
        // Gradients of mixed scale, including exact zeros (moments decaying) and large values.
        let gradients = (0..<6).map { s in
            Self.shapes.enumerated().map { k, shape in
                var g = randomUniformTensor(shape, lower: -3, upper: 3, seed: UInt64(100 * s + k))
                g.withUnsafeMutableBufferPointer { b in for i in stride(from: 0, to: b.count, by: 7) { b[i] = 0 } }
                return g
            }
        }
        let before = KernelEngine.nativeSegments.load(ordering: .relaxed)
        let reducedBefore = KernelEngine.nativeReducedSegments.load(ordering: .relaxed)
        let keptBefore = KernelEngine.keptUpdateSegments.load(ordering: .relaxed)
        let (nativeValues, nativeState) = try train(recipe, native: true, gradients: gradients)
        let ran = KernelEngine.nativeSegments.load(ordering: .relaxed) - before
        let reduced = KernelEngine.nativeReducedSegments.load(ordering: .relaxed) - reducedBefore
        let kept = KernelEngine.keptUpdateSegments.load(ordering: .relaxed) - keptBefore
        let (swiftValues, swiftState) = try train(recipe, native: false, gradients: gradients)
        for (k, (a, b)) in zip(nativeValues, swiftValues).enumerated() {
            #expect(bitwiseEqual(a.scalars, b.scalars), "\(recipe) p\(k): native and Swift loops differ")
        }
        #expect(nativeState == swiftState, "\(recipe): optimizer state differs")
        #expect(ran >= 6 * recipe.nativeSegmentsPerStep, "\(recipe): the native loop ran \(ran) segments")
        #expect(reduced >= 6 * recipe.nativeReductionsPerStep, "\(recipe): the native reduction ran \(reduced) segments")
        #expect(kept >= 6 * recipe.keptSegmentsPerStep, "\(recipe): \(kept) segments reused a kept update")
        // (Chains that are not native are checked for equality only: other suites running at the
        // same time may run native segments, so the process-wide counter cannot show a zero.)
    }

    @Test func nonFiniteResultsAreReportedFromTheNativeLoop() throws {
        // A finite step that overflows θ: both loops throw `nonFiniteUpdate` and leave the same θ.
        func overflow(native: Bool) throws -> [Float] {
            let p = Parameter(Tensor(repeating: 3e38, shape: [64]))
            let optimizer = try Optimizer(parameters: [NamedParameter(path: "w", parameter: p)],
                                          groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: 3e38))])
            p.gradient = Tensor(repeating: -1, shape: [64])
            KernelEngine.usesNativeKernels = native
            defer { KernelEngine.usesNativeKernels = true }
            #expect {
                try optimizer.step()
            } throws: { error in
                guard case .nonFiniteUpdate(let path, _, _)? = error as? OptimizerError else { return false }
                return path == "w"
            }
            return p.value.scalars
        }
        let native = try overflow(native: true), swift = try overflow(native: false)
        #expect(bitwiseEqual(native, swift))
    }

    @Test(arguments: [37, 66])
    func oneNonFiniteElementIsFoundInTheVectorBodyAndInTheTail(position: Int) throws {
        // θ = 1 except one element at 3e38: a step of about −3e38 keeps the others finite and
        // overflows that one only (index 37: inside the vector loop; 66: the scalar tail of 67).
        // SPD and FTP run the step rule natively into a buffer and their own lanes after it (a
        // split chain): the new θ of that path is checked too.
        for transform in [AnyGradientTransform(try Recipes.adam(learningRate: 3e38)),
                          AnyGradientTransform(try Recipes.sgd(learningRate: 3e38)),
                          AnyGradientTransform(try Recipes.spd(learningRate: 3e38, lambda: 0.5)),
                          AnyGradientTransform(try Recipes.ftp(learningRate: 3e38))] {
            var start = [Float](repeating: 1, count: 67)
            start[position] = -3e38
            let p = Parameter(Tensor(start))
            let optimizer = try Optimizer(parameters: [NamedParameter(path: "w", parameter: p)],
                                          groups: [ParameterGroup("all", selecting: .all, transform: transform)])
            p.gradient = Tensor(repeating: 1, shape: [67])
            #expect {
                try optimizer.step()
            } throws: { error in
                guard case .nonFiniteUpdate(let path, _, _)? = error as? OptimizerError else { return false }
                return path == "w"
            }
            #expect(p.value.scalars.enumerated().allSatisfy { $0.element.isFinite == ($0.offset != position) })
        }
    }

    /// SPD and FTP after a native Adam in a small group: the reduction pass commits Adam's state
    /// and keeps its update, so a row whose float sums overflow on finite values (‖θ̃ − θ0‖² of
    /// updates near 1e19, FTP's L1 norm of displacements near 3e37) is redone in Double from the
    /// kept update, not from the already committed moments. Bitwise the Swift loop's steps. (Only
    /// SPD's sums tell the two apart: FTP's displacement dwarfs Adam's update of about 1.)
    @Test(arguments: ["spd", "ftp"])
    func anOverflowedRowIsRedoneFromTheKeptUpdate(recipe: String) throws {
        func train(native: Bool) throws -> ([Float], OptimizerSnapshot, kept: Int) {
            // SPD: updates of about 1e19 (squares near 1e38). FTP (whose displacement precedes the
            // learning rate): θ near 3e37 with the zero anchor, a displacement of the same size.
            let spd = recipe == "spd"
            let p = Parameter(randomUniformTensor([4, 64], lower: spd ? -1 : -3e37, upper: spd ? 1 : 3e37, seed: 9),
                              anchor: spd ? .initial : .zero)
            let transform = spd ? AnyGradientTransform(try Recipes.spd(learningRate: 1e19, lambda: 0.5))
                                : try Recipes.ftp(learningRate: 1e-2)
            let optimizer = try Optimizer(parameters: [NamedParameter(path: "w", parameter: p)],
                                          groups: [ParameterGroup("all", selecting: .all, transform: transform)])
            KernelEngine.usesNativeKernels = native
            defer { KernelEngine.usesNativeKernels = true }
            let before = KernelEngine.keptUpdateSegments.load(ordering: .relaxed)
            for step in 0..<3 {
                p.gradient = randomUniformTensor([4, 64], lower: -1, upper: 1, seed: UInt64(20 + step))
                try optimizer.step()
            }
            return (p.value.scalars, try optimizer.snapshot(), KernelEngine.keptUpdateSegments.load(ordering: .relaxed) - before)
        }
        let native = try train(native: true), swift = try train(native: false)
        #expect(native.0.allSatisfy { $0.isFinite })
        #expect(bitwiseEqual(native.0, swift.0), "\(recipe): the redone rows differ")
        #expect(native.1 == swift.1, "\(recipe): optimizer state differs")
        #expect(native.kept >= 3 * 4, "\(recipe): \(native.kept) segments reused a kept update")
    }

    /// FTP's reduction after a native Adam runs fused with the step and its commit of ĉ, one C loop
    /// per row (`graft_adam_ftp_reduce_rows`). A row whose float sums overflow there is redone in
    /// Double from what the loop hands back: the row's update (recomputed from the committed
    /// moments) and its ĉ_{t−1}, restored after the loop wrote ĉ_t over it. Step 2 scales the
    /// learning rate to 10³⁷: updates near ±10³⁷ overflow every row's ‖ĉ‖₁ in float, and
    /// ⟨g, ĉ_{t−1}⟩ reads step 1's small ĉ, so a wrong update or an unrestored ĉ_{t−1} changes
    /// γ and θ. Bitwise the Swift loop, which never overflows a float sum it keeps.
    @Test func ftpFusedReductionRedoesAnOverflowedRowFromTheUpdateAndThePreviousDisplacement() throws {
        func train(native: Bool) throws -> ([Float], OptimizerSnapshot, fused: Int) {
            let p = Parameter(randomUniformTensor([4, 64], lower: -1, upper: 1, seed: 5), anchor: .initial)
            let optimizer = try Optimizer(parameters: [NamedParameter(path: "w", parameter: p)],
                                          groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.ftp(learningRate: 1))])
            KernelEngine.usesNativeKernels = native
            defer { KernelEngine.usesNativeKernels = true }
            let before = KernelEngine.nativeReducedSegments.load(ordering: .relaxed)
            for (step, scale) in [Float(1e-2), 1e37, 1e-2].enumerated() {
                p.gradient = randomUniformTensor([4, 64], lower: -1, upper: 1, seed: UInt64(60 + step))
                try optimizer.step(learningRateScale: scale)
            }
            return (p.value.scalars, try optimizer.snapshot(), KernelEngine.nativeReducedSegments.load(ordering: .relaxed) - before)
        }
        let native = try train(native: true), swift = try train(native: false)
        #expect(native.0.allSatisfy { $0.isFinite })
        #expect(bitwiseEqual(native.0, swift.0), "the redone rows differ")
        #expect(native.1 == swift.1, "optimizer state differs")
        // Steps 1 and 3: four fused rows each (step 2's rows are all redone).
        #expect(native.fused >= 8, "\(native.fused) rows reduced natively")
    }

    /// FTP finishes ĉ in its reduction pass, so the update after Adam is needed in the segment
    /// buffer only and no copy of it is kept: groups larger than `KernelPlan.keptUpdateLimit`
    /// (which bounds that copy) run Adam once too. Bitwise the Swift loop, which computes Adam
    /// twice (a dry run, then the commit) and ĉ in the elementwise pass.
    @Test func ftpCommitsInItsReductionPassInAGroupTooLargeToKeepUpdates() throws {
        let shape = [520, 4096]  // 2,129,920 elements, rows of one segment each
        #expect(shape[0] * shape[1] > KernelPlan.keptUpdateLimit)
        func train(native: Bool) throws -> ([Float], OptimizerSnapshot, reused: Int) {
            let p = Parameter(randomUniformTensor(shape, lower: -1, upper: 1, seed: 3), anchor: .initial)
            let optimizer = try Optimizer(parameters: [NamedParameter(path: "w", parameter: p)],
                                          groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.ftp(learningRate: 1e-2))])
            KernelEngine.usesNativeKernels = native
            defer { KernelEngine.usesNativeKernels = true }
            let before = KernelEngine.keptUpdateSegments.load(ordering: .relaxed)
            for step in 0..<2 {
                p.gradient = randomUniformTensor(shape, lower: -1, upper: 1, seed: UInt64(40 + step))
                try optimizer.step()
            }
            return (p.value.scalars, try optimizer.snapshot(), KernelEngine.keptUpdateSegments.load(ordering: .relaxed) - before)
        }
        let native = try train(native: true), swift = try train(native: false)
        #expect(bitwiseEqual(native.0, swift.0), "θ differs")
        #expect(native.1 == swift.1, "optimizer state differs")
        #expect(native.reused >= 2 * shape[0], "\(native.reused) segments skipped Adam in the elementwise pass")
    }

    @Test func theCLoopsSegmentLengthIsTheEngines() {
        // graft_adam_ftp_reduce_rows keeps a row's ĉ_{t−1} in a stack buffer of this length.
        #expect(Int(GRAFT_SEGMENT_LENGTH) == KernelPlan.segmentLength)
    }

    @Test func theCPUVariantIsReported() {
        // Informational on machines without AVX2; on this project's x86-64 machines it is true.
        #if arch(x86_64)
        print("NativeStepChain uses AVX2: \(NativeStepChain.usesAVX2)")
        #endif
        #expect(NativeStepChain.minimumLength >= 8)
    }
}
