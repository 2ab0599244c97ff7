import GraftNN
import GraftTensor

/// Central-difference gradient checks in `Double` around `Float` evaluations.
///
/// Each scalar `v` is perturbed to `v ± h` in `Float` (`h = FiniteDifferences.step`), the
/// objective is evaluated in `Double` from the float outputs, and the numeric derivative is
/// `(L(v⁺) − L(v⁻)) / (v⁺ − v⁻)` with the denominator taken from the rounded float values.
/// Analytic `a` and numeric `n` are compared with the relative error
/// `|a − n| / max(|a|, |n|, floor)` (see `relativeError`).
enum FiniteDifferences {
    /// The perturbation `h`.
    static let step: Float = 1e-2
    /// Below this magnitude errors are measured absolutely (float32 noise of the objective
    /// divided by `2h` is about 1e-5).
    static let floor: Double = 1e-2
    /// The largest relative error a correct backward pass may show.
    static let tolerance: Double = 1e-2

    /// `|a − n| / max(|a|, |n|, floor)`.
    static func relativeError(_ a: Double, _ n: Double) -> Double {
        abs(a - n) / Swift.max(abs(a), abs(n), floor)
    }

    /// Numeric derivatives of `objective` with respect to the `count` scalars reached
    /// through `get` / `set` (each restored after its two evaluations).
    static func numericGradient(count: Int, get: (Int) -> Float, set: (Int, Float) -> Void,
                                objective: () -> Double) -> [Double] {
        (0..<count).map { i in
            let v = get(i)
            let plus = v + step, minus = v - step
            set(i, plus)
            let up = objective()
            set(i, minus)
            let down = objective()
            set(i, v)
            return (up - down) / (Double(plus) - Double(minus))
        }
    }

    /// One compared tensor: its largest relative error and the size of the numeric gradient
    /// (so a test can also insist the gradient is not trivially zero).
    struct Comparison: CustomStringConvertible {
        var maxError: Double
        var numericNorm: Double
        var description: String { "max relative error \(maxError), ‖numeric‖ \(numericNorm)" }
    }

    static func compare(_ analytic: Tensor, _ numeric: [Double]) -> Comparison {
        precondition(analytic.count == numeric.count)
        var worst = 0.0, norm = 0.0
        for (a, n) in zip(analytic.scalars, numeric) {
            worst = Swift.max(worst, relativeError(Double(a), n))
            norm += n * n
        }
        return Comparison(maxError: worst, numericNorm: norm.squareRoot())
    }

    /// `Σ_i w_i y_i` in `Double`.
    static func projection(_ y: Tensor, _ w: Tensor) -> Double {
        precondition(y.shape == w.shape, "\(y.shape) vs \(w.shape)")
        var s = 0.0
        for (a, b) in zip(y.scalars, w.scalars) { s += Double(a) * Double(b) }
        return s
    }

    /// Checks `layer`'s input gradient and every trainable parameter's gradient for the
    /// objective `L = Σ r ⊙ layer(x)` with a fixed random `r`, and that frozen parameters
    /// receive no gradient. `replay` runs before every forward pass (Dropout restores its
    /// generator there, so every evaluation uses the same mask).
    /// - Returns: one comparison per tensor, keyed `"input"` or by parameter path, plus the
    ///   paths of frozen parameters whose gradient changed.
    static func check(_ layer: any Layer, input: Tensor, seed: UInt64,
                      replay: () -> Void = {}) -> (comparisons: [String: Comparison], touchedFrozen: [String]) {
        var generator = SeededGenerator(seed: seed)
        replay()
        let y = try! layer.forward(input)
        let r = Tensor.randomNormal(shape: y.shape, generator: &generator)
        layer.zeroGradients()
        let inputGradient = try! layer.backward(r)
        let parameters = layer.namedParameters()
        let gradients = parameters.map { $0.parameter.gradient }

        func objective(_ x: Tensor) -> Double {
            replay()
            return projection(try! layer.forward(x), r)
        }
        var results: [String: Comparison] = [:]
        var x = input
        let numericInput = numericGradient(count: x.count, get: { x[flat: $0] }, set: { x[flat: $0] = $1 },
                                           objective: { objective(x) })
        results["input"] = compare(inputGradient, numericInput)
        var touched: [String] = []
        for (named, gradient) in zip(parameters, gradients) {
            let p = named.parameter
            guard p.isTrainable else {
                if gradient.scalars.contains(where: { $0 != 0 }) { touched.append(named.path) }
                continue
            }
            let numeric = numericGradient(count: p.value.count, get: { p.value[flat: $0] }, set: { p.value[flat: $0] = $1 },
                                          objective: { objective(input) })
            results[named.path] = compare(gradient, numeric)
        }
        return (results, touched)
    }
}
