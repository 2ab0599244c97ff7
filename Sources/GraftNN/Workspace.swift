import GraftTensor

/// Helpers for the buffers layers keep between steps (see "Buffers and copy on write" in
/// `Layer`).
enum Workspace {
    /// Makes `buffer` a `[rows, columns]` tensor, reallocating only when its shape differs
    /// (compares dimensions without building a shape array).
    @inline(__always)
    static func prepare(_ buffer: inout Tensor, rows: Int, columns: Int) {
        if buffer.rank != 2 || buffer.shape[0] != rows || buffer.shape[1] != columns {
            buffer = Tensor(zeros: [rows, columns])
        }
    }

    /// Makes `buffer` a rank-1 tensor of `count` elements, reallocating only when it differs.
    @inline(__always)
    static func prepare(_ buffer: inout Tensor, count: Int) {
        if buffer.rank != 1 || buffer.shape[0] != count { buffer = Tensor(zeros: [count]) }
    }

    /// Makes `buffer` a tensor of `shape`, reallocating only when its shape differs.
    @inline(__always)
    static func prepare(_ buffer: inout Tensor, shape: [Int]) {
        if buffer.shape != shape { buffer = Tensor(zeros: shape) }
    }

    /// Copies `source` into `buffer` (reshaping `buffer` first if needed): how a layer keeps
    /// its own copy of its input without holding a reference to the caller's tensor.
    @inline(__always)
    static func copy(_ source: Tensor, into buffer: inout Tensor) {
        prepare(&buffer, shape: source.shape)
        source.withUnsafeBufferPointer { s in
            buffer.withUnsafeMutableBufferPointer { d in
                guard let sp = s.baseAddress, let dp = d.baseAddress else { return }
                dp.update(from: sp, count: s.count)
            }
        }
    }

    /// The batch size of `input`; throws `LayerError.inputShapeMismatch` unless it is a
    /// `[batch, features]` matrix.
    @inline(__always)
    static func batchSize(of input: Tensor, features: Int, layer: String) throws -> Int {
        guard input.rank == 2 && input.shape[1] == features else {
            throw LayerError.inputShapeMismatch(layer: layer, expected: "[batch, \(features)]", actual: input.shape)
        }
        return input.shape[0]
    }

    /// The number of rows of a `[…, features]` tensor of rank ≥ 2 (the product of the leading
    /// dimensions), as PyTorch's `nn.Linear` and `nn.LayerNorm` act on the last dimension of a
    /// `[batch, tokens, features]` sequence; throws `LayerError.inputShapeMismatch` otherwise.
    @inline(__always)
    static func rowCount(of input: Tensor, features: Int, layer: String) throws -> Int {
        guard input.rank >= 2 && input.shape[input.rank - 1] == features else {
            throw LayerError.inputShapeMismatch(layer: layer, expected: "[batch, …, \(features)]", actual: input.shape)
        }
        return input.rank == 2 ? input.shape[0] : input.count / features
    }

    /// Makes `buffer` the shape of `input` with its last dimension replaced by `columns`
    /// (reallocating only when that shape differs).
    @inline(__always)
    static func prepare(_ buffer: inout Tensor, like input: Tensor, lastDimension columns: Int) {
        if input.rank == 2 {
            prepare(&buffer, rows: input.shape[0], columns: columns)
        } else {
            var shape = input.shape
            shape[shape.count - 1] = columns
            prepare(&buffer, shape: shape)
        }
    }

    /// `(batch, tokens)` of a token sequence `[batch, tokens, width]`; throws
    /// `LayerError.inputShapeMismatch` for any other shape.
    @inline(__always)
    static func sequenceShape(of input: Tensor, width: Int, layer: String) throws -> (batch: Int, tokens: Int) {
        guard input.rank == 3 && input.shape[2] == width else {
            throw LayerError.inputShapeMismatch(layer: layer, expected: "[batch, tokens, \(width)]", actual: input.shape)
        }
        return (input.shape[0], input.shape[1])
    }

    /// Throws unless `gradient` has the shape of the output the last `forward` produced:
    /// `LayerError.backwardBeforeForward` while `output` is still the initial empty buffer
    /// (`[0]` or `[0, 0]`, shapes no forward pass of the layer leaves behind with a
    /// non-empty gradient), `gradientShapeMismatch` otherwise.
    @inline(__always)
    static func checkGradient(_ gradient: Tensor, matches output: Tensor, layer: String) throws {
        guard gradient.shape == output.shape else {
            if output.count == 0 && (output.shape == [0] || output.shape == [0, 0]) && gradient.count > 0 {
                throw LayerError.backwardBeforeForward(layer: layer)
            }
            throw LayerError.gradientShapeMismatch(layer: layer, expected: output.shape, actual: gradient.shape)
        }
    }
}
