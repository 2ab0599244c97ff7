/// Builds the children of a `Sequential` from a block of layers, with `if`, `if`/`else`,
/// `switch`, `for … in`, nested `Sequential`s and skip connections (`Residual { … }`).
///
/// Every statement contributes its layers in source order; a `for` loop contributes the
/// layers of each iteration in turn; a branch not taken contributes nothing. Children are
/// later numbered by their position in this flattened list (as PyTorch numbers the modules
/// of `nn.Sequential(*layers)`), unless they carry a name: `.named("head")`, or the name of a
/// nested `Sequential("body") { … }`.
@resultBuilder
public enum SequentialBuilder {
    /// A layer; a nested `Sequential` or `Residual` keeps its own name as its path segment.
    public static func buildExpression(_ layer: any Layer) -> [NamedLayer] {
        [NamedLayer(name: (layer as? Sequential)?.name ?? (layer as? Residual)?.name, layer: layer)]
    }

    /// A layer with an explicit path segment.
    public static func buildExpression(_ named: NamedLayer) -> [NamedLayer] { [named] }

    /// Several layers built elsewhere (for example `layers.map { … }`), numbered in order.
    public static func buildExpression(_ layers: [any Layer]) -> [NamedLayer] {
        layers.flatMap { buildExpression($0) }
    }

    /// Statements in sequence.
    public static func buildBlock(_ components: [NamedLayer]...) -> [NamedLayer] { components.flatMap { $0 } }

    /// An `if` without `else`: nothing when the condition is false.
    public static func buildOptional(_ component: [NamedLayer]?) -> [NamedLayer] { component ?? [] }

    /// The first branch of an `if`/`else` or `switch`.
    public static func buildEither(first component: [NamedLayer]) -> [NamedLayer] { component }

    /// The second branch of an `if`/`else` or `switch`.
    public static func buildEither(second component: [NamedLayer]) -> [NamedLayer] { component }

    /// A `for … in` loop: the iterations' layers in order.
    public static func buildArray(_ components: [[NamedLayer]]) -> [NamedLayer] { components.flatMap { $0 } }

    /// An `if #available` block.
    public static func buildLimitedAvailability(_ component: [NamedLayer]) -> [NamedLayer] { component }
}
