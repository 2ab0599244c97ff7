import Testing
import GraftTensor
import GraftTestSupport

/// One matrix-product case: logical sizes `op(A)` m×k, `op(B)` k×n, and the transposes.
struct ProductCase: Sendable, CustomStringConvertible {
    var m: Int, k: Int, n: Int
    var transposeA: Bool, transposeB: Bool
    var description: String { "\(transposeA ? "Aᵀ" : "A")[\(m)×\(k)]·\(transposeB ? "Bᵀ" : "B")[\(k)×\(n)]" }
}

/// Sizes from the issue (1×1, 3×7·7×5, 129×65·65×33) plus degenerate ones, each with all
/// four transpose combinations.
let productCases: [ProductCase] = [(1, 1, 1), (3, 7, 5), (129, 65, 33), (2, 0, 3), (0, 3, 4), (4, 3, 0)]
    .flatMap { m, k, n in
        [(false, false), (true, false), (false, true), (true, true)].map { ta, tb in
            ProductCase(m: m, k: k, n: n, transposeA: ta, transposeB: tb)
        }
    }

/// The row-major storage of the transpose of a `rows × cols` matrix (written out here, not
/// with `Tensor.transposed`, so the test does not trust the code under test).
func transposedStorage(_ t: Tensor) -> Tensor {
    let (rows, cols) = (t.shape[0], t.shape[1])
    var out = [Float](repeating: 0, count: t.count)
    for r in 0..<rows { for c in 0..<cols { out[c * rows + r] = t.scalars[r * cols + c] } }
    return try! Tensor(shape: [cols, rows], scalars: out)
}

/// Products against a naive triple loop in `Double`. Whatever order OpenBLAS sums in,
/// each entry is a k-term dot product, so its float32 error is at most
/// `γ_k·Σ_l |a_il·b_lj|` plus the final rounding, with `γ_k ≈ k·u`: the tolerance is
/// `(k + 2)·u·Σ_l |a_il·b_lj|`. A wrong transpose or leading dimension errs by O(1).
@Suite("Matrix products")
struct MatrixProductTests {
    @Test(arguments: productCases)
    func matmulMatchesTripleLoop(_ c: ProductCase) throws {
        let opA = randomNormalTensor([c.m, c.k], seed: 31), opB = randomNormalTensor([c.k, c.n], seed: 32)
        let a = c.transposeA ? transposedStorage(opA) : opA
        let b = c.transposeB ? transposedStorage(opB) : opB
        let product = try Tensor.matmul(a, transposed: c.transposeA, b, transposed: c.transposeB)
        #expect(product.shape == [c.m, c.n])

        var expected = [Double](repeating: 0, count: c.m * c.n), scale = expected
        for i in 0..<c.m {
            for j in 0..<c.n {
                for l in 0..<c.k {
                    let term = Double(opA.scalars[i * c.k + l]) * Double(opB.scalars[l * c.n + j])
                    expected[i * c.n + j] += term
                    scale[i * c.n + j] += abs(term)
                }
            }
        }
        expectClose(doubles(product), expected, "\(c)", tolerance: { Double(c.k + 2) * u * scale[$0] })
    }

    @Test(arguments: [(1, 1), (3, 7), (129, 65), (4, 0), (0, 5)])
    func matvecBothWays(rows: Int, cols: Int) throws {
        let a = randomNormalTensor([rows, cols], seed: 33)
        for transposed in [false, true] {
            let (outCount, inCount) = transposed ? (cols, rows) : (rows, cols)
            let x = randomNormalTensor([inCount], seed: 34)
            let y = try Tensor.matvec(a, transposed: transposed, x)
            #expect(y.shape == [outCount])
            var expected = [Double](repeating: 0, count: outCount), scale = expected
            for o in 0..<outCount {
                for i in 0..<inCount {
                    let entry = transposed ? a.scalars[i * cols + o] : a.scalars[o * cols + i]
                    let term = Double(entry) * Double(x.scalars[i])
                    expected[o] += term
                    scale[o] += abs(term)
                }
            }
            expectClose(doubles(y), expected, "matvec \(transposed ? "Aᵀx" : "Ax") [\(rows)×\(cols)]",
                        tolerance: { Double(inCount + 2) * u * scale[$0] })
        }
    }

    @Test func smallProductByHand() throws {
        let a = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = try Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12])
        #expect(try Tensor.matmul(a, b).scalars == [58, 64, 139, 154])
        #expect(try Tensor.matmul(a, transposed: true, a).scalars == [17, 22, 27, 22, 29, 36, 27, 36, 45])
        #expect(try Tensor.matvec(a, Tensor([1, 0, -1])).scalars == [-2, -2])
        #expect(try Tensor.matvec(a, transposed: true, Tensor([1, -1])).scalars == [-3, -3, -3])
    }

    @Test(arguments: [[1, 1], [3, 7], [0, 4], [5, 0], [129, 65]])
    func addRowBias(shape: [Int]) throws {
        let x = randomNormalTensor(shape, seed: 35), bias = randomNormalTensor([shape[1]], seed: 36)
        var result = x
        try result.addRowBias(bias)
        let cols = shape[1]
        let expected = x.scalars.indices.map { Float(Double(x.scalars[$0]) + Double(bias.scalars[$0 % cols])) }
        expectIdentical(result.scalars, expected, "addRowBias \(shape)")
        #expect(result.shape == shape)
    }

    @Test(arguments: [[1, 1], [3, 7], [0, 4], [5, 0], [129, 65]])
    func transposeMovesEveryElement(shape: [Int]) throws {
        let x = randomNormalTensor(shape, seed: 37)
        let t = try x.transposed()
        #expect(t == transposedStorage(x))
        #expect(try t.transposed() == x)
    }

    @Test func rankErrorsNameTheShape() throws {
        let vector = Tensor(zeros: [4]), matrix = Tensor(zeros: [3, 3]), cube = Tensor(zeros: [2, 3, 4])
        let attempts: [(String, () throws -> Void)] = [
            ("matmul lhs", { _ = try Tensor.matmul(vector, matrix) }),
            ("matmul rhs", { _ = try Tensor.matmul(matrix, cube) }),
            ("matvec matrix", { _ = try Tensor.matvec(vector, vector) }),
            ("matvec vector", { _ = try Tensor.matvec(matrix, matrix) }),
            ("transposed", { _ = try cube.transposed() }),
        ]
        for (name, attempt) in attempts {
            do {
                try attempt()
                Issue.record("\(name) did not throw")
            } catch let error as TensorError {
                guard case .rankMismatch(_, _, let shape) = error else {
                    Issue.record("\(name) threw \(error), expected rankMismatch")
                    continue
                }
                #expect(error.description.contains("\(shape)") && error.description.contains("rank-"), "\(name): \(error)")
            }
        }
    }
}
