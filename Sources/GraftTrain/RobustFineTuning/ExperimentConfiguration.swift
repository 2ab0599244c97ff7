import Foundation

/// The protocol of the robust fine-tuning comparison (see the data set's README and the
/// project README): pre-train an MLP on augmented MNIST + fonts, fine-tune on a small
/// optdigits split with a new head, evaluate in distribution and under corruptions.
public struct ExperimentConfiguration: Sendable, Codable, Equatable {
    /// Hidden widths of the MLP (input 256 = 16×16, output 10).
    public var hidden: [Int] = [512, 256, 128]
    /// Pre-training epochs over augmented MNIST + fonts.
    public var pretrainEpochs = 12
    /// Pre-training batch size.
    public var pretrainBatchSize = 64
    /// Pre-training learning rate (Adam, cosine decay to 0).
    public var pretrainLearningRate: Float = 1e-3
    /// Fine-tuning epochs (every method; LP-FT runs LP and FT for this many each).
    public var epochs = 40
    /// Fine-tuning batch size.
    public var batchSize = 32
    /// Fine-tuning learning rate (Adam, cosine decay to 0).
    public var learningRate: Float = 1e-3
    /// Fine-tuning split: examples per class for training, validation, and (nil: the rest) test.
    public var trainPerClass = 50
    /// Validation examples per class (model selection only).
    public var validationPerClass = 20
    /// Test examples per class (`nil`: all the rest).
    public var testPerClass: Int? = nil
    /// DiGraP's μ candidates, chosen on the ID validation split.
    public var digrapMuCandidates: [Float] = [0.01, 0.5, 10]
    /// μ of the validation-hypergradient DiGraP variant.
    public var validationDigrapMu: Float = 0.5
    /// WiSE-FT mixing coefficient a.
    public var wiseAlpha: Float = 0.5
    /// SPD strength λ.
    public var spdLambda: Float = 0.5
    /// Data-parallel ranks the run used (1: one process; set by the caller, e.g. from `mpirun`).
    /// Recorded in `results.json`; not part of the pre-training cache key.
    public var ranks = 1

    /// The protocol's defaults.
    public init() {}

    /// A configuration small enough for a smoke test (seconds, not minutes).
    public static var quick: ExperimentConfiguration {
        var c = ExperimentConfiguration()
        c.pretrainEpochs = 2
        c.epochs = 3
        c.digrapMuCandidates = [0.5]
        return c
    }

    /// The part of the configuration that determines the pre-trained weights (the cache key).
    public var pretrainingKey: String {
        "mlp256-\(hidden.map(String.init).joined(separator: "-"))-10 epochs \(pretrainEpochs) batch \(pretrainBatchSize) lr \(pretrainLearningRate) policy v1"
    }
}
