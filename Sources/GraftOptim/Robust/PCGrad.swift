import GraftTensor

/// PCGrad, "gradient surgery" (Yu et al., NeurIPS 2020, "Gradient Surgery for Multi-Task
/// Learning"): for each objective i, `ĝ_i = g_i`, then for every other objective j in a
/// fixed (ascending) or seeded shuffled order, if `<ĝ_i, g_j> < 0`,
/// `ĝ_i ← ĝ_i − <ĝ_i, g_j> / ‖g_j‖² · g_j` (against the *original* g_j); the result is
/// `Σ_i ĝ_i` or its mean.
///
/// Granularity `.global` treats the group's tensors as one concatenated vector (the paper);
/// `.tensor` does the surgery per tensor (layer-wise, like DiGraP). With K = 2 the order does
/// not matter, and without conflicts the result is the plain sum. Memory: K scratch buffers
/// of the group's size during a step (kept between steps to avoid reallocation).
public struct PCGrad: GradientAggregator {
    /// Where dot products are taken.
    public enum Granularity: String, Sendable, Equatable { case global, tensor }
    /// How the projected gradients are combined.
    public enum Reduction: String, Sendable, Equatable { case sum, mean }
    /// The order of the j loop.
    public enum Order: Sendable, Equatable {
        /// j ascending (skipping i): comparable across implementations.
        case fixed
        /// A fresh permutation per step and objective from Graft's seeded generator.
        case shuffled(seed: UInt64)
    }

    /// Scratch buffers, the generator and telemetry.
    public struct State: Codable, Sendable {
        /// Conflicting pairs (projections applied) per parameter, summed over steps.
        public var projections: [Int]
        /// Conflicting pairs in the last step, per parameter.
        public var lastProjections: [Int]
        /// The shuffling generator.
        public var generator: SeededGenerator
        var scratch: [[Tensor]] = []

        enum CodingKeys: String, CodingKey { case projections, lastProjections, generator }
    }

    /// Global (the paper) or per-tensor surgery.
    public let granularity: Granularity
    /// Sum (the paper) or mean of the projected gradients.
    public let reduction: Reduction
    /// The order of the other objectives in the projection loop.
    public let order: Order

    /// PCGrad with the paper's defaults: global, summed, fixed order.
    public init(granularity: Granularity = .global, reduction: Reduction = .sum, order: Order = .fixed) {
        self.granularity = granularity
        self.reduction = reduction
        self.order = order
    }

    public func makeState(for parameters: [ParameterInfo]) -> State {
        let seed: UInt64
        if case let .shuffled(s) = order { seed = s } else { seed = 0 }
        return State(projections: parameters.map { _ in 0 }, lastProjections: parameters.map { _ in 0 },
                     generator: SeededGenerator(seed: seed))
    }

    public func aggregate(_ objectives: [[UnsafeBufferPointer<Float>]], into output: [UnsafeMutableBufferPointer<Float>],
                          state: inout State, step: StepInfo) {
        let k = objectives.count
        let tensors = output.count
        if state.scratch.count != k {
            state.scratch = (0..<k).map { _ in output.map { Tensor(zeros: [$0.count]) } }
        }
        let scratch = (0..<k).map { i in (0..<tensors).map { state.scratch[i][$0].unsafeMutableStorage() } }
        for p in 0..<tensors { state.lastProjections[p] = 0 }
        // The units of surgery: all tensors at once, or each tensor alone.
        let units: [[Int]] = granularity == .global ? [Array(0..<tensors)] : (0..<tensors).map { [$0] }
        for unit in units {
            func dot(_ x: [UnsafeBufferPointer<Float>], _ y: [UnsafeBufferPointer<Float>]) -> Double {
                unit.reduce(0.0) { $0 + Vector.dotDouble(x[$1], y[$1]) }
            }
            let norms = (0..<k).map { j in dot(objectives[j], objectives[j]) }
            var conflicts = 0
            for i in 0..<k {
                for p in unit { scratch[i][p].baseAddress!.update(from: objectives[i][p].baseAddress!, count: objectives[i][p].count) }
                var others = (0..<k).filter { $0 != i }
                if case .shuffled = order { state.generator.shuffle(&others) }
                for j in others {
                    let projected = scratch[i].map { UnsafeBufferPointer($0) }
                    let overlap = dot(projected, objectives[j])
                    guard overlap < 0 else { continue }
                    conflicts += 1
                    let factor = Float(-overlap / norms[j])
                    for p in unit { Vector.axpy(factor, objectives[j][p], scratch[i][p]) }
                }
            }
            for p in unit {
                state.lastProjections[p] = conflicts
                state.projections[p] += conflicts
                let o = output[p].baseAddress!, n = output[p].count
                for q in 0..<n { o[q] = scratch[0][p][q] }
                for i in 1..<max(1, k) { let s = scratch[i][p].baseAddress!; for q in 0..<n { o[q] += s[q] } }
                if reduction == .mean { let f = 1 / Float(k); for q in 0..<n { o[q] *= f } }
            }
        }
    }

    public func telemetry(_ state: State, index: Int) -> [String: Double] {
        guard state.projections.indices.contains(index) else { return [:] }
        return ["projections": Double(state.projections[index]), "last_projections": Double(state.lastProjections[index])]
    }
}
