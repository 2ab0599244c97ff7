import GraftTensor

/// A scalar function `f: Float → Float` applied elementwise by `ElementwiseKernels`.
///
/// The kernels are generic over the function type rather than taking closures: each layer's
/// loop is then specialised with its function inlined (and vectorised where the function
/// allows), even inside the chunks `Parallel.forChunks` hands to worker threads, where a
/// captured closure would cost an indirect call per element.
protocol ScalarFunction {
    /// `f(x)`.
    func callAsFunction(_ x: Float) -> Float
}

/// A scalar function evaluated together with its derivative, `x ↦ (f(x), f′(x))`.
protocol ScalarFunctionWithDerivative {
    /// `(f(x), f′(x))`.
    func valueAndDerivative(_ x: Float) -> (value: Float, derivative: Float)
}

/// `f(x) = x`.
struct IdentityFunction: ScalarFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x }
}

/// Loops shared by the elementwise layers: they work on tensors of any shape, write into
/// buffers the layer owns (reallocated only when the shape changes) and split large
/// tensors over the cores with `Parallel.forChunks`.
enum ElementwiseKernels {
    /// `y[i] = f(x[i])`.
    static func map<F: ScalarFunction>(_ x: Tensor, into y: inout Tensor, _ f: F) {
        Workspace.prepare(&y, shape: x.shape)
        let n = x.count
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                guard let xp = xb.baseAddress, let yp = yb.baseAddress else { return }
                Parallel.forChunks(count: n) { range in
                    for i in range { yp[i] = f(xp[i]) }
                }
            }
        }
    }

    /// `(y[i], d[i]) = (f(x[i]), f′(x[i]))` in one pass, for functions whose derivative shares
    /// work with the value (GELU's exponential).
    static func map<F: ScalarFunctionWithDerivative>(_ x: Tensor, into y: inout Tensor, derivative d: inout Tensor, _ f: F) {
        Workspace.prepare(&y, shape: x.shape)
        Workspace.prepare(&d, shape: x.shape)
        let n = x.count
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                d.withUnsafeMutableBufferPointer { db in
                    guard let xp = xb.baseAddress, let yp = yb.baseAddress, let dp = db.baseAddress else { return }
                    Parallel.forChunks(count: n) { range in
                        for i in range {
                            let (v, dv) = f.valueAndDerivative(xp[i])
                            yp[i] = v
                            dp[i] = dv
                        }
                    }
                }
            }
        }
    }

    /// `dx[i] = g[i] · h(a[i])`, where `a` is a cached tensor of `g`'s shape (the output with
    /// `h` the derivative written in terms of the output, or a stored derivative or mask
    /// with `h` the identity).
    /// Throws as `Workspace.checkGradient` when `g` and `a` differ in shape.
    static func chain<H: ScalarFunction>(_ g: Tensor, _ a: Tensor, into dx: inout Tensor, layer: String, _ h: H) throws {
        try Workspace.checkGradient(g, matches: a, layer: layer)
        Workspace.prepare(&dx, shape: g.shape)
        let n = g.count
        g.withUnsafeBufferPointer { gb in
            a.withUnsafeBufferPointer { ab in
                dx.withUnsafeMutableBufferPointer { db in
                    guard let gp = gb.baseAddress, let ap = ab.baseAddress, let dp = db.baseAddress else { return }
                    Parallel.forChunks(count: n) { range in
                        for i in range { dp[i] = gp[i] * h(ap[i]) }
                    }
                }
            }
        }
    }
}
