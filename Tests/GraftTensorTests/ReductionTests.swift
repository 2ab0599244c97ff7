import Testing
import GraftTensor
import GraftTestSupport

/// Reductions against plain `Double` loops, two ways.
///
/// 1. On small-integer data (values in −3…3) every partial sum the kernels form is an
///    integer below 2²⁴, so float32 arithmetic is exact in any order and the result must
///    *equal* the reference: this catches a skipped, repeated or misindexed element, which
///    a tolerance on 10⁶ elements would hide.
/// 2. On normal data the error must stay within the bound of the blocked scheme: inside a
///    4096-element block each term passes through at most 256 lane additions, a 32-lane
///    horizontal sum and a ≤ 31-element tail (< 512 float32 roundings), block results are
///    added in `Double` and the total is rounded once, so
///    `|error| ≤ 512·u·Σ|termᵢ| + u·|result|` with `u = 2⁻²⁴` (`blockedBound`).
@Suite("Reductions")
struct ReductionTests {
    @Test(arguments: Array(Set(kernelShapes + rowShapes)).sorted { $0.lexicographicallyPrecedes($1) })
    func exactOnIntegerData(shape: [Int]) throws {
        let x = randomIntegerTensor(shape, seed: 21), y = randomIntegerTensor(shape, seed: 22)
        let xs = doubles(x), ys = doubles(y)
        let sum = sumReference(xs, xs) { a, _ in a }.sum
        let dot = sumReference(xs, ys, *).sum
        let squares = sumReference(xs, xs, *).sum
        #expect(x.sum() == Float(sum))
        #expect(try x.dot(y) == Float(dot))
        #expect(x.squaredNorm() == Float(squares))
        #expect(x.norm() == Float(squares.squareRoot()))
        if x.count == 0 { #expect(x.mean().isNaN) } else { #expect(x.mean() == Float(sum / Double(x.count))) }

        guard rowShapes.contains(shape) else { return }
        let rows = shape.isEmpty ? 1 : shape[0]
        let rowDots = try x.rowDots(y), rowSquares = x.rowSquaredNorms(), rowNorms = x.rowNorms()
        #expect(rowDots.shape == [rows] && rowSquares.shape == [rows] && rowNorms.shape == [rows])
        let refDots = rowReference(shape, xs, ys, *).sums, refSquares = rowReference(shape, xs, xs, *).sums
        expectIdentical(rowDots.scalars, refDots.map { Float($0) }, "rowDots \(shape)")
        expectIdentical(rowSquares.scalars, refSquares.map { Float($0) }, "rowSquaredNorms \(shape)")
        expectIdentical(rowNorms.scalars, refSquares.map { Float($0.squareRoot()) }, "rowNorms \(shape)")
    }

    @Test(arguments: kernelShapes)
    func withinBlockedErrorBoundOnNormalData(shape: [Int]) throws {
        let x = randomNormalTensor(shape, seed: 1), y = randomNormalTensor(shape, seed: 2)
        let xs = doubles(x), ys = doubles(y)
        let sum = sumReference(xs, xs) { a, _ in a }
        let dot = sumReference(xs, ys, *)
        let squares = sumReference(xs, xs, *)
        func check(_ name: String, _ value: Float, _ reference: (sum: Double, absSum: Double)) {
            expectClose([Double(value)], [reference.sum], "\(name) \(shape)",
                        tolerance: { _ in blockedBound(absSum: reference.absSum, result: reference.sum) })
        }
        check("sum", x.sum(), sum)
        check("dot", try x.dot(y), dot)
        check("squaredNorm", x.squaredNorm(), squares)
        // √ halves the relative error of its argument and adds one rounding.
        let norm = squares.sum.squareRoot()
        expectClose([Double(x.norm())], [norm], "norm \(shape)", tolerance: { _ in (257 * u + u) * norm })
        if x.count > 0 {
            let mean = sum.sum / Double(x.count)
            expectClose([Double(x.mean())], [mean], "mean \(shape)",
                        tolerance: { _ in blockedBound(absSum: sum.absSum, result: sum.sum) / Double(x.count) + 2 * u * abs(mean) })
        }
    }

    @Test(arguments: rowShapes)
    func rowReductionsWithinBoundOnNormalData(shape: [Int]) throws {
        let x = randomNormalTensor(shape, seed: 1), y = randomNormalTensor(shape, seed: 2)
        let xs = doubles(x), ys = doubles(y)
        let dots = rowReference(shape, xs, ys, *), squares = rowReference(shape, xs, xs, *)
        expectClose(doubles(try x.rowDots(y)), dots.sums, "rowDots \(shape)",
                    tolerance: { blockedBound(absSum: dots.absSums[$0], result: dots.sums[$0]) })
        expectClose(doubles(x.rowSquaredNorms()), squares.sums, "rowSquaredNorms \(shape)",
                    tolerance: { blockedBound(absSum: squares.absSums[$0], result: squares.sums[$0]) })
        expectClose(doubles(x.rowNorms()), squares.sums.map { $0.squareRoot() }, "rowNorms \(shape)",
                    tolerance: { (257 * u + u) * squares.sums[$0].squareRoot() })
    }

    @Test(arguments: kernelShapes)
    func maxMatchesReference(shape: [Int]) {
        let x = randomNormalTensor(shape, seed: 1)
        var reference = -Float.infinity
        for v in x.scalars where v > reference { reference = v }
        #expect(x.max() == reference)
        guard x.count > 0 else { return }
        var withPeak = x
        withPeak[flat: x.count - 1] = 100          // in the last element (a tail for SIMD code)
        #expect(withPeak.max() == 100)
        var withNaN = x
        withNaN[flat: x.count / 2] = .nan
        #expect(withNaN.max().isNaN)
        #expect((x - 1000).max() == reference - 1000, "all-negative input")
    }

    @Test(arguments: kernelShapes)
    func isFiniteSpotsEveryNonFiniteValue(shape: [Int]) {
        let x = randomNormalTensor(shape, seed: 2)
        #expect(x.isFinite)
        let big = Tensor(repeating: .greatestFiniteMagnitude, shape: shape)
        #expect(big.isFinite, "x · 0 overflowed for the largest finite float")
        guard x.count > 0 else { return }
        for position in Set([0, x.count / 2, x.count - 1]) {
            for bad: Float in [.infinity, -.infinity, .nan] {
                var t = x
                t[flat: position] = bad
                #expect(!t.isFinite, "\(bad) at \(position) of \(shape) not detected")
            }
        }
    }

    @Test func emptyReductions() throws {
        let empty = Tensor(zeros: [0])
        #expect(empty.sum() == 0 && empty.squaredNorm() == 0 && empty.norm() == 0)
        #expect(try empty.dot(empty) == 0)
        #expect(empty.max() == -.infinity && empty.mean().isNaN && empty.isFinite)
        #expect(empty.rowSquaredNorms().shape == [0])
        #expect(Tensor(zeros: [3, 0]).rowNorms() == Tensor(zeros: [3]))
    }

    /// Blocked summation keeps float32 error small on 10⁷ elements. Naive left-to-right
    /// float32 summation of 10⁷ copies of 0.1 drifts by about 9 % (once the running sum's
    /// ulp is 0.125, most additions round the same way); the blocked kernel must stay
    /// within its bound, 512·u ≈ 3·10⁻⁵ relative. (It measures 2.5·10⁻⁶ here: constant data
    /// is the worst case for the float32 lane accumulators, whose rounding errors all have
    /// the same sign.)
    @Test func accuracyOnTenMillionElements() {
        let n = 10_000_000
        let x = Tensor(repeating: 0.1, shape: [n])
        let exact = Double(Float(0.1)) * Double(n)
        var naive: Float = 0
        x.withUnsafeBufferPointer { for i in 0..<$0.count { naive += $0[i] } }
        #expect(abs(Double(naive) - exact) / exact > 1e-2, "the naive float loop was expected to drift")
        let blocked = Double(x.sum())
        #expect(abs(blocked - exact) <= blockedBound(absSum: exact, result: exact), "sum \(blocked) vs \(exact)")
        #expect(abs(blocked - exact) / exact < 5e-6, "sum \(blocked) vs \(exact): larger than measured")
    }

    /// On random data the errors cancel: 10⁶ uniform values sum to within 10⁻⁷ relative.
    @Test func accuracyOnUniformData() throws {
        let x = randomUniformTensor([1_000_003], seed: 27)
        let xs = doubles(x)
        let exact = sumReference(xs, xs) { a, _ in a }.sum
        #expect(abs(Double(x.sum()) - exact) / exact < 1e-7)
    }
}
