#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Adam on one scalar (DiGraP's ω, FTP's γ): `m ← β1 m + (1 − β1) h`,
/// `v ← β2 v + (1 − β2) h²`, `x ← x − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + ε)`,
/// with the *global* step t in the bias corrections (so the first update, at t = 2, has
/// `m̂ = 0.526 h`). Computed and stored in Double (a float32 `v` would overflow for
/// hypergradients above ~1e19, such as FTP's under huge gradients).
public struct ScalarAdam: Sendable, Equatable {
    /// The first moment.
    public var m: Double = 0
    /// The second moment.
    public var v: Double = 0

    /// Moments at zero.
    public init() {}
    /// Moments `m` and `v`.
    public init(m: Double, v: Double) {
        self.m = m
        self.v = v
    }

    /// Returns `x` after one Adam step on gradient `h` at step `t`.
    public mutating func step(_ x: Float, gradient h: Double, learningRate: Float, step t: Int,
                              beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) -> Double {
        let mm = beta1 * m + (1 - beta1) * h
        let vv = beta2 * v + (1 - beta2) * h * h
        m = mm
        v = vv
        let mHat = mm / (1 - pow(beta1, Double(t)))
        let vHat = vv / (1 - pow(beta2, Double(t)))
        return Double(x) - Double(learningRate) * mHat / (vHat.squareRoot() + epsilon)
    }
}
