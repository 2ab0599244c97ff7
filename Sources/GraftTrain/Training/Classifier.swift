import GraftNN
import GraftTensor

/// A classifier made of a backbone (`body`, the part that is pre-trained) and a linear
/// `head`, composed as `Sequential { body; head }` so parameter paths read `body.0.weight`,
/// …, `head.weight`, `head.bias`.
public final class Classifier {
    /// The backbone: every layer but the head.
    public let body: Sequential
    /// The linear head.
    public let head: Dense
    /// `body` then `head`.
    public let model: Sequential

    /// Composes a backbone and a head.
    public init(body: Sequential, head: Dense) throws {
        self.body = body
        self.head = head
        self.model = try Sequential(layers: [body.named("body"), head.named("head")])
    }

    /// An MLP `input → hidden[0] → … → classes` with ReLU between layers, initialised like
    /// PyTorch's `nn.Linear` from `seed` (layer i uses seed `seed &+ i`).
    public static func mlp(input: Int, hidden: [Int], classes: Int, seed: UInt64) throws -> Classifier {
        var layers: [NamedLayer] = []
        var width = input
        for (i, h) in hidden.enumerated() {
            layers.append(NamedLayer(name: nil, layer: try Dense(width, h, seed: seed &+ UInt64(i))))
            layers.append(NamedLayer(name: nil, layer: ReLU()))
            width = h
        }
        let body = try Sequential("body", layers: layers)
        let head = try Dense(width, classes, seed: seed &+ UInt64(hidden.count))
        return try Classifier(body: body, head: head)
    }

    /// This backbone with a freshly initialised head (`anchor = .none`: anchor-based
    /// transforms leave a new head alone).
    public func withNewHead(classes: Int, seed: UInt64) throws -> Classifier {
        let head = try Dense(self.head.inputFeatures, classes, seed: seed)
        head.setAnchor(.none)
        return try Classifier(body: body, head: head)
    }

    /// The model's parameters with their paths.
    public func namedParameters() -> [NamedParameter] { model.namedParameters() }

    /// Weights by path (copies share storage until either side is written).
    public func weights() -> [String: Tensor] { model.namedTensors() }

    /// Loads weights by path (all validated before anything changes).
    public func load(_ weights: [String: Tensor], strict: Bool = true) throws { try model.load(weights, strict: strict) }
}
