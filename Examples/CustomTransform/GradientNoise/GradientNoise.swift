import Foundation
import GraftOptim
import GraftTensor

/// Annealed Gaussian gradient noise (Neelakantan et al., 2015, "Adding Gradient Noise
/// Improves Learning for Very Deep Networks"): `u ← u + ε`, `ε ~ N(0, σ_t²)`, with the
/// variance `σ_t² = η / (1 + t)^γ` decaying over the steps t = 1, 2, ….
///
/// The noise of element i of a tensor at step t is a pure function of (seed, the tensor's
/// path, t, i): a counter-based generator (SplitMix64 of those numbers, then Box–Muller).
/// So the transform is elementwise — it fuses with Adam and the learning rate into one loop
/// over memory — a run repeats exactly for a seed whatever the number of threads, and a
/// resumed run continues exactly without storing any generator. Its only state is σ_t of the
/// last step, for telemetry. η = 0 leaves the update unchanged.
public struct GradientNoise: ElementwiseTransform {
    /// What `optimizer.state(of: "noise", …)` returns: σ_t of the last step.
    public struct TensorState: Sendable, Equatable {
        /// σ_t of the last step (0 before the first).
        public var standardDeviation: Float
    }

    /// The noise variance scale η and its decay exponent γ (the paper: η ∈ {0.01, 0.3, 1}, γ = 0.55).
    public let eta: Float, gamma: Float
    /// The seed every tensor's noise derives from.
    public let seed: UInt64

    /// - Throws: `OptimizerError.invalidHyperparameter` unless η and γ are finite and ≥ 0.
    public init(eta: Float, gamma: Float = 0.55, seed: UInt64) throws {
        try HyperparameterCheck.nonNegative("eta", eta)
        try HyperparameterCheck.nonNegative("gamma", gamma)
        (self.eta, self.gamma, self.seed) = (eta, gamma, seed)
    }

    public var kind: String { "gradient_noise" }
    /// Per parameter: σ of the last step, and the two 32-bit halves of the hash of its path
    /// (its noise stream).
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout {
        StateLayout(scalars: ["noise_std", "stream_high", "stream_low"])
    }

    public func initializeState(_ state: StateView, for parameter: ParameterInfo) {
        // FNV-1a of the path: a tensor's noise depends on the seed and its path only.
        let hash = parameter.path.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        state[scalar: 1] = Double(hash >> 32)
        state[scalar: 2] = Double(hash & 0xFFFF_FFFF)
    }
    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        TensorState(standardDeviation: Float(state[scalar: 0]))
    }
    public func telemetry(_ state: StateView, for parameter: ParameterInfo) -> [String: Double] { ["noise_std": state[scalar: 0]] }

    /// Per step: σ_t and t.
    public func prepare(_ step: StepInfo) -> (sigma: Float, step: UInt64) {
        ((eta / pow(1 + Float(step.step), gamma)).squareRoot(), UInt64(step.step))
    }

    public func lanes(_ prepared: (sigma: Float, step: UInt64), tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        let stream = UInt64(state[scalar: 1]) << 32 | UInt64(state[scalar: 2])
        return Lanes(key: GradientNoise.mix(seed ^ stream ^ GradientNoise.mix(prepared.step &* 0x9E37_79B9_7F4A_7C15)),
              sigma: prepared.sigma, record: commit ? state.scalars : nil)
    }

    /// Adds σ · N(0, 1) per element.
    public struct Lanes: ElementLanes {
        let key: UInt64
        let sigma: Float
        let record: UnsafeMutablePointer<Double>?

        public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            guard sigma > 0 else { if i == 0 { record?[0] = 0 }; return }
            for lane in 0..<8 { u[lane] += sigma * normal(i + lane) }
            if i == 0 { record?[0] = Double(sigma) }  // element 0 is visited by exactly one worker
        }

        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            guard sigma > 0 else { if i == 0 { record?[0] = 0 }; return }
            u += sigma * normal(i)
            if i == 0 { record?[0] = Double(sigma) }
        }

        /// A standard normal for element `i` (Box–Muller on two 32-bit uniforms).
        func normal(_ i: Int) -> Float {
            let bits = GradientNoise.mix(key &+ UInt64(i) &* 0xD1B5_4A32_D192_ED03)
            let u1 = (Float(bits >> 40) + 1) * 0x1p-24  // (0, 1]
            let u2 = Float((bits >> 8) & 0xFF_FFFF) * 0x1p-24
            return (-2 * log(u1)).squareRoot() * cos(2 * Float.pi * u2)
        }
    }

    /// SplitMix64's finaliser.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
