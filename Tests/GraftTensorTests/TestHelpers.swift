import GraftTensor
import GraftTestSupport

/// Shapes every kernel is checked on: a scalar, empty, one element, a 1×1 matrix, an odd
/// rank-3 block (105 elements: a SIMD body plus a tail), and 1,000,003 elements (many
/// 4096-element reduction blocks with a ragged last one).
let kernelShapes: [[Int]] = [[], [0], [1], [1, 1], [7, 5, 3], [1_000_003]]

/// Shapes for row-wise reductions (rows are over all but the first dimension): the small
/// kernel shapes, a rank-1 tensor (each element its own row), zero rows, zero-length rows,
/// rows longer than a reduction block, and 1,000,006 elements in two long rows. (The
/// rank-1 [1_000_003] case means 10⁶ one-element rows, which costs seconds in a debug
/// build without testing anything [1000] does not.)
let rowShapes: [[Int]] = [[], [0], [1], [1, 1], [7, 5, 3], [1000], [0, 4], [3, 0], [3, 4099], [2, 500_003]]

/// Float32's unit roundoff `u = 2⁻²⁴` (short name for tolerance formulas).
let u = floatRoundoff

// Reference computations: plain index loops in `Double` (fast enough in debug builds on
// 10⁶ elements, and obviously correct).

/// `Float(op(Double(x[i]), Double(y[i])))` for every `i`.
func zipReference(_ x: Tensor, _ y: Tensor, _ op: (Double, Double) -> Double) -> [Float] {
    let xs = x.scalars, ys = y.scalars
    var out = [Float](repeating: 0, count: xs.count)
    for i in 0..<xs.count { out[i] = Float(op(Double(xs[i]), Double(ys[i]))) }
    return out
}

/// `Float(op(Double(x[i])))` for every `i`.
func mapReference(_ x: Tensor, _ op: (Double) -> Double) -> [Float] {
    let xs = x.scalars
    var out = [Float](repeating: 0, count: xs.count)
    for i in 0..<xs.count { out[i] = Float(op(Double(xs[i]))) }
    return out
}

/// `Σ f(xᵢ, yᵢ)` and `Σ |f(xᵢ, yᵢ)|` in `Double`.
func sumReference(_ xs: [Double], _ ys: [Double], _ f: (Double, Double) -> Double) -> (sum: Double, absSum: Double) {
    var s = 0.0, a = 0.0
    for i in 0..<xs.count { let v = f(xs[i], ys[i]); s += v; a += abs(v) }
    return (s, a)
}

/// Row-wise `Σ_c f(x[r,c], y[r,c])` and `Σ_c |f(x[r,c], y[r,c])|` with rows over all but
/// the first dimension (a scalar is one row).
func rowReference(_ shape: [Int], _ xs: [Double], _ ys: [Double],
                  _ f: (Double, Double) -> Double) -> (sums: [Double], absSums: [Double]) {
    let rows = shape.isEmpty ? 1 : shape[0]
    let cols = rows == 0 ? 0 : xs.count / rows
    var sums = [Double](repeating: 0, count: rows), absSums = sums
    for r in 0..<rows {
        for c in 0..<cols {
            let v = f(xs[r * cols + c], ys[r * cols + c])
            sums[r] += v
            absSums[r] += abs(v)
        }
    }
    return (sums, absSums)
}

/// The blocked-reduction error bound (see `ReductionTests`): `512·u·Σ|termᵢ| + u·|result|`.
func blockedBound(absSum: Double, result: Double) -> Double { 512 * u * absSum + u * abs(result) }
