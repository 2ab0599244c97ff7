/// A dense, row-major tensor of `Float` with value semantics.
///
/// Storage is one contiguous `[Float]`, so a copy of a `Tensor` shares storage until
/// either copy is mutated (copy on write): a copy never aliases. Hot code reaches the
/// scalars through `withUnsafeBufferPointer` / `withUnsafeMutableBufferPointer`.
public struct Tensor: Sendable, Equatable, Hashable {
    /// The size of each dimension, outermost first. `[]` is a scalar (one element).
    public private(set) var shape: [Int]
    /// The row-major storage (copy on write through `Array`).
    @usableFromInline var storage: [Float]
    /// The scalars in row-major order.
    @inlinable public var scalars: [Float] { storage }

    /// The number of elements (the product of `shape`).
    @inlinable public var count: Int { scalars.count }
    /// The number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// Creates a tensor from row-major scalars.
    /// - Throws: `TensorError.countMismatch` when `scalars.count` is not the product of `shape`,
    ///   `TensorError.invalidShape` for a negative dimension or an overflowing count.
    public init(shape: [Int], scalars: [Float]) throws {
        let expected = try Tensor.elementCount(of: shape)
        guard expected == scalars.count else {
            throw TensorError.countMismatch(shape: shape, expected: expected, actual: scalars.count)
        }
        self.shape = shape
        self.storage = scalars
    }

    /// Creates a rank-1 tensor holding `scalars`.
    public init(_ scalars: [Float]) {
        self.shape = [scalars.count]
        self.storage = scalars
    }

    /// A tensor of zeros. Traps on a negative dimension (use `elementCount(of:)` to validate
    /// untrusted shapes first).
    public init(zeros shape: [Int]) {
        self.init(repeating: 0, shape: shape)
    }

    /// A tensor with every element equal to `value`.
    public init(repeating value: Float, shape: [Int]) {
        let n: Int
        do { n = try Tensor.elementCount(of: shape) } catch { preconditionFailure("\(error)") }
        self.shape = shape
        self.storage = [Float](repeating: value, count: n)
    }

    /// The number of elements of `shape`.
    ///
    /// The product of the non-zero dimensions must fit in `Int` even when a zero dimension
    /// makes the count 0 (row-major strides are products of trailing dimensions), so the
    /// verdict does not depend on the order of the dimensions.
    /// - Throws: `TensorError.invalidShape` for a negative dimension or an overflow.
    public static func elementCount(of shape: [Int]) throws -> Int {
        var n = 1
        var hasZero = false
        for d in shape {
            guard d >= 0 else { throw TensorError.invalidShape(shape: shape, reason: "negative dimension \(d)") }
            if d == 0 { hasZero = true; continue }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow else { throw TensorError.invalidShape(shape: shape, reason: "element count overflows") }
            n = p
        }
        return hasZero ? 0 : n
    }

    /// Samples from a normal distribution N(mean, std²) using `generator` (Box–Muller on
    /// Xoshiro256** output: portable, the same seed gives the same tensor everywhere).
    public static func randomNormal(shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(zeros: shape)
        t.storage.withUnsafeMutableBufferPointer { buf in
            for i in 0..<buf.count { buf[i] = mean + standardDeviation * generator.nextNormal() }
        }
        return t
    }

    /// Samples uniformly from `[lower, upper)` using `generator` (`nextFloat(in:_:)`).
    public static func randomUniform(shape: [Int], lower: Float = 0, upper: Float = 1,
                                     generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(zeros: shape)
        t.storage.withUnsafeMutableBufferPointer { buf in
            for i in 0..<buf.count { buf[i] = generator.nextFloat(in: lower, upper) }
        }
        return t
    }

    /// Element `index` in row-major order.
    @inlinable public subscript(flat index: Int) -> Float {
        get { storage[index] }
        set { storage[index] = newValue }
    }

    /// Element at a multi-dimensional index (bounds are checked).
    public subscript(_ index: Int...) -> Float {
        get { storage[flatIndex(index)] }
        set { storage[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "index \(index) has the wrong rank for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "index \(index) out of bounds for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    /// The same scalars with another shape of the same element count.
    public func reshaped(to newShape: [Int]) throws -> Tensor {
        try Tensor(shape: newShape, scalars: scalars)
    }

    /// Calls `body` with the scalars.
    @inlinable public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with mutable access to the scalars (making storage unique first).
    @inlinable public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }

    /// Rows when viewed as a matrix `[shape[0], count / shape[0]]` (a scalar is one row).
    @inlinable public var rowCount: Int { shape.isEmpty ? 1 : shape[0] }
    /// Elements per row (the product of every dimension but the first).
    @inlinable public var rowLength: Int { rowCount == 0 ? 0 : count / rowCount }

    /// Throws `shapeMismatch` unless `other` has this tensor's shape.
    @inlinable public func checkSameShape(_ other: Tensor, _ operation: String) throws {
        guard shape == other.shape else {
            throw TensorError.shapeMismatch(operation: operation, lhs: shape, rhs: other.shape)
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

extension Tensor {
    /// A pointer to this tensor's storage, made unique first.
    ///
    /// The pointer stays valid while the tensor lives and is neither copied-and-mutated nor
    /// reassigned; optimizers use it to hold several tensors' storage at once during one
    /// step, when nesting `withUnsafeMutableBufferPointer` calls is impractical. Do not keep
    /// it across API calls that may mutate the tensor.
    public mutating func unsafeMutableStorage() -> UnsafeMutableBufferPointer<Float> {
        storage.withUnsafeMutableBufferPointer { $0 }
    }

    /// A read-only pointer to this tensor's storage, valid under the rules of
    /// `unsafeMutableStorage()`.
    public func unsafeStorage() -> UnsafeBufferPointer<Float> {
        storage.withUnsafeBufferPointer { $0 }
    }
}

extension Tensor: Codable {
    private enum CodingKeys: String, CodingKey { case shape, scalars }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(shape: try c.decode([Int].self, forKey: .shape), scalars: try c.decode([Float].self, forKey: .scalars))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(shape, forKey: .shape)
        try c.encode(storage, forKey: .scalars)
    }
}
