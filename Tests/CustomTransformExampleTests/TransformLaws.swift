import Foundation
import GraftOptim
import GraftTensor
import GraftTestSupport
import Testing

/// A small parameter group stepped by hand, without an `Optimizer`: three tensors with an
/// `.initial` anchor (a weight and a bias), a `.zero` anchor (an adapter) and none (a new
/// head), and a fixed gradient for every step.
struct LawFixture {
    let infos: [ParameterInfo]
    let initialValues: [Tensor]
    let seed: UInt64

    init(seed: UInt64 = 7, extraTensor: Bool = false) {
        var infos = [
            ParameterInfo(path: "body.0.weight", shape: [6, 5], anchor: .initial),
            ParameterInfo(path: "body.0.bias", shape: [6], anchor: .initial),
            ParameterInfo(path: "adapter.a", shape: [2, 5], anchor: .zero),
            ParameterInfo(path: "head.weight", shape: [3, 6], anchor: .none),
        ]
        if extraTensor { infos.insert(ParameterInfo(path: "body.1.weight", shape: [4, 6], anchor: .initial), at: 1) }
        self.infos = infos
        self.initialValues = infos.map { randomNormalTensor($0.shape, seed: seed &* 100 &+ LawFixture.hash($0.path)) }
        self.seed = seed
    }

    /// The anchor θ0 of each tensor as the optimizer resolves it (`nil` for `.zero` and `.none`).
    var anchors: [Tensor?] { zip(infos, initialValues).map { $0.anchor == .initial ? $1 : nil } }

    /// A stable hash of a path: values and gradients depend on the path, not the position, so
    /// adding a tensor leaves the others' unchanged.
    static func hash(_ path: String) -> UInt64 { path.utf8.reduce(UInt64(17)) { $0 &* 31 &+ UInt64($1) } }

    /// The gradient of tensor `index` at step `t`.
    func gradient(_ index: Int, step t: Int) -> Tensor {
        randomNormalTensor(infos[index].shape, seed: seed &* 1_000_003 &+ LawFixture.hash(infos[index].path) &+ UInt64(t))
    }

    func gradients(step t: Int) -> [Tensor] { infos.indices.map { gradient($0, step: t) } }

    /// One optimizer-style step on `values`: `u ← g`, `body` rewrites `u`, then `θ ← θ + u`.
    func step(_ values: inout [Tensor], t: Int, _ body: (GroupStep) -> Void) {
        let gradients = gradients(step: t)
        var updates = gradients
        let anchors = anchors
        let slots = infos.indices.map { i in
            TensorSlot(index: i, info: infos[i], value: values[i].unsafeStorage(), anchorValues: anchors[i]?.unsafeStorage(),
                       gradient: gradients[i].unsafeStorage(), providedGradient: nil, update: updates[i].unsafeMutableStorage(),
                       splitsAcrossCores: false)
        }
        withExtendedLifetime((values, gradients, anchors)) {
            body(GroupStep(info: StepInfo(step: t), slots: slots))
        }
        for i in values.indices { values[i] = try! values[i] + updates[i] }
    }

    /// Steps `transform` over `steps` (t values) from `state` (fresh when `nil`) and `values`
    /// (the initial values when `nil`); returns the final values and state.
    func run<T: GradientTransform>(_ transform: T, steps: ClosedRange<Int>, from state: TransformState? = nil,
                                   values: [Tensor]? = nil) -> (values: [Tensor], state: TransformState) {
        let state = state ?? transform.makeState(for: infos)
        var values = values ?? initialValues
        for t in steps { step(&values, t: t) { transform.update($0, state: state) } }
        return (values, state)
    }

    /// An optimizer over fresh parameters with the fixture's values (its own anchors are
    /// snapshotted from them), one group running `transform`.
    func optimizer<T: GradientTransform>(_ transform: T) throws -> (Optimizer, [Parameter]) {
        let parameters = zip(infos, initialValues).map { info, value in Parameter(value, anchor: info.anchor) }
        let named = zip(infos, parameters).map { NamedParameter(path: $0.path, parameter: $1) }
        return (try Optimizer(parameters: named, groups: [ParameterGroup("all", selecting: .all, transform: transform)]), parameters)
    }

    /// Steps an optimizer running `transform` over `steps`, through `step(objectives:)`.
    func runOptimizer<T: GradientTransform>(_ transform: T, steps: ClosedRange<Int>) throws -> [Tensor] {
        let (optimizer, parameters) = try optimizer(transform)
        for t in steps {
            let g = gradients(step: t)
            try optimizer.step(objectives: [Dictionary(uniqueKeysWithValues: zip(infos.map(\.path), g))])
        }
        return parameters.map(\.value)
    }
}

/// The laws, written once for any `GradientTransform`: the example's `GradientNoise` is
/// checked with exactly the functions the built-in transforms are checked with.
enum TransformLaws {
    /// Every tensor bit for bit equal (NaN payloads aside, which these laws never produce).
    static func expectIdentical(_ a: [Tensor], _ b: [Tensor], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, "\(what): tensor counts differ", sourceLocation: sourceLocation)
        for (i, (x, y)) in zip(a, b).enumerated() {
            #expect(x.shape == y.shape && x.scalars.map(\.bitPattern) == y.scalars.map(\.bitPattern),
                    "\(what): tensor \(i) differs", sourceLocation: sourceLocation)
        }
    }

    /// Identity at zero strength: `transform` leaves every update exactly as it found it.
    static func isIdentity<T: GradientTransform>(_ transform: T, fixture: LawFixture = LawFixture(),
                                                 sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = fixture.run(Identity(), steps: 1...6).values
        expectIdentical(fixture.run(transform, steps: 1...6).values, expected, "\(T.self) as identity", sourceLocation: sourceLocation)
    }

    /// Determinism: two transforms built the same way give bit-identical runs.
    static func isDeterministic<T: GradientTransform>(_ make: () throws -> T, fixture: LawFixture = LawFixture(),
                                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let first = fixture.run(try make(), steps: 1...6).values
        let second = fixture.run(try make(), steps: 1...6).values
        expectIdentical(first, second, "\(T.self) run twice", sourceLocation: sourceLocation)
    }

    /// State round trip: an optimizer's snapshot after 3 steps, encoded to bytes, decoded and
    /// restored into a fresh optimizer (fresh transform), continues for 3 more steps exactly as
    /// the original does; re-encoding the restored state gives the same bytes.
    static func roundTripsState<T: GradientTransform>(_ make: () throws -> T, fixture: LawFixture = LawFixture(),
                                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        func step(_ optimizer: Optimizer, _ t: Int) throws {
            try optimizer.step(objectives: [Dictionary(uniqueKeysWithValues: zip(fixture.infos.map(\.path), fixture.gradients(step: t)))])
        }
        let (a, parametersA) = try fixture.optimizer(try make())
        for t in 1...3 { try step(a, t) }
        let bytes = try a.snapshot().encoded()
        let values = parametersA.map(\.value)
        for t in 4...6 { try step(a, t) }
        let (b, parametersB) = try fixture.optimizer(try make())
        for (p, v) in zip(parametersB, values) { p.value = v }
        try b.restore(try OptimizerSnapshot(decoding: bytes))
        #expect(try b.snapshot().encoded() == bytes, "\(T.self): re-encoded state differs", sourceLocation: sourceLocation)
        for t in 4...6 { try step(b, t) }
        expectIdentical(parametersB.map(\.value), parametersA.map(\.value), "\(T.self) resumed from decoded state", sourceLocation: sourceLocation)
    }

    /// Fused equals unfused: the members as one `@TransformBuilder` kernel give the same bits as
    /// the same members run one after another over the whole group (each erased).
    static func fusedEqualsUnfused<T: GradientTransform>(_ fused: T, members: [AnyGradientTransform], fixture: LawFixture = LawFixture(),
                                                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let a = try fixture.runOptimizer(fused, steps: 1...6)
        let b = try fixture.runOptimizer(SequenceTransform(members), steps: 1...6)
        expectIdentical(a, b, "\(T.self) fused vs members one by one", sourceLocation: sourceLocation)
    }

    /// Parallel equals serial: the same run on one thread and on two threads (every tensor split
    /// across both) gives the same bits.
    static func parallelEqualsSerial<T: GradientTransform>(_ make: () throws -> T, fixture: LawFixture = LawFixture(),
                                                           sourceLocation: SourceLocation = #_sourceLocation) throws {
        func run(threads: Int) throws -> [Tensor] {
            let saved = Parallel.threads
            Parallel.threads = threads
            defer { Parallel.threads = saved }
            let (optimizer, parameters) = try fixture.optimizer(try make())
            optimizer.parallelThreshold = 1
            for t in 1...6 {
                try optimizer.step(objectives: [Dictionary(uniqueKeysWithValues: zip(fixture.infos.map(\.path), fixture.gradients(step: t)))])
            }
            return parameters.map(\.value)
        }
        expectIdentical(try run(threads: 2), try run(threads: 1), "\(T.self) on 2 threads vs 1", sourceLocation: sourceLocation)
    }
}
