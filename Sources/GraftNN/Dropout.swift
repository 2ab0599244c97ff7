import GraftTensor

/// Inverted dropout (Srivastava et al., 2014), elementwise, on tensors of any shape.
///
/// In `.training` mode each element is kept with probability `1 − p` and scaled by
/// `1 / (1 − p)`: `y = x ⊙ m` with `m_i = 1/(1 − p)` with probability `1 − p` and `0`
/// otherwise, so `E[y] = x`. In `.evaluation` mode, and for `p = 0`, `y = x` (the input is
/// returned as is). With `p = 1` every element is dropped (`y = 0`). Backward:
/// `∂L/∂x = g ⊙ m` with the mask of the last forward (or `g` when it was the identity).
///
/// The mask draws one `generator.nextFloat()` per element in row-major order and drops the
/// element when the draw is `< p`, so a seed fixes every mask. `generator` is public so a
/// checkpoint can save and restore it (and a test can replay a mask).
public final class Dropout: Layer {
    /// The drop probability `p ∈ [0, 1]`.
    public let probability: Float
    /// The source of the masks.
    public var generator: SeededGenerator
    /// The current mode (new layers start in `.training`, as in PyTorch).
    public private(set) var mode: LayerMode = .training

    private var mask = Tensor(zeros: [0])
    private var output = Tensor(zeros: [0])
    private var inputGradient = Tensor(zeros: [0])
    private var lastShape: [Int]? = nil
    private var lastWasIdentity = true

    /// Dropout with drop probability `probability`, masks drawn from `SeededGenerator(seed:)`.
    /// - Throws: `LayerError.invalidHyperparameter` unless `0 ≤ probability ≤ 1`.
    public init(_ probability: Float, seed: UInt64) throws {
        guard probability >= 0, probability <= 1 else {
            throw LayerError.invalidHyperparameter(layer: "Dropout", argument: "probability", value: probability,
                                                   expected: "a value in [0, 1]")
        }
        self.probability = probability
        self.generator = SeededGenerator(seed: seed)
    }

    /// Records the mode: masks are drawn only in `.training`.
    public func modeDidChange(to mode: LayerMode) { self.mode = mode }

    /// `x ⊙ m` in training (a fresh mask), `x` in evaluation.
    public func forward(_ x: Tensor) throws -> Tensor {
        lastShape = x.shape
        lastWasIdentity = mode == .evaluation || probability == 0
        if lastWasIdentity { return x }
        Workspace.prepare(&mask, shape: x.shape)
        let p = probability
        let keep: Float = p < 1 ? 1 / (1 - p) : 0
        var g = generator  // a local copy: no class-property access per element
        mask.withUnsafeMutableBufferPointer { m in
            for i in 0..<m.count { m[i] = g.nextFloat() < p ? 0 : keep }
        }
        generator = g
        try ElementwiseKernels.chain(x, mask, into: &output, layer: "Dropout", IdentityFunction())  // y = x ⊙ m
        return output
    }

    /// `g ⊙ m` (or `g` when the last forward was the identity).
    public func backward(_ g: Tensor) throws -> Tensor {
        guard let lastShape else { throw LayerError.backwardBeforeForward(layer: "Dropout") }
        guard lastShape == g.shape else { throw LayerError.gradientShapeMismatch(layer: "Dropout", expected: lastShape, actual: g.shape) }
        if lastWasIdentity { return g }
        try ElementwiseKernels.chain(g, mask, into: &inputGradient, layer: "Dropout", IdentityFunction())
        return inputGradient
    }
}
