/// Turns K objective gradients of the same parameters into one gradient per parameter.
///
/// Single-objective training is K = 1. Aggregators see the whole group, so they can work
/// globally (all tensors concatenated, as PCGrad's paper) or per tensor.
public protocol GradientAggregator: Sendable {
    /// Aggregator state for the group.
    associatedtype State: Codable & Sendable

    /// Creates the state for the group's parameters.
    func makeState(for parameters: [ParameterInfo]) -> State

    /// Writes the aggregate of `objectives[k][p]` (objective k, parameter p) into `output[p]`.
    func aggregate(_ objectives: [[UnsafeBufferPointer<Float>]], into output: [UnsafeMutableBufferPointer<Float>],
                   state: inout State, step: StepInfo)

    /// Telemetry of one parameter (e.g. PCGrad's projection count).
    func telemetry(_ state: State, index: Int) -> [String: Double]
}

extension GradientAggregator {
    public func telemetry(_ state: State, index: Int) -> [String: Double] { [:] }
}

/// `Σ_k g_k`, added in objective order.
public struct SumAggregator: GradientAggregator {
    /// Creates the aggregator (it has no settings).
    public init() {}
    public func makeState(for parameters: [ParameterInfo]) -> EmptyState { EmptyState() }

    public func aggregate(_ objectives: [[UnsafeBufferPointer<Float>]], into output: [UnsafeMutableBufferPointer<Float>],
                          state: inout EmptyState, step: StepInfo) {
        sumObjectives(objectives, into: output, scale: 1)
    }
}

/// `(1 / K) Σ_k g_k`.
public struct MeanAggregator: GradientAggregator {
    /// Creates the aggregator (it has no settings).
    public init() {}
    public func makeState(for parameters: [ParameterInfo]) -> EmptyState { EmptyState() }

    public func aggregate(_ objectives: [[UnsafeBufferPointer<Float>]], into output: [UnsafeMutableBufferPointer<Float>],
                          state: inout EmptyState, step: StepInfo) {
        sumObjectives(objectives, into: output, scale: 1 / Float(objectives.count))
    }
}

/// `output[p] = scale · Σ_k objectives[k][p]` (summed in objective order, then scaled).
func sumObjectives(_ objectives: [[UnsafeBufferPointer<Float>]], into output: [UnsafeMutableBufferPointer<Float>], scale: Float) {
    for p in output.indices {
        let o = output[p].baseAddress!
        let n = output[p].count
        guard n > 0 else { continue }
        let first = objectives[0][p].baseAddress!
        for i in 0..<n { o[i] = first[i] }
        for k in 1..<max(1, objectives.count) {
            let g = objectives[k][p].baseAddress!
            for i in 0..<n { o[i] += g[i] }
        }
        if scale != 1 { for i in 0..<n { o[i] *= scale } }
    }
}

/// A type-erased aggregator.
public struct AnyGradientAggregator: GradientAggregator {
    /// Opaque boxed state of the wrapped aggregator.
    public struct State: Codable, @unchecked Sendable {
        var box: any StateBox
        init(box: any StateBox) { self.box = box }
        public init(from decoder: any Decoder) throws {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "restored through its optimizer"))
        }
        public func encode(to encoder: any Encoder) throws { try box.encode(to: encoder) }
    }

    private let makeStateImpl: @Sendable ([ParameterInfo]) -> State
    private let aggregateImpl: @Sendable ([[UnsafeBufferPointer<Float>]], [UnsafeMutableBufferPointer<Float>], inout State, StepInfo) -> Void
    private let telemetryImpl: @Sendable (State, Int) -> [String: Double]
    private let decodeImpl: @Sendable (any Decoder) throws -> State
    /// Whether this is the plain sum (lets the optimizer skip a copy when K = 1).
    public let isSum: Bool

    /// Wraps `aggregator` (an already erased one is kept as it is).
    public init<A: GradientAggregator>(_ aggregator: A) {
        if let already = aggregator as? AnyGradientAggregator { self = already; return }
        makeStateImpl = { State(box: TypedStateBox<A.State>(value: aggregator.makeState(for: $0))) }
        aggregateImpl = { objectives, output, state, step in
            let typed = state.box as! TypedStateBox<A.State>
            aggregator.aggregate(objectives, into: output, state: &typed.value, step: step)
        }
        telemetryImpl = { state, index in aggregator.telemetry((state.box as! TypedStateBox<A.State>).value, index: index) }
        decodeImpl = { State(box: TypedStateBox<A.State>(value: try A.State(from: $0))) }
        isSum = aggregator is SumAggregator
    }

    public func makeState(for parameters: [ParameterInfo]) -> State { makeStateImpl(parameters) }
    public func aggregate(_ objectives: [[UnsafeBufferPointer<Float>]], into output: [UnsafeMutableBufferPointer<Float>],
                          state: inout State, step: StepInfo) {
        aggregateImpl(objectives, output, &state, step)
    }
    public func telemetry(_ state: State, index: Int) -> [String: Double] { telemetryImpl(state, index) }
    /// Decodes a state previously encoded from this aggregator's state.
    public func decodeState(from decoder: any Decoder) throws -> State { try decodeImpl(decoder) }
}

/// A reference box so erased aggregator state mutates in place.
protocol StateBox: AnyObject, Encodable {}

final class TypedStateBox<Value: Codable & Sendable>: StateBox, @unchecked Sendable {
    var value: Value
    init(value: Value) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
