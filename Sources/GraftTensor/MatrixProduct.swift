import COpenBLAS
import Synchronization

/// Matrix products through OpenBLAS (`cblas_sgemm`, `cblas_sgemv`), plus the small
/// matrix helpers layers need (bias over rows, transpose).
public enum BLAS {
    /// Converts a dimension to the `Int32` OpenBLAS takes, trapping on overflow (a
    /// programmer error: layer sizes are validated when layers are built).
    @inline(__always) static func i32(_ n: Int) -> Int32 {
        checkPrecondition(n >= 0 && n <= Int(Int32.max), "dimension \(n) does not fit OpenBLAS's Int32")
        return Int32(n)
    }

    /// `C ← alpha · op(A) · op(B) + beta · C` for row-major buffers, where `op(A)` is `m × k`
    /// and `op(B)` is `k × n`; `A` is stored `m × k` (or `k × m` when `transposeA`), `B`
    /// `k × n` (or `n × k` when `transposeB`), `C` is `m × n`.
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            beta: Float, c: UnsafeMutablePointer<Float>) {
        gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
             a: a, lda: transposeA ? m : k, b: b, ldb: transposeB ? k : n, beta: beta, c: c, ldc: n)
    }

    /// `gemm` on sub-matrices of larger row-major buffers: row `i` of the stored `A` starts at
    /// `a + i · lda` (likewise `B` with `ldb`, `C` with `ldc`), so a `[tokens, headWidth]`
    /// slice of a `[tokens, width]` matrix is passed with `ld = width` and no copy
    /// (multi-head attention's per-head products).
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C scaled by beta when k = 0; make that explicit (beta 0 clears NaNs).
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        _ = openBLASSingleThreaded
        let parts = parallelParts(m: m, n: n, k: k)
        guard parts > 1 else {
            sgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        // Split C into `parts` blocks of whole columns (or rows, when C is taller than wide),
        // multiples of 16 wide: each is an independent single-threaded product on one thread.
        let splitsColumns = n >= m
        let length = splitsColumns ? n : m
        let per = ((length + parts - 1) / parts + 15) / 16 * 16
        Parallel.runOrInline(iterations: (length + per - 1) / per, threads: parts) { p in
            let lo = p * per, hi = Swift.min(length, lo + per)
            guard lo < hi else { return }
            if splitsColumns {
                sgemm(transposeA, transposeB, m, hi - lo, k, alpha, a, lda, transposeB ? b + lo * ldb : b + lo, ldb,
                      beta, c + lo, ldc)
            } else {
                sgemm(transposeA, transposeB, hi - lo, n, k, alpha, transposeA ? a + lo : a + lo * lda, lda, b, ldb,
                      beta, c + lo * ldc, ldc)
            }
        }
    }

    /// One `cblas_sgemm` call (OpenBLAS single-threaded, see `threads`).
    @inline(__always) static func sgemm(_ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                                        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                                        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    i32(m), i32(n), i32(k), alpha, a, i32(lda), b, i32(ldb), beta, c, i32(ldc))
    }

    /// Multiply-adds (m·n·k) from which a product is split over threads: about 20 µs of one
    /// core's sgemm, where a pool dispatch (a few µs) is paid back.
    public static let parallelMultiplyAdds = 1 << 20

    /// How many threads a product of this shape runs on: `threads` (at most one per core),
    /// fewer when the split dimension has under 32 columns (rows) per thread, 1 below
    /// `parallelMultiplyAdds`.
    static func parallelParts(m: Int, n: Int, k: Int) -> Int {
        let threads = BLAS.threads
        let (mn, wide) = m.multipliedReportingOverflow(by: n)
        let (mnk, deep) = mn.multipliedReportingOverflow(by: k)
        guard threads > 1, wide || deep || mnk >= parallelMultiplyAdds else { return 1 }
        return Swift.max(1, Swift.min(threads, System.activeProcessorCount, Swift.max(m, n) / 32))
    }

    /// OpenBLAS is kept single-threaded, once, before the first product.
    private static let openBLASSingleThreaded: Void = { openblas_set_num_threads(1) }()
    private static let threadSetting = Atomic<Int>(0)

    /// `y ← alpha · op(A) · x + beta · y` with `A` stored row-major `rows × cols`.
    public static func gemv(transpose: Bool, rows: Int, cols: Int, alpha: Float, a: UnsafePointer<Float>,
                            x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>) {
        let outCount = transpose ? cols : rows
        guard outCount > 0 else { return }
        if (transpose ? rows : cols) == 0 {
            for i in 0..<outCount { y[i] = beta == 0 ? 0 : beta * y[i] }
            return
        }
        _ = openBLASSingleThreaded
        cblas_sgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, i32(rows), i32(cols), alpha, a, i32(cols),
                    x, 1, beta, y, 1)
    }

    /// OpenBLAS's build configuration (for example `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64`).
    public static var configuration: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p)
    }

    /// The number of threads a matrix product runs on: `Parallel.threads` unless set (0 or
    /// less goes back to following it), at most one per core.
    ///
    /// Graft keeps OpenBLAS itself single-threaded and splits a large product (at least
    /// `parallelMultiplyAdds` multiply-adds) into blocks of C, one per thread of Graft's own pool,
    /// each an independent `cblas_sgemm` call; smaller products stay on the calling thread, as
    /// does a product started from inside a parallel kernel. OpenBLAS's own worker threads
    /// would spin for up to ~0.1 s after each product (its `THREAD_TIMEOUT`), taking a core
    /// from the optimizer step and the elementwise layers that follow a GEMM; the pool's
    /// workers spin 50 µs (`Parallel.spinMicroseconds`) and run in the caller's floating-point mode.
    public static var threads: Int {
        get {
            let t = threadSetting.load(ordering: .relaxed)
            return t > 0 ? t : Parallel.threads
        }
        set { threadSetting.store(Swift.max(0, newValue), ordering: .relaxed) }
    }

    /// The kernel family OpenBLAS selected at load time (for example `Prescott`, `Cooperlake`).
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }
}

extension Tensor {
    /// `op(a) · op(b)` for rank-2 tensors, through `cblas_sgemm`.
    /// - Throws: `rankMismatch` unless both are matrices, `shapeMismatch` when the inner
    ///   dimensions differ (naming both shapes and the transposes).
    public static func matmul(_ a: Tensor, transposed transposeA: Bool = false,
                              _ b: Tensor, transposed transposeB: Bool = false) throws -> Tensor {
        guard a.rank == 2 else { throw TensorError.rankMismatch(operation: "matmul", expected: 2, shape: a.shape) }
        guard b.rank == 2 else { throw TensorError.rankMismatch(operation: "matmul", expected: 2, shape: b.shape) }
        let (m, ka) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard ka == kb else {
            throw TensorError.shapeMismatch(operation: "matmul(\(transposeA ? "Aᵀ" : "A") · \(transposeB ? "Bᵀ" : "B"))",
                                            lhs: a.shape, rhs: b.shape)
        }
        var c = Tensor(zeros: [m, n])
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    guard let a0 = ap.baseAddress, let b0 = bp.baseAddress, let c0 = cp.baseAddress else { return }
                    BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: ka,
                              alpha: 1, a: a0, b: b0, beta: 0, c: c0)
                }
            }
        }
        return c
    }

    /// `op(a) · x` for a matrix `a` and a vector `x`, through `cblas_sgemv`.
    public static func matvec(_ a: Tensor, transposed: Bool = false, _ x: Tensor) throws -> Tensor {
        guard a.rank == 2 else { throw TensorError.rankMismatch(operation: "matvec", expected: 2, shape: a.shape) }
        guard x.rank == 1 else { throw TensorError.rankMismatch(operation: "matvec", expected: 1, shape: x.shape) }
        let (rows, cols) = (a.shape[0], a.shape[1])
        guard (transposed ? rows : cols) == x.count else {
            throw TensorError.shapeMismatch(operation: transposed ? "matvec(Aᵀ · x)" : "matvec(A · x)", lhs: a.shape, rhs: x.shape)
        }
        var y = Tensor(zeros: [transposed ? cols : rows])
        a.withUnsafeBufferPointer { ap in
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    guard let a0 = ap.baseAddress, let x0 = xp.baseAddress, let y0 = yp.baseAddress else { return }
                    BLAS.gemv(transpose: transposed, rows: rows, cols: cols, alpha: 1, a: a0, x: x0, beta: 0, y: y0)
                }
            }
        }
        return y
    }

    /// Adds `bias` (shape `[n]`) to every row of this `[m, n]` matrix.
    public mutating func addRowBias(_ bias: Tensor) throws {
        guard rank == 2, bias.rank == 1, bias.count == shape[1] else {
            throw TensorError.shapeMismatch(operation: "addRowBias", lhs: shape, rhs: bias.shape)
        }
        let (m, n) = (shape[0], shape[1])
        bias.withUnsafeBufferPointer { b in
            withUnsafeMutableBufferPointer { x in
                for r in 0..<m {
                    for c in 0..<n { x[r * n + c] += b[c] }
                }
            }
        }
    }

    /// The transpose of a rank-2 tensor.
    public func transposed() throws -> Tensor {
        guard rank == 2 else { throw TensorError.rankMismatch(operation: "transposed", expected: 2, shape: shape) }
        let (m, n) = (shape[0], shape[1])
        var out = Tensor(zeros: [n, m])
        withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<m {
                    for c in 0..<n { o[c * m + r] = x[r * n + c] }
                }
            }
        }
        return out
    }
}
