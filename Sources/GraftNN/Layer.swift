import GraftTensor

/// A differentiable building block of a model: a map `y = f(x; θ)` from a batch of row
/// vectors `x ∈ ℝ^{batch × in}` to `y ∈ ℝ^{batch × out}`, with its exact reverse-mode
/// derivative.
///
/// ## Contract
/// - `forward(x)` computes `y` and caches whatever the backward pass needs (inputs,
///   masks, normalised activations) in buffers the layer owns.
/// - `backward(g)`, given `g = ∂L/∂y` for the batch of the last `forward`, **adds**
///   `∂L/∂θ = (∂y/∂θ)ᵀ g` to every trainable parameter's `gradient` (frozen parameters are
///   left untouched) and returns `∂L/∂x = (∂y/∂x)ᵀ g`.
/// - Parameters are listed by `forEachParameter` (this layer's own, with one path segment
///   each) and `forEachSublayer` (children, with their segments); the traversal helpers in
///   `Layer+Traversal.swift` build dotted paths such as `"body.0.weight"` from them.
///
/// ## Buffers and copy on write
/// A layer writes its output and input gradient into tensors it keeps between steps and
/// returns them by value. `Tensor` is copy on write, so a returned tensor shares storage
/// with the layer's buffer until either side writes. Layers never keep a reference to a
/// tensor they did not allocate (a layer that needs its input in `backward` copies it into
/// its own buffer), so as long as callers drop the tensors returned by one step before the
/// next step starts (the natural shape of a training loop), every buffer is uniquely
/// referenced when it is rewritten and a step allocates no tensor storage. A caller that
/// keeps an output alive across steps stays correct: the layer's next write copies.
/// Buffers are reallocated only when the batch size changes.
///
/// A layer keeps per-call state (its buffers and caches), so one layer object must not run
/// on several threads at once, nor appear twice in one model (`Sequential` rejects that).
///
/// Shapes are checked on every call (a few integer comparisons): a mis-shaped input throws
/// `LayerError.inputShapeMismatch`, a gradient that does not match the last output
/// `LayerError.gradientShapeMismatch`, and `backward` before any `forward`
/// `LayerError.backwardBeforeForward`, naming the layer and both shapes, in every build
/// configuration.
public protocol Layer: AnyObject {
    /// Computes the layer's output for a batch `[batch, features]` and caches what
    /// `backward` needs.
    /// - Throws: `LayerError.inputShapeMismatch` for an input of the wrong shape.
    func forward(_ input: Tensor) throws -> Tensor

    /// Accumulates parameter gradients for the batch of the last `forward` and returns the
    /// gradient with respect to that batch's input (same shape as the input).
    /// - Throws: `LayerError.gradientShapeMismatch` / `.backwardBeforeForward`.
    func backward(_ outputGradient: Tensor) throws -> Tensor

    /// Accumulates parameter gradients like `backward`, for a caller that does not need the
    /// input gradient (the first layer of a model: its input is data). Layers may skip that
    /// work (`Dense` saves its largest GEMM); the default calls `backward`.
    func accumulateParameterGradients(_ outputGradient: Tensor) throws

    /// Calls `body` with each parameter this layer owns directly and its path segment
    /// (`"weight"`, `"bias"`, …), in a fixed order. Default: none.
    func forEachParameter(_ body: (_ name: String, _ parameter: Parameter) -> Void)

    /// Calls `body` with each direct sublayer and its path segment, in a fixed order.
    /// Default: none.
    func forEachSublayer(_ body: (_ name: String, _ layer: any Layer) -> Void)

    /// Replaces the direct sublayer with path segment `name` by `layer` (how `addLoRA` wraps a
    /// `Dense` deep inside a model) and returns whether this layer has such a child and
    /// accepted the replacement. The replacement must take and return the same shapes and
    /// must not already appear in the model (one layer object used twice would overwrite its
    /// own cached activations). Default: no replaceable children (`false`).
    func replaceSublayer(named name: String, with layer: any Layer) -> Bool

    /// Tells this layer (not its sublayers: `setMode(_:)` walks the tree) which mode it is
    /// in. Only layers that behave differently in training (`Dropout`) react. Default: ignore.
    func modeDidChange(to mode: LayerMode)
}

/// Whether layers behave as during training (dropout active) or evaluation (identity).
public enum LayerMode: Sendable, Equatable, Hashable {
    /// Stochastic layers sample (dropout masks); the default for new layers.
    case training
    /// Stochastic layers are deterministic (dropout is the identity).
    case evaluation
}

extension Layer {
    /// Calls `backward` and drops the input gradient.
    public func accumulateParameterGradients(_ outputGradient: Tensor) throws { _ = try backward(outputGradient) }

    /// No parameters of its own.
    public func forEachParameter(_ body: (_ name: String, _ parameter: Parameter) -> Void) {}
    /// No sublayers.
    public func forEachSublayer(_ body: (_ name: String, _ layer: any Layer) -> Void) {}
    /// No replaceable children.
    public func replaceSublayer(named name: String, with layer: any Layer) -> Bool { false }
    /// Ignores the mode.
    public func modeDidChange(to mode: LayerMode) {}

    /// `forward(input)`: lets a model be applied like a function, `model(x)`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try forward(input) }
}
