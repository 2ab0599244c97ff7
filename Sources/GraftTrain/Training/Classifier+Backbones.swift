import GraftNN
import GraftTensor

extension Classifier {
    /// A small vision transformer on flattened grey `side × side` images (`[batch, side²]`):
    ///
    ///     PatchEmbedding(patch) → ClassToken → PositionalEmbedding
    ///       → depth × TransformerBlock(width, heads, mlpRatio) → LayerNorm → TokenPooling(.classToken)
    ///
    /// as the body (paths `body.patches.projection.weight`, `body.blocks.0.attention.query.weight`,
    /// …) and a `Dense(width, classes)` head. Every piece draws from its own seed derived from `seed`.
    /// - Throws: `LayerError` for sizes the layers reject (a patch that does not divide
    ///   `side`, `heads` not dividing `width`).
    public static func vit(side: Int, patch: Int, width: Int, depth: Int, heads: Int, mlpRatio: Int,
                           classes: Int, seed: UInt64) throws -> Classifier {
        let tokens = (side / patch) * (side / patch) + 1
        let body = try Sequential("body") {
            try PatchEmbedding(channels: 1, imageHeight: side, imageWidth: side, patchSize: patch, width: width, seed: seed).named("patches")
            try ClassToken(width: width, seed: seed &+ 1).named("cls")
            try PositionalEmbedding(tokens: tokens, width: width, seed: seed &+ 2).named("position")
            try Sequential("blocks") {
                for i in 0..<depth {
                    try TransformerBlock(width: width, heads: heads, mlpRatio: mlpRatio, seed: seed &+ 10 &+ UInt64(i))
                }
            }
            try LayerNorm(width).named("norm")
            try TokenPooling(.classToken, width: width).named("pool")
        }
        return try Classifier(body: body, head: try Dense(width, classes, seed: seed &+ 3))
    }

    /// A small convolutional network on flattened grey `side × side` images (`[batch, side²]`,
    /// viewed channels first as `[batch, 1, side, side]`):
    ///
    ///     for each c in channels: Conv2d(3×3, padding 1) → ReLU → MaxPool2d(2)
    ///     → Flatten → Dense(hidden) → ReLU
    ///
    /// as the body and a `Dense(hidden, classes)` head.
    /// - Throws: `LayerError` for non-positive sizes, or `DataError.invalidArgument` when
    ///   `side` cannot be halved once per convolution.
    public static func cnn(side: Int, channels: [Int], hidden: Int, classes: Int, seed: UInt64) throws -> Classifier {
        guard side >> channels.count > 0, side % (1 << channels.count) == 0 else {
            throw DataError.invalidArgument("a \(side)×\(side) image cannot be halved \(channels.count) times")
        }
        var layers: [NamedLayer] = [try Reshape([1, side, side]).named("image")]
        var previous = 1, size = side
        for (i, c) in channels.enumerated() {
            layers.append(NamedLayer(name: nil, layer: try Conv2d(previous, c, kernelSize: 3, padding: 1, seed: seed &+ UInt64(i))))
            layers.append(NamedLayer(name: nil, layer: ReLU()))
            layers.append(NamedLayer(name: nil, layer: try MaxPool2d(kernelSize: 2)))
            previous = c
            size /= 2
        }
        layers.append(NamedLayer(name: nil, layer: Flatten()))
        layers.append(NamedLayer(name: nil, layer: try Dense(previous * size * size, hidden, seed: seed &+ 100)))
        layers.append(NamedLayer(name: nil, layer: ReLU()))
        let body = try Sequential("body", layers: layers)
        return try Classifier(body: body, head: try Dense(hidden, classes, seed: seed &+ 101))
    }
}
