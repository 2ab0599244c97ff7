import GraftTensor

/// What a transform knows about a parameter when it creates the parameter's state.
public struct ParameterInfo: Sendable, Equatable {
    /// The dotted path (e.g. `"body.0.weight"`).
    public let path: String
    /// The parameter's shape.
    public let shape: [Int]
    /// The anchor the optimizer resolved for it (`.none` when it has none).
    public let anchor: AnchorKind
    /// Whether the parameter is trainable.
    public let isTrainable: Bool

    /// Describes a parameter.
    public init(path: String, shape: [Int], anchor: AnchorKind, isTrainable: Bool = true) {
        self.path = path
        self.shape = shape
        self.anchor = anchor
        self.isTrainable = isTrainable
    }

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// Rows in the row-wise view (slices along the first dimension; a scalar is one row).
    public var rows: Int { shape.first ?? 1 }
    /// Whether anchor-based transforms act on this parameter.
    public var hasAnchor: Bool { anchor != .none }
}
