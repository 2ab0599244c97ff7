import GraftTensor

/// A lookup table from token ids to vectors (PyTorch's `nn.Embedding`): for ids of any
/// shape `[d₁, …, d_k]` (stored as whole-number `Float`s, `0 ≤ id < vocabularySize`) the
/// output is `[d₁, …, d_k, width]` with `y[…, :] = W[id, :]`.
///
/// `weight` is `W ∈ ℝ^{vocabularySize × width}`, initialised `N(0, 1)` like PyTorch.
/// Backward scatters: `∂L/∂W[v, :] += Σ_{positions with id v} g[…, :]`. Ids are not
/// differentiable, so the returned input gradient is zero (of the ids' shape).
///
/// An id that is not a whole number in range makes `forward` throw `LayerError.invalidTokenID`
/// (naming the position and the input's shape) before it writes anything;
/// `Embedding.validate(_:)` runs the same check on its own.
public final class Embedding: Layer {
    /// The number of rows of the table.
    public let vocabularySize: Int
    /// The length of each vector.
    public let width: Int
    /// `W`, shape `[vocabularySize, width]`, path segment `"weight"`.
    public let weight: Parameter

    private var ids = Tensor(zeros: [0])
    private var output = Tensor(zeros: [0, 0])
    private var inputGradient = Tensor(zeros: [0])

    /// A table of `vocabularySize` vectors of `width`, drawn `N(0, 1)` from `SeededGenerator(seed: seed)`.
    /// - Throws: `LayerError.invalidSize` unless both sizes are positive.
    public init(vocabularySize: Int, width: Int, seed: UInt64) throws {
        guard vocabularySize > 0 else {
            throw LayerError.invalidSize(layer: "Embedding", argument: "vocabularySize", value: vocabularySize, expected: "> 0")
        }
        guard width > 0 else { throw LayerError.invalidSize(layer: "Embedding", argument: "width", value: width, expected: "> 0") }
        var generator = SeededGenerator(seed: seed)
        self.vocabularySize = vocabularySize
        self.width = width
        self.weight = Parameter(Tensor.randomNormal(shape: [vocabularySize, width], generator: &generator))
    }

    /// Throws `LayerError.invalidTokenID` naming the first id that is not a whole number in
    /// `0 ..< vocabularySize` (its flat position and the input's shape). `forward` runs the
    /// same check, so calling this first is only needed to check ids before any work.
    public func validate(_ ids: Tensor) throws {
        let vocabulary = Float(vocabularySize)
        let bad: (position: Int, value: Float)? = ids.withUnsafeBufferPointer { ib in
            for i in 0..<ib.count where !(ib[i] >= 0 && ib[i] < vocabulary && ib[i] == ib[i].rounded()) { return (i, ib[i]) }
            return nil
        }
        if let bad {
            throw LayerError.invalidTokenID(layer: "Embedding", position: bad.position, value: bad.value, shape: ids.shape,
                                            vocabularySize: vocabularySize)
        }
    }

    /// `W[id, :]` for every id.
    public func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 1 else {
            throw LayerError.inputShapeMismatch(layer: "Embedding", expected: "token ids [batch, …]", actual: x.shape)
        }
        try validate(x)  // one scan before any write, so a bad id leaves the layer as it was
        Workspace.copy(x, into: &ids)
        Workspace.prepare(&output, shape: x.shape + [width])
        let (n, d, v) = (x.count, width, vocabularySize)
        ids.withUnsafeBufferPointer { ib in
            weight.value.withUnsafeBufferPointer { wb in
                output.withUnsafeMutableBufferPointer { yb in
                    for i in 0..<n {
                        let id = Int(ib[i])  // checked above
                        checkPrecondition(id >= 0 && id < v, "Embedding: id \(ib[i]) at position \(i) is not in 0..<\(v)")
                        (yb.baseAddress! + i * d).update(from: wb.baseAddress! + id * d, count: d)
                    }
                }
            }
        }
        return output
    }

    /// Adds each output row's gradient to its id's row of `∂L/∂W`; returns zeros.
    public func backward(_ g: Tensor) throws -> Tensor {
        try Workspace.checkGradient(g, matches: output, layer: "Embedding")
        Workspace.prepare(&inputGradient, shape: ids.shape)
        let (n, d) = (ids.count, width)
        if weight.isTrainable {
            ids.withUnsafeBufferPointer { ib in
                g.withUnsafeBufferPointer { gb in
                    weight.gradient.withUnsafeMutableBufferPointer { dw in
                        for i in 0..<n {
                            let row = dw.baseAddress! + Int(ib[i]) * d, gr = gb.baseAddress! + i * d
                            for j in 0..<d { row[j] += gr[j] }
                        }
                    }
                }
            }
        }
        return inputGradient
    }

    /// `"weight"`.
    public func forEachParameter(_ body: (_ name: String, _ parameter: Parameter) -> Void) {
        body("weight", weight)
    }
}
