import GraftOptim
import GraftTensor

/// A small parameter group for the transform laws, stepped by hand (without an `Optimizer`) or
/// through an `Optimizer`: by default four tensors, with an `.initial` anchor (a weight and a
/// bias), a `.zero` anchor (an adapter) and none (a new head), random values and a fixed random
/// gradient for every step, all from a seed (the same numbers on every machine).
///
/// Values and gradients depend on a tensor's path, not its position, so a fixture with an
/// extra tensor leaves the others' numbers unchanged.
public struct LawFixture: Sendable {
    /// The tensors: path, shape and anchor kind.
    public let infos: [ParameterInfo]
    /// θ at step 0 (also the `.initial` anchors).
    public let initialValues: [Tensor]
    /// The seed values and gradients derive from.
    public let seed: UInt64

    /// The default four tensors (`body.0.weight` [6, 5], `body.0.bias` [6], `adapter.a` [2, 5],
    /// `head.weight` [3, 6]); `extraTensor` inserts `body.1.weight` [4, 6] as the second.
    public init(seed: UInt64 = 7, extraTensor: Bool = false) {
        var infos = [
            ParameterInfo(path: "body.0.weight", shape: [6, 5], anchor: .initial),
            ParameterInfo(path: "body.0.bias", shape: [6], anchor: .initial),
            ParameterInfo(path: "adapter.a", shape: [2, 5], anchor: .zero),
            ParameterInfo(path: "head.weight", shape: [3, 6], anchor: .none),
        ]
        if extraTensor { infos.insert(ParameterInfo(path: "body.1.weight", shape: [4, 6], anchor: .initial), at: 1) }
        self.init(checked: infos, seed: seed)
    }

    /// A fixture over your own tensors.
    /// - Throws: `LawViolation` (law "fixture") when `infos` is empty or two tensors share a path.
    public init(infos: [ParameterInfo], seed: UInt64 = 7, file: String = #fileID, line: UInt = #line) throws {
        var seen = Set<String>()
        for info in infos where !seen.insert(info.path).inserted {
            throw LawViolation(law: "fixture", subject: "LawFixture", detail: "two tensors have the path \"\(info.path)\"", file: file, line: line)
        }
        guard !infos.isEmpty else { throw LawViolation(law: "fixture", subject: "LawFixture", detail: "no tensors", file: file, line: line) }
        self.init(checked: infos, seed: seed)
    }

    init(checked infos: [ParameterInfo], seed: UInt64) {
        self.infos = infos
        self.initialValues = infos.map { LawFixture.normal($0.shape, seed: seed &* 100 &+ LawFixture.hash($0.path)) }
        self.seed = seed
    }

    /// The anchor θ0 of each tensor as the optimizer resolves it (`nil` for `.zero` and `.none`).
    public var anchors: [Tensor?] { zip(infos, initialValues).map { $0.anchor == .initial ? $1 : nil } }

    /// The paths, in order.
    public var paths: [String] { infos.map(\.path) }

    /// A stable hash of a path (31-multiplier string hash).
    static func hash(_ path: String) -> UInt64 { path.utf8.reduce(UInt64(17)) { $0 &* 31 &+ UInt64($1) } }

    /// N(0, 1) samples from `SeededGenerator(seed:)`.
    static func normal(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor.randomNormal(shape: shape, generator: &g)
    }

    /// The gradient of tensor `index` at step `t`.
    public func gradient(_ index: Int, step t: Int) -> Tensor {
        LawFixture.normal(infos[index].shape, seed: seed &* 1_000_003 &+ LawFixture.hash(infos[index].path) &+ UInt64(t))
    }

    /// Every tensor's gradient at step `t`.
    public func gradients(step t: Int) -> [Tensor] { infos.indices.map { gradient($0, step: t) } }

    /// The gradients at step `t` keyed by path (one objective of `Optimizer.step(objectives:)`).
    public func objective(step t: Int) -> [String: Tensor] { Dictionary(uniqueKeysWithValues: zip(paths, gradients(step: t))) }

    /// One optimizer-style step on `values`, by hand: `u ← g`, `body` rewrites `u` (call
    /// `update(_:state:)` of one or more transforms there), then `θ ← θ + u`.
    public func step(_ values: inout [Tensor], t: Int, _ body: (GroupStep) throws -> Void) rethrows {
        let gradients = gradients(step: t)
        var updates = gradients
        let anchors = anchors
        let slots = infos.indices.map { i in
            TensorSlot(index: i, info: infos[i], value: values[i].unsafeStorage(), anchorValues: anchors[i]?.unsafeStorage(),
                       gradient: gradients[i].unsafeStorage(), providedGradient: nil, update: updates[i].unsafeMutableStorage(),
                       splitsAcrossCores: false)
        }
        try withExtendedLifetime((values, gradients, anchors)) {
            try body(GroupStep(info: StepInfo(step: t), slots: slots))
        }
        for i in values.indices {
            values[i].withUnsafeMutableBufferPointer { v in
                updates[i].withUnsafeBufferPointer { u in for j in 0..<v.count { v[j] += u[j] } }
            }
        }
    }

    /// Steps `transform` by hand over `steps` (the step numbers t) from `state` (fresh when
    /// `nil`) and `values` (the initial values when `nil`); returns the final values and state.
    public func run<T: GradientTransform>(_ transform: T, steps: ClosedRange<Int>, from state: TransformState? = nil,
                                          values: [Tensor]? = nil) -> (values: [Tensor], state: TransformState) {
        let state = state ?? transform.makeState(for: infos)
        var values = values ?? initialValues
        for t in steps { step(&values, t: t) { transform.update($0, state: state) } }
        return (values, state)
    }

    /// An optimizer over fresh parameters holding the fixture's initial values (anchors taken
    /// from them), with one group `"all"` running `transform`.
    public func optimizer<T: GradientTransform>(_ transform: T) throws -> (Optimizer, [Parameter]) {
        let parameters = zip(infos, initialValues).map { info, value in Parameter(value, anchor: info.anchor) }
        let named = zip(infos, parameters).map { NamedParameter(path: $0.path, parameter: $1) }
        return (try Optimizer(parameters: named, groups: [ParameterGroup("all", selecting: .all, transform: transform)]), parameters)
    }

    /// Steps an optimizer running `transform` over `steps` through `step(objectives:)`;
    /// returns the final values.
    public func runOptimizer<T: GradientTransform>(_ transform: T, steps: ClosedRange<Int>) throws -> [Tensor] {
        let (optimizer, parameters) = try optimizer(transform)
        for t in steps { try optimizer.step(objectives: [objective(step: t)]) }
        return parameters.map(\.value)
    }
}
