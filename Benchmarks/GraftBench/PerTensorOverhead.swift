import GraftBenchmarking
import GraftOptim
import GraftTensor

/// The per-tensor cost of a step (issue 13: under 50 ns per tensor per step): Adam over many
/// tiny tensors (20,000 × [1], 20,000 × [16]), where the step's time is all bookkeeping, next
/// to the C Adam floor over the same tensors (one C call per tensor, no framework).
struct PerTensorResult: Codable, Sendable {
    var id: String
    var tensors: Int
    var elementsPerTensor: Int
    var timing: Statistics
    /// Median step time over the tensor count (ns per tensor per step).
    var nsPerTensor: Double
    /// The same for the C Adam floor.
    var floorNsPerTensor: Double
}

enum PerTensorOverhead {
    static let tensors = 20_000
    static let shapes = [1, 16]

    static func id(_ elements: Int) -> String { "overhead/adam/\(tensors)x[\(elements)]" }

    static func layout(_ elements: Int) throws -> Layout {
        try Layout(name: "\(tensors)x\(elements)", tensors: (0..<tensors).map { TensorSpec(path: "p.\($0)", shape: [elements], anchored: false) },
                   nominalSize: tensors * elements)
    }

    static func run(elements: Int, threads: Int, policy: TimingPolicy) throws -> PerTensorResult {
        let layout = try layout(elements)
        let data = try LayoutData(layout, seed: 5)
        let parameters = data.makeParameters()
        let optimizer = try Optimizer(parameters: parameters,
                                      groups: [try ParameterGroup("all", selecting: .all, transform: Recipes.adam(learningRate: 1e-3))])
        let timing = try measure(policy) { try optimizer.step() }
        let floor = CFloor(kind: .adam, data: data, threads: threads)
        let floorTiming = measure(policy) { floor.run() }
        return PerTensorResult(id: id(elements), tensors: tensors, elementsPerTensor: elements, timing: timing,
                               nsPerTensor: timing.p50 / Double(tensors), floorNsPerTensor: floorTiming.p50 / Double(tensors))
    }
}
