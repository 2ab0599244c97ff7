import Foundation
import GraftOptim
import GraftTensor

/// Annealed Gaussian gradient noise (Neelakantan et al., 2015, "Adding Gradient Noise
/// Improves Learning for Very Deep Networks"): `u ← u + ε`, `ε ~ N(0, σ_t²)`, with the
/// variance `σ_t² = η / (1 + t)^γ` decaying over the steps t = 1, 2, ….
///
/// Each tensor draws from its own seeded generator, kept in its state: a run repeats
/// exactly for a seed (whatever the number of threads) and resumes exactly from a saved
/// state. η = 0 leaves the update unchanged.
public struct GradientNoise: TensorTransform {
    /// One tensor's state: its generator, and σ_t of the last step (for telemetry).
    public struct TensorState: Codable, Sendable, Equatable {
        public var generator: SeededGenerator
        public var standardDeviation: Float
    }

    /// The noise variance scale η and its decay exponent γ (the paper: η ∈ {0.01, 0.3, 1}, γ = 0.55).
    public let eta: Float, gamma: Float
    /// The seed every tensor's generator derives from.
    public let seed: UInt64

    /// - Throws: `OptimizerError.invalidHyperparameter` unless η and γ are finite and ≥ 0.
    public init(eta: Float, gamma: Float = 0.55, seed: UInt64) throws {
        for (key, value) in [("eta", eta), ("gamma", gamma)] where !(value.isFinite && value >= 0) {
            throw OptimizerError.invalidHyperparameter(key: key, value: "\(value)", allowed: "[0, ∞)")
        }
        (self.eta, self.gamma, self.seed) = (eta, gamma, seed)
    }

    public func makeTensorState(for parameter: ParameterInfo) -> TensorState {
        // One stream per tensor: the seed mixed with an FNV-1a hash of the parameter's path.
        let hash = parameter.path.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return TensorState(generator: SeededGenerator(seed: seed ^ hash), standardDeviation: 0)
    }

    public func update(_ slot: TensorSlot, state: inout TensorState, step: StepInfo) {
        let sigma = (eta / pow(1 + Float(step.step), gamma)).squareRoot()
        state.standardDeviation = sigma
        guard sigma > 0 else { return }
        for i in 0..<slot.count { slot.update[i] += sigma * state.generator.nextNormal() }
    }

    public func tensorTelemetry(_ state: TensorState) -> [String: Double] {
        ["noise_std": Double(state.standardDeviation)]
    }
}
