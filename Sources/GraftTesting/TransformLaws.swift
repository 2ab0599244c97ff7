import GraftOptim
import GraftTensor

/// The laws every `GradientTransform` should obey, for authors of transforms in any package:
/// Graft's own transforms are checked with exactly these functions.
///
/// Each law runs the transform on a `LawFixture` (a few small tensors with every anchor kind)
/// and compares two runs **bit for bit**; it returns normally when the law holds and throws a
/// `LawViolation` naming the tensor, the element and both values when it does not. So the laws
/// work under swift-testing and XCTest alike:
/// ```swift
/// import GraftOptim
/// import GraftTesting
///
/// func checkAdam() throws {
///     try TransformLaws.isDeterministic { try ScaleByAdam() }
///     try TransformLaws.roundTripsState { try ScaleByAdam(amsgrad: true) }
///     try TransformLaws.parallelEqualsSerial { try chain { try ScaleByAdam(); try ScaleByLearningRate(1e-3) } }
///     let adam = try ScaleByAdam(), lr = try ScaleByLearningRate(1e-3)
///     try TransformLaws.chainEqualsPieces(chain { adam; lr }, pieces: [.init(adam), .init(lr)])
///     try TransformLaws.fusedEqualsUnfused(chain { adam; lr }, members: [.init(adam), .init(lr)])
///     try TransformLaws.isIdentity(try Scale(1))
/// }
/// ```
/// Every law takes a `fixture` (default `LawFixture()`) and the caller's file and line.
public enum TransformLaws {
    /// Steps every law runs (t = 1 … 6).
    public static let steps = 1...6

    /// Throws unless `a` and `b` hold the same number of tensors with the same shapes and
    /// the same bits (so −0 ≠ +0 and NaN = NaN only with the same payload).
    /// - Parameters:
    ///   - law: the law's name, for the message.
    ///   - paths: names of the tensors, for the message (defaults to their indices).
    public static func expectIdentical(_ a: [Tensor], _ b: [Tensor], _ law: String, subject: String = "tensors",
                                       paths: [String]? = nil, file: String = #fileID, line: UInt = #line) throws {
        func fail(_ detail: String) -> LawViolation { LawViolation(law: law, subject: subject, detail: detail, file: file, line: line) }
        guard a.count == b.count else { throw fail("\(a.count) tensors vs \(b.count)") }
        for (i, (x, y)) in zip(a, b).enumerated() {
            let name = paths.flatMap { i < $0.count ? "\"\($0[i])\"" : nil } ?? "tensor \(i)"
            guard x.shape == y.shape else { throw fail("\(name): shape \(x.shape) vs \(y.shape)") }
            let (xs, ys) = (x.scalars, y.scalars)
            if let j = xs.indices.first(where: { xs[$0].bitPattern != ys[$0].bitPattern }) {
                throw fail("\(name), element \(j): \(xs[j]) vs \(ys[j])")
            }
        }
    }

    /// Identity: `transform` leaves every update exactly as it found it (a rule at zero
    /// strength: noise with η = 0, DiGraP with ω = 0, `Scale(1)`). Compared with the
    /// `Identity` transform over `steps`, stepped by hand.
    public static func isIdentity<T: GradientTransform>(_ transform: T, fixture: LawFixture = LawFixture(),
                                                        file: String = #fileID, line: UInt = #line) throws {
        let expected = fixture.run(Identity(), steps: steps).values
        try expectIdentical(fixture.run(transform, steps: steps).values, expected, "identity", subject: "\(T.self)",
                            paths: fixture.paths, file: file, line: line)
    }

    /// Determinism: two transforms made by `make` give bit-identical runs, stepped by hand
    /// and through an `Optimizer` (seeded randomness must come from the transform's seed or
    /// state, not a global generator).
    public static func isDeterministic<T: GradientTransform>(_ make: () throws -> T, fixture: LawFixture = LawFixture(),
                                                             file: String = #fileID, line: UInt = #line) throws {
        let first = fixture.run(try make(), steps: steps).values
        let second = fixture.run(try make(), steps: steps).values
        try expectIdentical(first, second, "determinism", subject: "\(T.self) stepped by hand", paths: fixture.paths, file: file, line: line)
        try expectIdentical(try fixture.runOptimizer(try make(), steps: steps), try fixture.runOptimizer(try make(), steps: steps),
                            "determinism", subject: "\(T.self) in an Optimizer", paths: fixture.paths, file: file, line: line)
    }

    /// A chain equals its pieces applied by hand: each piece keeps its own state and rewrites
    /// the running update in turn (`pieces[0]`, then `pieces[1]`, …), which must give the same
    /// bits as `chain` stepped by hand and as `chain` in an `Optimizer`.
    public static func chainEqualsPieces<T: GradientTransform>(_ chain: T, pieces: [AnyGradientTransform],
                                                               fixture: LawFixture = LawFixture(),
                                                               file: String = #fileID, line: UInt = #line) throws {
        let states = pieces.map { $0.makeState(for: fixture.infos) }
        var byHand = fixture.initialValues
        for t in steps {
            fixture.step(&byHand, t: t) { group in
                for (piece, state) in zip(pieces, states) { piece.update(group, state: state) }
            }
        }
        try expectIdentical(fixture.run(chain, steps: steps).values, byHand, "chain = pieces",
                            subject: "\(T.self) stepped by hand", paths: fixture.paths, file: file, line: line)
        try expectIdentical(try fixture.runOptimizer(chain, steps: steps), byHand, "chain = pieces",
                            subject: "\(T.self) in an Optimizer", paths: fixture.paths, file: file, line: line)
    }

    /// Fused equals unfused: `fused` (members composed into one `@TransformBuilder` kernel)
    /// gives the same bits in an `Optimizer` as the same `members` run one after another over
    /// the whole group (a `SequenceTransform` of erased members).
    public static func fusedEqualsUnfused<T: GradientTransform>(_ fused: T, members: [AnyGradientTransform],
                                                                fixture: LawFixture = LawFixture(),
                                                                file: String = #fileID, line: UInt = #line) throws {
        let a = try fixture.runOptimizer(fused, steps: steps)
        let b = try fixture.runOptimizer(SequenceTransform(members), steps: steps)
        try expectIdentical(a, b, "fused = unfused", subject: "\(T.self)", paths: fixture.paths, file: file, line: line)
    }

    /// Snapshot round trip: an optimizer's snapshot after 3 steps, encoded to bytes, decoded
    /// and restored into a fresh optimizer (with a fresh transform from `make`), continues for
    /// 3 more steps exactly as the original does, and re-encoding the restored state gives the
    /// same bytes. Fails for state kept outside the declared `stateLayout`.
    public static func roundTripsState<T: GradientTransform>(_ make: () throws -> T, fixture: LawFixture = LawFixture(),
                                                             file: String = #fileID, line: UInt = #line) throws {
        let (a, parametersA) = try fixture.optimizer(try make())
        for t in 1...3 { try a.step(objectives: [fixture.objective(step: t)]) }
        let bytes = try a.snapshot().encoded()
        let values = parametersA.map(\.value)
        for t in 4...6 { try a.step(objectives: [fixture.objective(step: t)]) }
        let (b, parametersB) = try fixture.optimizer(try make())
        for (p, v) in zip(parametersB, values) { p.value = v }
        try b.restore(try OptimizerSnapshot(decoding: bytes))
        guard try b.snapshot().encoded() == bytes else {
            throw LawViolation(law: "snapshot round trip", subject: "\(T.self)",
                               detail: "the restored state re-encodes to other bytes", file: file, line: line)
        }
        for t in 4...6 { try b.step(objectives: [fixture.objective(step: t)]) }
        try expectIdentical(parametersB.map(\.value), parametersA.map(\.value), "snapshot round trip",
                            subject: "\(T.self) resumed from decoded state", paths: fixture.paths, file: file, line: line)
    }

    /// Parallel equals serial: the same optimizer run on one thread and on two threads (with
    /// `parallelThreshold = 1`, so every tensor is split across both) gives the same bits.
    public static func parallelEqualsSerial<T: GradientTransform>(_ make: () throws -> T, fixture: LawFixture = LawFixture(),
                                                                  file: String = #fileID, line: UInt = #line) throws {
        func run(threads: Int) throws -> [Tensor] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            let (optimizer, parameters) = try fixture.optimizer(try make())
            optimizer.parallelThreshold = 1
            for t in steps { try optimizer.step(objectives: [fixture.objective(step: t)]) }
            return parameters.map(\.value)
        }
        try expectIdentical(try run(threads: 2), try run(threads: 1), "parallel = serial", subject: "\(T.self) on 2 threads vs 1",
                            paths: fixture.paths, file: file, line: line)
    }
}
