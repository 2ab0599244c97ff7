import GraftTensor

/// The central-difference estimate of `∇f(x)`, computed in `Double`.
///
/// For each element `i`, with `x⁺ = x + h·eᵢ` and `x⁻ = x − h·eᵢ` rounded to float32 (the
/// tensor's precision):
///
///     gᵢ = (f(x⁺) − f(x⁻)) / (x⁺ᵢ − x⁻ᵢ)
///
/// Dividing by the step actually taken (`x⁺ᵢ − x⁻ᵢ`, exact in `Double`) rather than by `2h`
/// removes the error of rounding `xᵢ ± h` to float32. The truncation error is `O(h²)·f‴`;
/// the rounding error is about `ε_f / h` where `ε_f` is the absolute error of `f`, so choose
/// `h` near `ε_f^{1/3}` (the default `1e-3` suits `f` evaluated in float32 with values of
/// order one, or `f` computed in `Double`). Costs `2 · x.count` evaluations of `f`.
public func numericalGradient(of f: (Tensor) -> Double, at x: Tensor, h: Double = 1e-3) -> [Double] {
    precondition(h > 0, "h must be positive")
    var probe = x
    var gradient = [Double](repeating: 0, count: x.count)
    for i in 0..<x.count {
        let xi = x[flat: i]
        let plus = Float(Double(xi) + h), minus = Float(Double(xi) - h)
        probe[flat: i] = plus
        let fPlus = f(probe)
        probe[flat: i] = minus
        let fMinus = f(probe)
        probe[flat: i] = xi
        gradient[i] = (fPlus - fMinus) / (Double(plus) - Double(minus))
    }
    return gradient
}

/// The relative error between an analytic gradient and a numerical one:
///
///     ‖a − n‖₂ / max(‖a‖₂, ‖n‖₂, floor)
///
/// `0` when both are exactly equal (including both zero); `floor` keeps two vectors that are
/// both tiny from producing a large ratio out of rounding noise. A correct float32 gradient
/// checked with `numericalGradient` typically lands below `1e-3`; a wrong one lands near `1`.
/// - Precondition: equal counts.
public func gradientRelativeError(analytic a: [Double], numerical n: [Double], floor: Double = 1e-8) -> Double {
    precondition(a.count == n.count, "gradient counts \(a.count) and \(n.count) differ")
    var diff = 0.0, na = 0.0, nn = 0.0
    for i in a.indices {
        diff += (a[i] - n[i]) * (a[i] - n[i])
        na += a[i] * a[i]
        nn += n[i] * n[i]
    }
    if diff == 0 { return 0 }
    return diff.squareRoot() / Swift.max(na.squareRoot(), nn.squareRoot(), floor)
}
