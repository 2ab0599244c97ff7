/// A trainable tensor and its gradient: the unit every Graft module exchanges.
///
/// Models (`GraftNN`) own parameters and fill their gradients; optimizers (`GraftOptim`)
/// read the gradients and update the values in place. `Parameter` is a class so both can
/// hold the same one without copying its storage: a parameter's `value` and `gradient`
/// are uniquely referenced, so an optimizer step mutates them without a copy.
/// Paths are not stored here: a container names its parameters when it lists them
/// (see `NamedParameter`).
///
/// `value` and `gradient` are read and written once per tensor per optimizer step and per
/// layer pass, so they opt out of Swift's *dynamic* exclusivity check
/// (`@exclusivity(unchecked)`): that check looks the access set up in thread-local storage,
/// about 11 ns per access, more than an optimizer's whole bookkeeping budget for a small
/// tensor (issue 13: under 50 ns per tensor per step). The compiler's static checks still
/// apply; what is no longer caught at run time is code that reassigns `value` (or
/// `gradient`) from inside a closure that is itself accessing it, such as
/// `p.value.withUnsafeMutableBufferPointer { _ in p.value = t }`: don't.
public final class Parameter {
    /// The current value.
    public var value: Tensor {
        _read { yield storedValue }
        _modify { yield &storedValue }
        set { storedValue = newValue }
    }
    /// The gradient of the current step (same shape as `value`); accumulated by backward
    /// passes, set to zero by `zeroGradient()`. Any write (assignment, or a mutation such as
    /// a backward pass accumulating into it) makes `hasGradient` true.
    public var gradient: Tensor {
        _read { yield storedGradient }
        _modify {
            hasGradient = true
            yield &storedGradient
        }
        set {
            hasGradient = true
            storedGradient = newValue
        }
    }
    /// Whether a gradient was written since the parameter was made or since
    /// `clearGradient()`: PyTorch's `grad is not None`. An optimizer whose missing-gradient
    /// policy is `.skip` leaves a parameter without one, and its state, untouched.
    public private(set) var hasGradient = false
    // Stored behind accessors: a client module accessing a stored class property emits the
    // exclusivity check itself, whatever the attribute says; the accessors run here, unchecked.
    @exclusivity(unchecked) private var storedValue: Tensor
    @exclusivity(unchecked) private var storedGradient: Tensor
    /// `false` freezes the parameter: optimizers neither update it nor keep state for it
    /// (how a linear probe freezes the backbone).
    public var isTrainable: Bool
    /// What anchor-based transforms (L2-SP, DiGraP, FTP, SPD, WiSE-FT) pull this parameter
    /// toward: its value when fine-tuning starts (`.initial`), zero (`.zero`, adapters such as
    /// LoRA factors), or nothing (`.none`, a new head).
    public var anchor: AnchorKind

    /// Creates a parameter with a zero gradient.
    public init(_ value: Tensor, trainable: Bool = true, anchor: AnchorKind = .initial) {
        self.storedValue = value
        self.storedGradient = Tensor(zeros: value.shape)
        self.isTrainable = trainable
        self.anchor = anchor
    }

    /// The shape of `value`.
    public var shape: [Int] { value.shape }

    private static func same(_ a: [Int], _ b: UnsafeBufferPointer<Int>) -> Bool {
        a.withUnsafeBufferPointer { a in
            guard a.count == b.count else { return false }
            for i in 0..<a.count where a[i] != b[i] { return false }
            return true
        }
    }

    /// Whether `value` has exactly `shape`.
    public func valueHasShape(_ shape: [Int]) -> Bool { storedValue.shape == shape }

    /// What an optimizer step needs of this parameter, in one call (its bookkeeping budget is
    /// a few nanoseconds per tensor): whether `value` still has the shape the optimizer
    /// registered and `gradient` the shape of `value`, and, when both hold, θ's storage (made
    /// unique first, so writing through it never changes a copy of the value held elsewhere)
    /// and the gradient's. The pointers are valid until `value` or `gradient` is next changed
    /// through the properties.
    /// (`shape` is a buffer, so a caller keeping many shapes passes one without retaining an array.)
    public func stepBuffers(registeredShape shape: UnsafeBufferPointer<Int>) -> StepBuffers {
        guard Parameter.same(storedValue.shape, shape) else { return StepBuffers(status: .valueShapeChanged) }
        guard Parameter.same(storedGradient.shape, shape) else { return StepBuffers(status: .gradientShapeMismatch) }
        return StepBuffers(status: .ok, value: storedValue.unsafeMutableStorage(), gradient: storedGradient.unsafeStorage())
    }

    /// Sets every gradient element to zero without reallocating (PyTorch's
    /// `zero_grad(set_to_none=False)`): the parameter still has a gradient, of zero.
    public func zeroGradient() {
        hasGradient = true
        storedGradient.withUnsafeMutableBufferPointer { g in
            if let p = g.baseAddress { p.update(repeating: 0, count: g.count) }
        }
    }

    /// Sets every gradient element to zero and marks the gradient absent (PyTorch's
    /// `zero_grad(set_to_none=True)`): until a backward pass writes it, `hasGradient` is
    /// false, and an optimizer with the `.skip` missing-gradient policy does not move the
    /// parameter. (The buffer is kept, so the next backward pass does not allocate.)
    public func clearGradient() {
        storedGradient.withUnsafeMutableBufferPointer { g in
            if let p = g.baseAddress { p.update(repeating: 0, count: g.count) }
        }
        hasGradient = false
    }
}

/// A parameter's buffers for one optimizer step (see `Parameter.stepBuffers(registeredShape:)`).
public struct StepBuffers {
    /// Whether the shapes allow the step.
    public enum Status: Sendable, Equatable {
        /// Both shapes are as expected; the buffers are set.
        case ok
        /// `value` no longer has the registered shape (it was replaced by another tensor).
        case valueShapeChanged
        /// `gradient` does not have the shape of `value`.
        case gradientShapeMismatch
    }
    /// Whether the shapes allow the step.
    public let status: Status
    /// θ's storage, uniquely referenced (empty unless `status == .ok`).
    public let value: UnsafeMutableBufferPointer<Float>
    /// The gradient's storage (empty unless `status == .ok`).
    public let gradient: UnsafeBufferPointer<Float>

    init(status: Status, value: UnsafeMutableBufferPointer<Float> = UnsafeMutableBufferPointer(start: nil, count: 0),
         gradient: UnsafeBufferPointer<Float> = UnsafeBufferPointer(start: nil, count: 0)) {
        self.status = status
        self.value = value
        self.gradient = gradient
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
