import GraftTensor

/// Loops shared by the elementwise activations: they work on tensors of any shape, write
/// into buffers the layer owns (reallocated only when the shape changes) and split large
/// tensors over the cores with `Parallel.forChunks`.
enum ElementwiseKernels {
    /// `y[i] = op(x[i])`.
    @inline(__always)
    static func map(_ x: Tensor, into y: inout Tensor, _ op: (Float) -> Float) {
        Workspace.prepare(&y, shape: x.shape)
        let n = x.count
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                guard let xp = xb.baseAddress, let yp = yb.baseAddress else { return }
                Parallel.forChunks(count: n) { range in
                    for i in range { yp[i] = op(xp[i]) }
                }
            }
        }
    }

    /// `(y[i], d[i]) = op(x[i])`: the value and the derivative `f′(x[i])` in one pass, for
    /// activations whose derivative shares work with the value (GELU's `tanh`).
    @inline(__always)
    static func map(_ x: Tensor, into y: inout Tensor, derivative d: inout Tensor,
                    _ op: (Float) -> (value: Float, derivative: Float)) {
        Workspace.prepare(&y, shape: x.shape)
        Workspace.prepare(&d, shape: x.shape)
        let n = x.count
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                d.withUnsafeMutableBufferPointer { db in
                    guard let xp = xb.baseAddress, let yp = yb.baseAddress, let dp = db.baseAddress else { return }
                    Parallel.forChunks(count: n) { range in
                        for i in range {
                            let (v, dv) = op(xp[i])
                            yp[i] = v
                            dp[i] = dv
                        }
                    }
                }
            }
        }
    }

    /// `dx[i] = g[i] · op(a[i])`, where `a` is a cached tensor of `g`'s shape (the output,
    /// or a stored derivative with `op` the identity).
    @inline(__always)
    static func chain(_ g: Tensor, _ a: Tensor, into dx: inout Tensor, _ op: (Float) -> Float) {
        precondition(g.shape == a.shape, "output gradient \(g.shape) does not match the last output \(a.shape) (call forward first)")
        Workspace.prepare(&dx, shape: g.shape)
        let n = g.count
        g.withUnsafeBufferPointer { gb in
            a.withUnsafeBufferPointer { ab in
                dx.withUnsafeMutableBufferPointer { db in
                    guard let gp = gb.baseAddress, let ap = ab.baseAddress, let dp = db.baseAddress else { return }
                    Parallel.forChunks(count: n) { range in
                        for i in range { dp[i] = gp[i] * op(ap[i]) }
                    }
                }
            }
        }
    }

    /// `y[i] = op(a[i], b[i])` for two tensors of one shape.
    @inline(__always)
    static func map2(_ a: Tensor, _ b: Tensor, into y: inout Tensor, _ op: (Float, Float) -> Float) {
        precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape) differ")
        Workspace.prepare(&y, shape: a.shape)
        let n = a.count
        a.withUnsafeBufferPointer { ab in
            b.withUnsafeBufferPointer { bb in
                y.withUnsafeMutableBufferPointer { yb in
                    guard let ap = ab.baseAddress, let bp = bb.baseAddress, let yp = yb.baseAddress else { return }
                    Parallel.forChunks(count: n) { range in
                        for i in range { yp[i] = op(ap[i], bp[i]) }
                    }
                }
            }
        }
    }
}
