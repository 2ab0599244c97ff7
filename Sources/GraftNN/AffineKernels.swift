import GraftTensor

/// The kernels of an affine map `Y = X Wᵀ + 1 bᵀ` on row-major buffers, shared by `Dense`
/// and `LoRA`. `X` is `[batch, in]`, `W` is `[out, in]`, `b` is `[out]`, `Y` is `[batch, out]`.
/// Products go through `BLAS.gemm`; bias loops are plain loops the compiler vectorises.
enum AffineKernels {
    /// `Y ← X Wᵀ + 1 bᵀ` (or `X Wᵀ` without a bias): each row of `Y` is first set to `b`,
    /// then `gemm` adds `X Wᵀ` with `beta = 1`.
    static func forward(input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias b: UnsafePointer<Float>?,
                        output y: UnsafeMutablePointer<Float>, batch: Int, inputs: Int, outputs: Int) {
        if let b {
            for r in 0..<batch { (y + r * outputs).update(from: b, count: outputs) }
        }
        BLAS.gemm(transposeA: false, transposeB: true, m: batch, n: outputs, k: inputs,
                  alpha: 1, a: x, b: w, beta: b == nil ? 0 : 1, c: y)
    }

    /// `dW ← dW + alpha · Gᵀ X` for `G` `[batch, out]`, `X` `[batch, in]`, `dW` `[out, in]`.
    static func accumulateWeightGradient(outputGradient g: UnsafePointer<Float>, input x: UnsafePointer<Float>,
                                         alpha: Float = 1, into dw: UnsafeMutablePointer<Float>,
                                         batch: Int, inputs: Int, outputs: Int) {
        BLAS.gemm(transposeA: true, transposeB: false, m: outputs, n: inputs, k: batch,
                  alpha: alpha, a: g, b: x, beta: 1, c: dw)
    }

    /// `db ← db + Σ_r G[r, :]` (column sums of `G`).
    static func accumulateBiasGradient(outputGradient g: UnsafePointer<Float>, into db: UnsafeMutablePointer<Float>,
                                       batch: Int, outputs: Int) {
        for r in 0..<batch {
            let row = g + r * outputs
            for j in 0..<outputs { db[j] += row[j] }
        }
    }

    /// `dX ← G W + beta · dX` for `G` `[batch, out]`, `W` `[out, in]`, `dX` `[batch, in]`.
    static func inputGradient(outputGradient g: UnsafePointer<Float>, weight w: UnsafePointer<Float>,
                              alpha: Float = 1, beta: Float = 0, into dx: UnsafeMutablePointer<Float>,
                              batch: Int, inputs: Int, outputs: Int) {
        BLAS.gemm(transposeA: false, transposeB: false, m: batch, n: inputs, k: outputs,
                  alpha: alpha, a: g, b: w, beta: beta, c: dx)
    }
}
