/// Elementwise arithmetic. Tensor–tensor operations require identical shapes (no
/// broadcasting: a silent broadcast is how shape bugs hide) and throw
/// `TensorError.shapeMismatch` naming both shapes otherwise. Large tensors are split over
/// the cores.
extension Tensor {
    private func zipped(_ other: Tensor, _ name: String, _ op: @escaping (Float, Float) -> Float) throws -> Tensor {
        try checkSameShape(other, name)
        var out = Tensor(zeros: shape)
        let n = count
        withUnsafeBufferPointer { x in
            other.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { o in
                    let xp = x.baseAddress, yp = y.baseAddress, op_ = o.baseAddress
                    Parallel.forChunks(count: n) { r in
                        for i in r { op_![i] = op(xp![i], yp![i]) }
                    }
                }
            }
        }
        return out
    }

    private mutating func zipInPlace(_ other: Tensor, _ name: String, _ op: @escaping (Float, Float) -> Float) throws {
        try checkSameShape(other, name)
        let n = count
        other.withUnsafeBufferPointer { y in
            withUnsafeMutableBufferPointer { x in
                let xp = x.baseAddress, yp = y.baseAddress
                Parallel.forChunks(count: n) { r in
                    for i in r { xp![i] = op(xp![i], yp![i]) }
                }
            }
        }
    }

    /// Elementwise sum. Throws on a shape mismatch.
    public static func + (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipped(rhs, "add", +) }
    /// Elementwise difference. Throws on a shape mismatch.
    public static func - (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipped(rhs, "subtract", -) }
    /// Elementwise (Hadamard) product. Throws on a shape mismatch.
    public static func * (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipped(rhs, "multiply", *) }
    /// Elementwise quotient. Throws on a shape mismatch.
    public static func / (lhs: Tensor, rhs: Tensor) throws -> Tensor { try lhs.zipped(rhs, "divide", /) }

    /// `self += other`.
    public mutating func add(_ other: Tensor) throws { try zipInPlace(other, "add", +) }
    /// `self -= other`.
    public mutating func subtract(_ other: Tensor) throws { try zipInPlace(other, "subtract", -) }
    /// `self *= other` elementwise.
    public mutating func multiply(by other: Tensor) throws { try zipInPlace(other, "multiply", *) }
    /// `self /= other` elementwise.
    public mutating func divide(by other: Tensor) throws { try zipInPlace(other, "divide", /) }

    /// `self += alpha * x` (BLAS `axpy`).
    public mutating func addScaled(_ x: Tensor, by alpha: Float) throws {
        try checkSameShape(x, "addScaled")
        let n = count
        x.withUnsafeBufferPointer { xb in
            withUnsafeMutableBufferPointer { yb in
                let xp = xb.baseAddress, yp = yb.baseAddress
                Parallel.forChunks(count: n) { r in
                    for i in r { yp![i] += alpha * xp![i] }
                }
            }
        }
    }

    /// `self = alpha * x + beta * self` (BLAS `axpby`).
    public mutating func scaleAndAdd(_ x: Tensor, alpha: Float, beta: Float) throws {
        try checkSameShape(x, "scaleAndAdd")
        let n = count
        x.withUnsafeBufferPointer { xb in
            withUnsafeMutableBufferPointer { yb in
                let xp = xb.baseAddress, yp = yb.baseAddress
                Parallel.forChunks(count: n) { r in
                    for i in r { yp![i] = alpha * xp![i] + beta * yp![i] }
                }
            }
        }
    }

    /// Applies `op` to every element in place.
    public mutating func mapInPlace(_ op: @escaping (Float) -> Float) {
        let n = count
        withUnsafeMutableBufferPointer { x in
            let xp = x.baseAddress
            Parallel.forChunks(count: n) { r in
                for i in r { xp![i] = op(xp![i]) }
            }
        }
    }

    /// A tensor with `op` applied to every element.
    public func map(_ op: @escaping (Float) -> Float) -> Tensor {
        var out = self
        out.mapInPlace(op)
        return out
    }

    /// Multiplies every element by `a`.
    public mutating func scale(by a: Float) { mapInPlace { $0 * a } }

    /// Sets every element to `value`.
    public mutating func fill(with value: Float) { mapInPlace { _ in value } }

    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 + rhs } }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 - rhs } }
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 * rhs } }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 / rhs } }
    public static prefix func - (x: Tensor) -> Tensor { x.map { -$0 } }
}

/// Reductions (blocked accumulation: see `Vector`).
extension Tensor {
    /// `Σ x`.
    public func sum() -> Float { withUnsafeBufferPointer { Vector.sum($0) } }
    /// `Σ x / count` (NaN for an empty tensor).
    public func mean() -> Float { count == 0 ? .nan : sum() / Float(count) }
    /// `‖x‖²`.
    public func squaredNorm() -> Float { withUnsafeBufferPointer { Vector.sumOfSquares($0) } }
    /// `‖x‖`.
    public func norm() -> Float { squaredNorm().squareRoot() }
    /// The largest element (`-inf` when empty, NaN if any element is NaN).
    public func max() -> Float { withUnsafeBufferPointer { Vector.max($0) } }
    /// Whether every element is finite.
    public var isFinite: Bool { withUnsafeBufferPointer { Vector.allFinite($0) } }

    /// `<self, other>` over the whole tensor. Throws on a shape mismatch.
    public func dot(_ other: Tensor) throws -> Float {
        try checkSameShape(other, "dot")
        return withUnsafeBufferPointer { x in other.withUnsafeBufferPointer { y in Vector.dot(x, y) } }
    }

    /// Row-wise dot products over all but the first dimension: shape `[rowCount]`.
    public func rowDots(_ other: Tensor) throws -> Tensor {
        try checkSameShape(other, "rowDots")
        var out = Tensor(zeros: [rowCount])
        let rows = rowCount
        withUnsafeBufferPointer { x in
            other.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { o in Vector.rowDots(x, y, rows: rows, into: o) }
            }
        }
        return out
    }

    /// Row-wise squared L2 norms: shape `[rowCount]`.
    public func rowSquaredNorms() -> Tensor {
        var out = Tensor(zeros: [rowCount])
        let rows = rowCount
        withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in Vector.rowSumsOfSquares(x, rows: rows, into: o) }
        }
        return out
    }

    /// Row-wise L2 norms: shape `[rowCount]`.
    public func rowNorms() -> Tensor { rowSquaredNorms().map { $0.squareRoot() } }
}
