import Testing
import GraftTensor
import GraftTestSupport

/// Elementwise kernels against a plain loop in `Double`.
///
/// Tolerances: for one `+ − × ÷` of two floats, `Float(Double(a) op Double(b))` *is* the
/// correctly rounded float32 result (`Double`'s 53 bits are at least 2·24 + 2, so rounding
/// twice is innocuous), so single operations must match the reference bit for bit. Fused
/// forms round two or three times in float32: each rounding errs by at most `u = 2⁻²⁴`
/// times the magnitude it rounds, so `y + αx` stays within `2u(|αx| + |y|)` of the exact
/// value and `αx + βy` within `3u(|αx| + |βy|)` (an FMA only makes it smaller). A wrong
/// index, a skipped tail or a wrong operand errs by O(|x|), far outside these bounds.
///
/// Every test uses the same two operands per shape (seeds 1 and 2): large random tensors
/// are generated once per run (see `GraftTestSupport`), which keeps the debug run short.
@Suite("Elementwise kernels")
struct ElementwiseTests {
    @Test(arguments: kernelShapes)
    func binaryOperators(shape: [Int]) throws {
        let x = randomNormalTensor(shape, seed: 1), y = randomNormalTensor(shape, seed: 2)
        let results = [("+", try x + y, zipReference(x, y, +)), ("-", try x - y, zipReference(x, y, -)),
                       ("*", try x * y, zipReference(x, y, *)), ("/", try x / y, zipReference(x, y, /))]
        for (name, result, expected) in results {
            #expect(result.shape == shape, "\(name) \(shape)")
            expectIdentical(result.scalars, expected, "\(name) \(shape)")
        }
    }

    @Test(arguments: kernelShapes)
    func inPlaceOperatorsAndOperandsUntouched(shape: [Int]) throws {
        let x = randomNormalTensor(shape, seed: 1), y = randomNormalTensor(shape, seed: 2)
        var sum = x, difference = x, product = x, quotient = x
        try sum.add(y)
        try difference.subtract(y)
        try product.multiply(by: y)
        try quotient.divide(by: y)
        expectIdentical(sum.scalars, zipReference(x, y, +), "add \(shape)")
        expectIdentical(difference.scalars, zipReference(x, y, -), "subtract \(shape)")
        expectIdentical(product.scalars, zipReference(x, y, *), "multiply \(shape)")
        expectIdentical(quotient.scalars, zipReference(x, y, /), "divide \(shape)")
        #expect(x == randomNormalTensor(shape, seed: 1) && y == randomNormalTensor(shape, seed: 2))
    }

    @Test(arguments: kernelShapes)
    func addScaled(shape: [Int]) throws {
        let x = randomNormalTensor(shape, seed: 1), y = randomNormalTensor(shape, seed: 2)
        let alpha: Float = -0.37
        var result = y
        try result.addScaled(x, by: alpha)
        let (xs, ys, a) = (doubles(x), doubles(y), Double(alpha))
        var exact = ys
        for i in 0..<xs.count { exact[i] += a * xs[i] }
        expectClose(doubles(result), exact, "addScaled \(shape)",
                    tolerance: { i in 2 * u * (abs(a * xs[i]) + abs(ys[i])) })
    }

    @Test(arguments: kernelShapes)
    func scaleAndAdd(shape: [Int]) throws {
        let x = randomNormalTensor(shape, seed: 1), y = randomNormalTensor(shape, seed: 2)
        let alpha: Float = 0.9, beta: Float = -1.7
        var result = y
        try result.scaleAndAdd(x, alpha: alpha, beta: beta)
        let (xs, ys, a, b) = (doubles(x), doubles(y), Double(alpha), Double(beta))
        var exact = ys
        for i in 0..<xs.count { exact[i] = a * xs[i] + b * ys[i] }
        expectClose(doubles(result), exact, "scaleAndAdd \(shape)",
                    tolerance: { i in 3 * u * (abs(a * xs[i]) + abs(b * ys[i])) })
    }

    @Test(arguments: kernelShapes)
    func scalarOperators(shape: [Int]) {
        let x = randomNormalTensor(shape, seed: 1)
        let s: Float = 1.3
        func ref(_ op: (Double) -> Double) -> [Float] { mapReference(x, op) }
        let sd = Double(s)
        expectIdentical((x + s).scalars, ref { $0 + sd }, "x + s \(shape)")
        expectIdentical((x - s).scalars, ref { $0 - sd }, "x - s \(shape)")
        expectIdentical((x * s).scalars, ref { $0 * sd }, "x * s \(shape)")
        expectIdentical((s * x).scalars, ref { sd * $0 }, "s * x \(shape)")
        expectIdentical((x / s).scalars, ref { $0 / sd }, "x / s \(shape)")
        expectIdentical((-x).scalars, ref { -$0 }, "-x \(shape)")
        var scaled = x
        scaled.scale(by: s)
        expectIdentical(scaled.scalars, ref { $0 * sd }, "scale(by:) \(shape)")
        var filled = x
        filled.fill(with: -2)
        #expect(filled.shape == shape && filled.scalars.allSatisfy { $0 == -2 })
        #expect((x + s).shape == shape && (-x).shape == shape)
    }

    @Test(arguments: kernelShapes)
    func mapAppliesTheClosureAtEveryIndex(shape: [Int]) {
        let x = randomNormalTensor(shape, seed: 2)
        // A closure whose result depends on the value only, compared with the same closure
        // applied in a plain loop: the kernel's job is to visit every index exactly once.
        let f: @Sendable (Float) -> Float = { $0 * $0 - 0.5 * $0 + 1 }
        var expected = x.scalars
        for i in 0..<expected.count { expected[i] = f(expected[i]) }
        expectIdentical(x.map(f).scalars, expected, "map \(shape)")
        var inPlace = x
        inPlace.mapInPlace(f)
        expectIdentical(inPlace.scalars, expected, "mapInPlace \(shape)")
        #expect(x == randomNormalTensor(shape, seed: 2), "map mutated its receiver")
    }

    @Test func specialValuesFollowIEEE() throws {
        let x = Tensor([.infinity, -.infinity, .nan, 0, -0.0, 1, 3])
        let y = Tensor([1, .infinity, 1, 0, 1, 0, -.infinity])
        expectIdentical((try x + y).scalars, zipReference(x, y, +), "+ on ±inf / NaN")
        expectIdentical((try x * y).scalars, zipReference(x, y, *), "* on ±inf / NaN")
        expectIdentical((try x / y).scalars, zipReference(x, y, /), "/ on ±inf / NaN")
        let sum = try x + y, quotient = try x / y
        #expect(sum[flat: 1].isNaN && quotient[flat: 5] == .infinity)
    }
}
