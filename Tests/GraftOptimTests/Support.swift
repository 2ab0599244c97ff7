import Foundation
import GraftOptim
import GraftTensor
import GraftTestSupport

// Helpers local to GraftOptimTests (kept here rather than in GraftTestSupport, which another
// branch extends).

// MARK: - Fixtures

/// `Tests/Fixtures`, located from this file's path so tests need no resources or Python.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // GraftOptimTests
    .deletingLastPathComponent()   // Tests
    .appendingPathComponent("Fixtures")

/// The trace names (`NAME.json` with a `NAME.expected.json` beside it) in a fixture folder.
func traceNames(in folder: String) -> [String] {
    let dir = fixturesDirectory.appendingPathComponent(folder)
    let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return files.filter { $0.hasSuffix(".expected.json") }
        .map { String($0.dropLast(".expected.json".count)) }
        .sorted()
}

/// The bytes of a fixture file.
func fixtureData(_ folder: String, _ file: String) throws -> Data {
    try Data(contentsOf: fixturesDirectory.appendingPathComponent(folder).appendingPathComponent(file))
}

/// A parsed `graft-trace-result/1` file.
struct ExpectedResult {
    var parameters: [String: [Double]]
    var telemetry: [String: [String: Double]]

    init(data: Data) throws {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              root["format"] as? String == "graft-trace-result/1",
              let params = root["parameters"] as? [String: [NSNumber]] else {
            throw FixtureError.malformed("not a graft-trace-result/1 file")
        }
        parameters = params.mapValues { $0.map(\.doubleValue) }
        let tel = root["telemetry"] as? [String: [String: NSNumber]] ?? [:]
        telemetry = tel.mapValues { $0.mapValues(\.doubleValue) }
    }
}

enum FixtureError: Error { case malformed(String) }

/// The parity tolerance of the project: `|a − b| ≤ 1e-5 + 1e-4·|b|` (b the reference).
func withinParity(_ a: Double, _ b: Double) -> Bool {
    abs(a - b) <= 1e-5 + 1e-4 * abs(b)
}

/// Elements of `actual` outside the parity tolerance of `expected`, described for a failure message.
func parityViolations(_ actual: [Float], _ expected: [Double], label: String) -> [String] {
    guard actual.count == expected.count else {
        return ["\(label): \(actual.count) elements, expected \(expected.count)"]
    }
    return actual.indices.compactMap { i in
        withinParity(Double(actual[i]), expected[i]) ? nil : "\(label)[\(i)] = \(actual[i]), expected \(expected[i])"
    }
}

// MARK: - Tensors and parameters

/// A tensor of `shape` from row-major values (traps on a count mismatch: test data only).
func tensor(_ shape: [Int], _ values: [Float]) -> Tensor {
    do { return try Tensor(shape: shape, scalars: values) } catch { fatalError("\(error)") }
}

/// A deterministic pseudo-random tensor.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var g = SeededGenerator(seed: seed)
    return Tensor.randomNormal(shape: shape, standardDeviation: scale, generator: &g)
}

/// A named parameter with a value.
func named(_ path: String, _ value: Tensor, anchor: AnchorKind = .initial, trainable: Bool = true) -> NamedParameter {
    NamedParameter(path: path, parameter: Parameter(value, trainable: trainable, anchor: anchor))
}

/// Copies of the parameters' current values, by path.
func snapshot(_ params: [NamedParameter]) -> [String: [Float]] {
    Dictionary(uniqueKeysWithValues: params.map { ($0.path, $0.parameter.value.scalars) })
}

/// `Σ a_i b_i` in Double.
func dot(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}

/// `a − b` elementwise.
func minus(_ a: [Float], _ b: [Float]) -> [Float] { zip(a, b).map { $0 - $1 } }

/// The largest `|a_i − b_i|`.
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

// MARK: - A standard small problem

/// The shapes used by most tests: a weight matrix, a bias (rank 1) and an unanchored head.
let problemShapes: [(path: String, shape: [Int], anchor: AnchorKind)] = [
    ("body.weight", [3, 4], .initial),
    ("body.bias", [4], .initial),
    ("head.weight", [2, 3], .none),
]

/// Fresh parameters for `problemShapes` (deterministic values).
func makeProblemParameters(seed: UInt64 = 11) -> [NamedParameter] {
    problemShapes.enumerated().map { i, p in
        named(p.path, randomTensor(p.shape, seed: seed &+ UInt64(i)), anchor: p.anchor)
    }
}

/// Deterministic gradients for `params` at step `step` (1-based) of objective `objective`.
func makeGradients(for params: [NamedParameter], step: Int, objective: Int = 0, seed: UInt64 = 1_000) -> [String: Tensor] {
    Dictionary(uniqueKeysWithValues: params.enumerated().map { i, p in
        (p.path, randomTensor(p.parameter.shape, seed: seed &+ UInt64(step * 7_919 + objective * 104_729 + i * 31)))
    })
}

/// Builds a one-group optimizer over `params` with `transform` and runs `steps` steps of
/// `makeGradients`, returning the final values by path.
func runOneGroup<T: GradientTransform>(_ transform: T, params: [NamedParameter], steps: Int,
                                        anchors: [String: Tensor] = [:], seed: UInt64 = 1_000) throws -> [String: [Float]] {
    let optimizer = try Optimizer(parameters: params, groups: [ParameterGroup("all", selecting: .all, transform: transform)],
                                  anchors: anchors)
    for t in 1...steps {
        try optimizer.step(objectives: [makeGradients(for: params, step: t, seed: seed)])
    }
    return snapshot(params)
}

// MARK: - A quadratic

/// `L(θ) = ½ Σ_p Σ_i a_{p,i} (θ_{p,i} − θ*_{p,i})²`, with curvatures in [0.5, 2] and a
/// target away from the initial values: the gradient is `a ⊙ (θ − θ*)`.
struct Quadratic {
    var curvature: [String: [Float]]
    var target: [String: [Float]]

    init(params: [NamedParameter], seed: UInt64 = 77) {
        var g = SeededGenerator(seed: seed)
        curvature = [:]
        target = [:]
        for p in params {
            let n = p.parameter.value.count
            curvature[p.path] = (0..<n).map { _ in g.nextFloat(in: 0.5, 2) }
            target[p.path] = p.parameter.value.scalars.map { $0 + g.nextFloat(in: -1.5, 1.5) }
        }
    }

    func loss(_ params: [NamedParameter]) -> Double {
        params.reduce(0.0) { acc, p in
            let a = curvature[p.path]!, s = target[p.path]!
            return acc + p.parameter.value.scalars.indices.reduce(0.0) { sum, i in
                let d = Double(p.parameter.value.scalars[i] - s[i])
                return sum + 0.5 * Double(a[i]) * d * d
            }
        }
    }

    /// The gradient of every parameter, optionally split into `parts` objectives that sum to it
    /// (objective k takes the coordinates i with i % parts == k).
    func gradients(_ params: [NamedParameter], parts: Int = 1) -> [[String: Tensor]] {
        (0..<parts).map { k in
            Dictionary(uniqueKeysWithValues: params.map { p in
                let a = curvature[p.path]!, s = target[p.path]!
                let v = p.parameter.value.scalars
                let g = v.indices.map { i in i % parts == k ? a[i] * (v[i] - s[i]) : 0 }
                return (p.path, tensor(p.parameter.shape, g))
            })
        }
    }
}

// MARK: - Driving transforms by hand

/// Owns the buffers of one parameter group so a transform's `update` can be called directly,
/// without an `Optimizer`: the "apply the members by hand" side of the chain laws.
final class Harness {
    let infos: [ParameterInfo]
    let values: [UnsafeMutableBufferPointer<Float>]
    let anchors: [UnsafeMutableBufferPointer<Float>?]
    let gradients: [UnsafeMutableBufferPointer<Float>]
    let provided: [UnsafeMutableBufferPointer<Float>]
    let updates: [UnsafeMutableBufferPointer<Float>]

    /// `anchorValues[i]` is the explicit θ0 buffer (`nil`: none stored, as for `.zero` / `.none`).
    init(infos: [ParameterInfo], values: [[Float]], anchorValues: [[Float]?]) {
        func buffer(_ v: [Float]) -> UnsafeMutableBufferPointer<Float> {
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, v.count))
            b.initialize(repeating: 0)
            for i in v.indices { b[i] = v[i] }
            return UnsafeMutableBufferPointer(start: b.baseAddress, count: v.count)
        }
        self.infos = infos
        self.values = values.map(buffer)
        self.anchors = anchorValues.map { $0.map(buffer) }
        self.gradients = infos.map { buffer([Float](repeating: 0, count: $0.count)) }
        self.provided = infos.map { buffer([Float](repeating: 0, count: $0.count)) }
        self.updates = infos.map { buffer([Float](repeating: 0, count: $0.count)) }
    }

    /// A harness mirroring `makeProblemParameters` (anchors: a copy for `.initial`).
    convenience init(params: [NamedParameter]) {
        let infos = params.map { ParameterInfo(path: $0.path, shape: $0.parameter.shape, anchor: $0.parameter.anchor) }
        self.init(infos: infos, values: params.map { $0.parameter.value.scalars },
                  anchorValues: params.map { $0.parameter.anchor == .initial ? $0.parameter.value.scalars : nil })
    }

    deinit {
        for b in values + gradients + provided + updates { b.baseAddress?.deallocate() }
        for b in anchors { b?.baseAddress?.deallocate() }
    }

    /// Sets this step's gradient (by path) and copies it into the running update.
    func load(_ g: [String: Tensor]) {
        for (k, info) in infos.enumerated() {
            let s = g[info.path]?.scalars ?? [Float](repeating: 0, count: info.count)
            for i in s.indices { gradients[k][i] = s[i]; updates[k][i] = s[i] }
        }
    }

    /// The group view for step `t`.
    func group(step t: Int, learningRateScale: Float = 1, withProvided: Bool = false) -> GroupStep {
        let slots = infos.indices.map { k in
            TensorSlot(index: k, info: infos[k], value: UnsafeBufferPointer(values[k]),
                       anchorValues: anchors[k].map { UnsafeBufferPointer($0) },
                       gradient: UnsafeBufferPointer(gradients[k]),
                       providedGradient: withProvided ? UnsafeBufferPointer(provided[k]) : nil,
                       update: updates[k], splitsAcrossCores: false)
        }
        return GroupStep(info: StepInfo(step: t, learningRateScale: learningRateScale), slots: slots)
    }

    /// The current running update of parameter `k`.
    func update(_ k: Int) -> [Float] { Array(updates[k]) }
    /// The current value of parameter `k`.
    func value(_ k: Int) -> [Float] { Array(values[k]) }

    /// θ ← θ + u for every parameter.
    func apply() {
        for k in infos.indices { for i in 0..<infos[k].count { values[k][i] += updates[k][i] } }
    }

    /// Values by path.
    var snapshot: [String: [Float]] {
        Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.path, value($0)) })
    }
}

/// Records, per step, what a transform saw in its slots (used to check anchors without copies).
final class SlotProbeLog: @unchecked Sendable {
    struct Entry: Equatable {
        let path: String
        let anchor: AnchorKind
        let hasAnchorValues: Bool
        let step: Int
    }
    private let lock = NSLock()
    private var storage: [Entry] = []
    var entries: [Entry] { lock.lock(); defer { lock.unlock() }; return storage }
    func append(_ e: Entry) { lock.lock(); storage.append(e); lock.unlock() }
}

/// A transform that changes nothing and logs `slot.anchorValues == nil` and `slot.info.anchor`.
struct SlotProbe: TensorTransform {
    let log: SlotProbeLog
    var usesAnchors: Bool { true }
    func update(_ slot: TensorSlot, state: StateView, step: StepInfo) {
        log.append(.init(path: slot.info.path, anchor: slot.info.anchor, hasAnchorValues: slot.anchorValues != nil, step: step.step))
    }
}

/// A transform that records the running update it receives (by path, last step only).
final class UpdateLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String: [Float]] = [:]
    subscript(path: String) -> [Float]? { lock.lock(); defer { lock.unlock() }; return storage[path] }
    func set(_ path: String, _ v: [Float]) { lock.lock(); storage[path] = v; lock.unlock() }
}

/// Captures `slot.update` into an `UpdateLog` without changing it.
struct CaptureUpdate: TensorTransform {
    let log: UpdateLog
    func update(_ slot: TensorSlot, state: StateView, step: StepInfo) {
        log.set(slot.info.path, Array(slot.update))
    }
}

/// The DiGraP state of parameter `k` of a by-hand `TransformState` whose first member is DiGraP.
func digrapState(_ state: TransformState, _ k: Int = 0) -> DirectionalProjection.TensorState {
    state.inspect(member: 0, parameter: k) as! DirectionalProjection.TensorState
}

/// The FTP state of parameter `k` of a by-hand `TransformState` whose first member is FTP.
func ftpState(_ state: TransformState, _ k: Int = 0) -> TrainableProjection.TensorState {
    state.inspect(member: 0, parameter: k) as! TrainableProjection.TensorState
}
