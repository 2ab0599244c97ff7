import Foundation
import Testing
import GraftOptim
import GraftTensor

/// A snapshot restored into a chain with another configuration, or carrying state of the
/// wrong shape or length, is refused with a typed error naming group, member and path, and
/// the optimizer is left exactly as it was (issue 12).
@Suite("Restore validation")
struct RestoreValidationTests {
    func optimizer(_ transform: some GradientTransform, seed: UInt64 = 3) throws -> (Optimizer, [NamedParameter]) {
        let params = makeProblemParameters(seed: seed)
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: transform)])
        return (o, params)
    }

    func stepped(_ transform: some GradientTransform, steps: Int = 3) throws -> Optimizer {
        let (o, params) = try optimizer(transform)
        for t in 1...steps { try o.step(objectives: [makeGradients(for: params, step: t)]) }
        return o
    }

    /// Restoring `snapshot` into `target` throws `expected`-matching error and changes nothing.
    func expectRefused(_ snapshot: OptimizerSnapshot, into target: Optimizer, _ matches: (RestoreError) -> Bool,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try target.snapshot().encoded()
        do {
            try target.restore(snapshot)
            Issue.record("restore was accepted", sourceLocation: sourceLocation)
        } catch let e as RestoreError {
            #expect(matches(e), "unexpected error: \(e)", sourceLocation: sourceLocation)
            #expect(!e.description.isEmpty)
        }
        #expect(try target.snapshot().encoded() == before, "a refused restore changed the optimizer", sourceLocation: sourceLocation)
    }

    @Test func adamIntoAMSGradIsRefused() throws {
        let saved = try stepped(try Recipes.adam(learningRate: 0.01)).snapshot()
        let (target, _) = try optimizer(try Recipes.adam(learningRate: 0.01, amsgrad: true))
        try expectRefused(saved, into: target) {
            if case let .chainMismatch(group, member, expected, found) = $0 {
                return group == "all" && member == "adam" && expected.contains("amsgrad = true") && found.contains("amsgrad = false")
            }
            return false
        }
    }

    @Test func fixedOmegaIntoLearnedOmegaIsRefused() throws {
        let saved = try stepped(try Recipes.digrap(learningRate: 0.01, omega: .fixed(1))).snapshot()
        let (target, _) = try optimizer(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5)))
        try expectRefused(saved, into: target) {
            if case let .chainMismatch(_, member, expected, found) = $0 { return member == "digrap" && expected.contains("omega = learned") && found.contains("omega = fixed") }
            return false
        }
        // And the other way round: a learned-ω state never silently overrides a configured fixed ω.
        let learned = try stepped(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5))).snapshot()
        let (fixed, _) = try optimizer(try Recipes.digrap(learningRate: 0.01, omega: .fixed(0.3)))
        try expectRefused(learned, into: fixed) { if case .chainMismatch = $0 { return true }; return false }
    }

    @Test func anotherChainIsRefused() throws {
        let saved = try stepped(try Recipes.adam(learningRate: 0.01)).snapshot()
        // Another kind in the same position.
        let (sgd, _) = try optimizer(try Recipes.sgd(learningRate: 0.01, momentum: 0.9))
        try expectRefused(saved, into: sgd) { if case let .chainMismatch(_, _, expected, found) = $0 { return expected.contains("momentum") && found.contains("scale_by_adam") }; return false }
        // Another member count.
        let (spd, _) = try optimizer(try Recipes.spd(learningRate: 0.01, lambda: 0.5))
        try expectRefused(saved, into: spd) { if case let .chainMismatch(_, member, _, _) = $0 { return member == "count" }; return false }
        // Another member name.
        let (renamed, _) = try optimizer(chain { try ScaleByAdam().named("moments"); try ScaleByLearningRate(0.01) })
        try expectRefused(saved, into: renamed) { if case let .chainMismatch(_, _, expected, found) = $0 { return expected.contains("moments") && found.contains("adam") }; return false }
    }

    @Test func wrongStateShapesAndLengthsAreRefused() throws {
        let source = try stepped(try Recipes.adam(learningRate: 0.01))
        let saved = try source.snapshot()
        let (target, _) = try optimizer(try Recipes.adam(learningRate: 0.01))
        let adam = saved.groups[0].members.firstIndex { $0.kind == "scale_by_adam" }!
        let path = saved.groups[0].paths[0]

        // A state tensor of another shape, with its layout claiming that shape too.
        var reshaped = saved
        let t = reshaped.groups[0].members[adam].tensors[0][0]
        reshaped.groups[0].members[adam].tensors[0][0] = try Tensor(shape: [t.count], scalars: t.scalars)
        reshaped.groups[0].members[adam].layouts[0].tensors[0] = .init(name: "m", shape: [t.count])
        try expectRefused(reshaped, into: target) {
            if case let .stateMismatch(group, member, p, _, _) = $0 { return group == "all" && member == "adam" && p == path }
            return false
        }
        // A short state tensor under the right layout.
        var short = saved
        short.groups[0].members[adam].tensors[0][1] = Tensor(Array(t.scalars.dropLast()))
        try expectRefused(short, into: target) { if case let .stateMismatch(_, _, p, expected, _) = $0 { return p == path && expected.contains("v") }; return false }
        // A missing state tensor.
        var missing = saved
        missing.groups[0].members[adam].tensors[0].removeLast()
        try expectRefused(missing, into: target) { if case .stateMismatch = $0 { return true }; return false }
        // A state for fewer parameters than the group has.
        var fewer = saved
        fewer.groups[0].members[adam].layouts.removeLast()
        try expectRefused(fewer, into: target) { if case .stateMismatch = $0 { return true }; return false }
        // Scalars of another count (DiGraP keeps scalars).
        let digrap = try stepped(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5))).snapshot()
        let (digrapTarget, _) = try optimizer(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5)))
        var scalars = digrap
        let d = scalars.groups[0].members.firstIndex { $0.name == "digrap" }!
        scalars.groups[0].members[d].scalars[0].removeLast()
        try expectRefused(scalars, into: digrapTarget) { if case let .stateMismatch(_, member, _, _, _) = $0 { return member == "digrap" }; return false }
        // Negative step counts.
        var negative = saved
        negative.groups[0].step = -1
        try expectRefused(negative, into: target) { if case .undecodableState = $0 { return true }; return false }
        // The untouched snapshot restores (so the refusals above are about the damage).
        try target.restore(saved)
        #expect(try target.snapshot() == saved)
    }

    @Test func damagedBytesAreRefused() throws {
        let o = try stepped(try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5)))
        let bytes = try o.snapshot().encoded()
        #expect(try OptimizerSnapshot(decoding: bytes) == o.snapshot())
        // Every truncation length in a sample, and single flipped bits across the file.
        for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            #expect(throws: SnapshotFileError.self) { try OptimizerSnapshot(decoding: Array(bytes[0..<cut])) }
        }
        var g = SeededGenerator(seed: 5)
        for _ in 0..<200 {
            var damaged = bytes
            let i = Int(g.next() % UInt64(bytes.count))
            damaged[i] ^= UInt8(1 << (g.next() % 8))
            #expect(throws: SnapshotFileError.self) { try OptimizerSnapshot(decoding: damaged) }
        }
        // A snapshot of another format version is refused with a message saying so.
        var old = bytes
        old[8] = 1
        #expect(throws: SnapshotFileError.unsupportedVersion(found: 1)) { try OptimizerSnapshot(decoding: old) }
    }

    @Test func snapshotFileIsTheRawStatePlusAHeader() throws {
        let shapes = [[256, 512], [512], [128, 256], [10, 128]]
        var g = SeededGenerator(seed: 1)
        let params = shapes.enumerated().map { NamedParameter(path: "p\($0.offset)", parameter: Parameter(Tensor.randomNormal(shape: $0.element, generator: &g))) }
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: 0.01))])
        for p in params { p.parameter.gradient = Tensor.randomNormal(shape: p.parameter.shape, generator: &g) }
        try o.step()
        let snapshot = try o.snapshot()
        let raw = params.reduce(0) { $0 + $1.parameter.value.count } * 8  // m and v
        #expect(snapshot.stateBytes == raw)
        let bytes = try snapshot.encoded()
        #expect(Double(bytes.count) <= 1.01 * Double(raw), "\(bytes.count) bytes for \(raw) bytes of state")
    }

    @Test func reshapedParameterIsRefusedAtTheNextStep() throws {
        let (o, params) = try optimizer(try Recipes.adam(learningRate: 0.01))
        try o.step(objectives: [makeGradients(for: params, step: 1)])
        let p = params[0]
        let registered = p.parameter.shape
        p.parameter.value = Tensor(zeros: [registered.reduce(1, *) + 1])
        p.parameter.gradient = Tensor(zeros: p.parameter.value.shape)
        #expect(throws: OptimizerError.shapeMismatch(path: p.path, expected: registered, actual: p.parameter.value.shape)) {
            try o.step()
        }
    }

    @Test func overflowingUpdateIsReported() throws {
        let params = [named("w", tensor([4], [1, 2, 3, 4]))]
        let o = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all,
                                                                          transform: try Recipes.sgd(learningRate: 3.4e38))])
        params[0].parameter.gradient = tensor([4], [10, 10, 10, 10])
        #expect(throws: OptimizerError.nonFiniteUpdate(path: "w", group: "all", step: 1)) { try o.step() }
        // Unfused chains report it too.
        let q = [named("w", tensor([4], [1, 2, 3, 4]))]
        let unfused = try Optimizer(parameters: q, groups: [ParameterGroup("all", selecting: .all, transform: chain {
            try ClipByGlobalNorm(maxNorm: 1e38)
            try ScaleByLearningRate(3.4e38)
        })])
        q[0].parameter.gradient = tensor([4], [10, 10, 10, 10])
        #expect(throws: OptimizerError.nonFiniteUpdate(path: "w", group: "all", step: 1)) { try unfused.step() }
    }
}
