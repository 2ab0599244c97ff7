/// A layer with an explicit path segment, as written in a `Sequential` builder
/// (`Dense(16, 3, seed: 3).named("head")`); `name == nil` asks for the child's index.
public struct NamedLayer {
    /// The path segment, or `nil` for the child's position in its `Sequential`.
    public let name: String?
    /// The layer.
    public let layer: any Layer

    /// Pairs `layer` with the path segment `name`.
    public init(name: String?, layer: any Layer) {
        self.name = name
        self.layer = layer
    }
}

extension Layer {
    /// This layer under the path segment `name` (instead of its index) in a `Sequential`.
    /// The name is checked when the `Sequential` is built (non-empty, no `"."`, unique).
    public func named(_ name: String) -> NamedLayer {
        NamedLayer(name: name, layer: self)
    }
}
