/// The backbone architecture of the robust fine-tuning comparison.
public enum Backbone: String, CaseIterable, Sendable, Codable {
    /// `Classifier.mlp`: 256-512-256-128 with ReLU (the default; fastest).
    case mlp
    /// `Classifier.vit`: 4×4 patches of the 16×16 digits (16 tokens and a class token),
    /// width 64, 4 heads, pre-LN transformer blocks.
    case vit
    /// `Classifier.cnn`: two 3×3 convolutions (16, 32 channels) with max pooling, a 128-wide
    /// hidden layer.
    case cnn

    /// Parses `mlp`, `vit` or `cnn`.
    /// - Throws: `DataError.invalidArgument` naming the valid choices.
    public static func parse(_ text: String) throws -> Backbone {
        guard let b = Backbone(rawValue: text.lowercased()) else {
            throw DataError.invalidArgument("unknown backbone \"\(text)\" (expected one of: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return b
    }
}
