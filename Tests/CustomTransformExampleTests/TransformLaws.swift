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
    func run<T: GradientTransform>(_ transform: T, steps: ClosedRange<Int>, from state: T.State? = nil,
                                   values: [Tensor]? = nil) -> (values: [Tensor], state: T.State) {
        var state = state ?? transform.makeState(for: infos)
        var values = values ?? initialValues
        for t in steps { step(&values, t: t) { transform.update($0, state: &state) } }
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

    /// State round trip: the state after 3 steps, encoded to JSON and decoded, continues for
    /// 3 more steps exactly as the original state does.
    static func roundTripsState<T: GradientTransform>(_ transform: T, fixture: LawFixture = LawFixture(),
                                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (values, state) = fixture.run(transform, steps: 1...3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = try encoder.encode(state)
        let decoded = try JSONDecoder().decode(T.State.self, from: json)
        let continued = fixture.run(transform, steps: 4...6, from: state, values: values).values
        let resumed = fixture.run(transform, steps: 4...6, from: decoded, values: values).values
        expectIdentical(resumed, continued, "\(T.self) resumed from decoded state", sourceLocation: sourceLocation)
        // Encoding the decoded state again gives the same bytes (nothing lost or invented).
        #expect(try encoder.encode(decoded) == json, "\(T.self): re-encoded state differs", sourceLocation: sourceLocation)
    }
}
