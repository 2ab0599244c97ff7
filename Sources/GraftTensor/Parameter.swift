/// A trainable tensor and its gradient: the unit every Graft module exchanges.
///
/// Models (`GraftNN`) own parameters and fill their gradients; optimizers (`GraftOptim`)
/// read the gradients and update the values in place. `Parameter` is a class so both can
/// hold the same one without copying its storage: a parameter's `value` and `gradient`
/// are uniquely referenced, so an optimizer step mutates them without a copy.
/// Paths are not stored here: a container names its parameters when it lists them
/// (see `NamedParameter`).
public final class Parameter {
    /// The current value.
    public var value: Tensor
    /// The gradient of the current step (same shape as `value`); accumulated by backward
    /// passes, cleared by `zeroGradient()`.
    public var gradient: Tensor
    /// `false` freezes the parameter: optimizers neither update it nor keep state for it
    /// (how a linear probe freezes the backbone).
    public var isTrainable: Bool
    /// What anchor-based transforms (L2-SP, DiGraP, FTP, SPD, WiSE-FT) pull this parameter
    /// toward: its value when fine-tuning starts (`.initial`), zero (`.zero`, adapters such as
    /// LoRA factors), or nothing (`.none`, a new head).
    public var anchor: AnchorKind

    /// Creates a parameter with a zero gradient.
    public init(_ value: Tensor, trainable: Bool = true, anchor: AnchorKind = .initial) {
        self.value = value
        self.gradient = Tensor(zeros: value.shape)
        self.isTrainable = trainable
        self.anchor = anchor
    }

    /// The shape of `value`.
    public var shape: [Int] { value.shape }

    /// Sets every gradient element to zero without reallocating.
    public func zeroGradient() {
        gradient.withUnsafeMutableBufferPointer { g in
            if let p = g.baseAddress { p.update(repeating: 0, count: g.count) }
        }
    }
}

/// Which anchor θ0 a parameter is pulled toward by anchor-based transforms.
public enum AnchorKind: Sendable, Equatable, Hashable {
    /// θ0 = the value when fine-tuning starts (pre-trained weights).
    case initial
    /// θ0 = 0 (adapter parameters such as LoRA factors): no copy is stored.
    case zero
    /// No anchor: anchor-based transforms skip the parameter (a newly initialised head).
    case none
}

/// A parameter with its stable dotted path (for example `"body.0.weight"`).
public struct NamedParameter {
    /// The dotted path, unique within its model.
    public let path: String
    /// The parameter (shared with the model that owns it).
    public let parameter: Parameter

    /// Names `parameter` with `path`.
    public init(path: String, parameter: Parameter) {
        self.path = path
        self.parameter = parameter
    }
}
