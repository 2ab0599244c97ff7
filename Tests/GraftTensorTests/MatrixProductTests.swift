import Synchronization
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

/// Products large enough (m·n·k ≥ `BLAS.parallelMultiplyAdds`) that `BLAS.gemm` splits C over
/// the threads on a machine with two cores or more: one wider than tall (split into blocks of
/// columns, with a ragged last block) and one taller than wide (blocks of rows), each with
/// all four transpose combinations.
let splitProductCases: [ProductCase] = [(96, 130, 100), (200, 90, 70)]
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
        try checkAgainstTripleLoop(c)
    }

    /// The blocks of a split product (one `cblas_sgemm` per thread) tile C exactly: every
    /// entry is right, none is left out or written twice.
    @Test(arguments: splitProductCases)
    func splitProductsMatchTheTripleLoop(_ c: ProductCase) throws {
        #expect(c.m * c.n * c.k >= BLAS.parallelMultiplyAdds)
        try checkAgainstTripleLoop(c)
    }

    /// A product started from inside a parallel kernel (the pool is busy) runs its blocks on
    /// the calling thread: the same blocks, so the same bits as on the pool.
    @Test func aProductInsideAParallelKernelRunsInlineWithTheSameResult() throws {
        let a = randomNormalTensor([96, 130], seed: 38), b = randomNormalTensor([130, 100], seed: 39)
        let outside = try Tensor.matmul(a, b)
        let results = Mutex<[Tensor?]>([nil, nil])
        Parallel.forEach(iterations: 2) { i in
            let inside = try! Tensor.matmul(a, b)  // shapes are fixed above
            results.withLock { $0[i] = inside }
        }
        for inside in results.withLock({ $0 }) { expectIdentical(inside?.scalars ?? [], outside.scalars, "product inside a kernel") }
    }

    /// A split product of sub-matrices (`lda`, `ldb`, `ldc` wider than the blocks, as attention's
    /// per-head products) equals the product of the same blocks copied out, bit for bit: the
    /// columns of C outside the block are not touched.
    @Test(arguments: [false, true])
    func splitProductOfSubMatricesEqualsTheCopiedBlocks(transposeB: Bool) throws {
        let (m, k, n, pad) = (96, 130, 100, 7)
        let a = randomNormalTensor([m, k + pad], seed: 40)
        let b = randomNormalTensor(transposeB ? [n, k + pad] : [k, n + pad], seed: 41)
        var c = [Float](repeating: .nan, count: m * (n + pad))
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    BLAS.gemm(transposeA: false, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress! + pad, lda: k + pad,
                              b: bp.baseAddress!, ldb: transposeB ? k + pad : n + pad, beta: 0, c: cp.baseAddress!, ldc: n + pad)
                }
            }
        }
        /// Rows `0..<rows` of a row-major matrix with `stride` columns, columns `from ..< from + width`.
        func block(_ t: Tensor, rows: Int, stride: Int, from: Int, width: Int) throws -> Tensor {
            let all = t.scalars
            var out: [Float] = []
            for r in 0..<rows { out += all[(r * stride + from)..<(r * stride + from + width)] }
            return try Tensor(shape: [rows, width], scalars: out)
        }
        let aBlock = try block(a, rows: m, stride: k + pad, from: pad, width: k)
        let bBlock = transposeB ? try block(b, rows: n, stride: k + pad, from: 0, width: k)
                                : try block(b, rows: k, stride: n + pad, from: 0, width: n)
        let expected = try Tensor.matmul(aBlock, transposed: false, bBlock, transposed: transposeB)
        for r in 0..<m {
            expectIdentical(Array(c[(r * (n + pad))..<(r * (n + pad) + n)]), Array(expected.scalars[(r * n)..<(r * n + n)]), "row \(r)")
            #expect(c[(r * (n + pad) + n)..<((r + 1) * (n + pad))].allSatisfy { $0.isNaN }, "row \(r): padding written")
        }
    }

    private func checkAgainstTripleLoop(_ c: ProductCase) throws {
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
