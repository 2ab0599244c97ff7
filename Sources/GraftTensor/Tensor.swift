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

    /// A tensor of `shape` with every element equal to `value` (zeros by default): the
    /// initialiser for shapes that come from user data.
    /// - Throws: `TensorError.invalidShape` for a negative dimension or an overflowing count.
    public init(shape: [Int], repeating value: Float = 0) throws {
        let n = try Tensor.elementCount(of: shape)
        self.shape = shape
        self.storage = [Float](repeating: value, count: n)
    }

    /// A tensor of zeros, for shapes known to be valid. An invalid shape stops the program
    /// with the `TensorError` message in every build configuration; use
    /// `try Tensor(shape:repeating:)` for shapes from user data.
    public init(zeros shape: [Int]) {
        self.init(repeating: 0, shape: shape)
    }

    /// A tensor with every element equal to `value`, for shapes known to be valid (as
    /// `init(zeros:)`; `try Tensor(shape:repeating:)` throws instead).
    public init(repeating value: Float, shape: [Int]) {
        do { try self.init(shape: shape, repeating: value) } catch {
            preconditionFailureWithMessage("Tensor(repeating:shape:): \(error)")
        }
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
    /// `shape` must be valid, as for `init(zeros:)`.
    public static func randomNormal(shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(zeros: shape)
        t.storage.withUnsafeMutableBufferPointer { buf in
            for i in 0..<buf.count { buf[i] = mean + standardDeviation * generator.nextNormal() }
        }
        return t
    }

    /// Samples uniformly from `[lower, upper)` using `generator` (`nextFloat(in:_:)`).
    /// `shape` must be valid, as for `init(zeros:)`.
    public static func randomUniform(shape: [Int], lower: Float = 0, upper: Float = 1,
                                     generator: inout SeededGenerator) -> Tensor {
        var t = Tensor(zeros: shape)
        t.storage.withUnsafeMutableBufferPointer { buf in
            for i in 0..<buf.count { buf[i] = generator.nextFloat(in: lower, upper) }
        }
        return t
    }

    /// Element `index` in row-major order. An index outside `0..<count` stops the program
    /// with a message in every build configuration (`element(at:)` throws instead).
    @inlinable public subscript(flat index: Int) -> Float {
        get {
            checkPrecondition(index >= 0 && index < storage.count, "flat index \(index) out of bounds for shape \(shape)")
            return storage[index]
        }
        set {
            checkPrecondition(index >= 0 && index < storage.count, "flat index \(index) out of bounds for shape \(shape)")
            storage[index] = newValue
        }
    }

    /// Element at a multi-dimensional index. A wrong rank or an out-of-range index stops the
    /// program with a message in every build configuration (`element(at:)` throws instead).
    public subscript(_ index: Int...) -> Float {
        get { storage[trappingFlatIndex(index)] }
        set { storage[trappingFlatIndex(index)] = newValue }
    }

    /// The element at `index` (one entry per dimension; `[]` for a scalar).
    /// - Throws: `TensorError.indexOutOfBounds` for a wrong rank or an out-of-range entry.
    public func element(at index: [Int]) throws -> Float {
        storage[try flatIndex(index)]
    }

    /// Sets the element at `index` to `value`.
    /// - Throws: `TensorError.indexOutOfBounds` for a wrong rank or an out-of-range entry.
    public mutating func setElement(_ value: Float, at index: [Int]) throws {
        storage[try flatIndex(index)] = value
    }

    private func trappingFlatIndex(_ index: [Int]) -> Int {
        do { return try flatIndex(index) } catch { preconditionFailureWithMessage("\(error)") }
    }

    /// `Σ_k index[k] · stride[k]` (row-major).
    private func flatIndex(_ index: [Int]) throws -> Int {
        guard index.count == shape.count else { throw TensorError.indexOutOfBounds(index: index, shape: shape) }
        var flat = 0
        for (i, d) in zip(index, shape) {
            guard i >= 0 && i < d else { throw TensorError.indexOutOfBounds(index: index, shape: shape) }
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
