import GraftNN
import GraftTensor

/// The hypergradient source of the `digrap-shift-*` methods (issue 19): batches of the
/// fine-tuning split's **validation** part under the **pre-training augmentations**, so that
/// DiGraP's learned ω asks "does more projection lower the loss *under shift* next step?"
/// instead of "does it lower the training loss?".
///
/// Batch `k` (1-based, counted over the source's life) is `batchSize` validation images drawn
/// without replacement within a pass (a new shuffled pass when one is used up), each augmented
/// by `augmenter` with seed `seed ⊕ k`: a fresh draw of the pre-training augmentation every
/// step. Only the images of `DatasetSplit.validation` are ever read; the test split, its
/// corruptions and any extra OOD set are not reachable from here (`sourceIndices` names the
/// images, so a test can check it). DiGraP reads the batch's gradient `∇_θ L_shift(θ_t)`,
/// computed at the current parameters before each step, through
/// `DirectionalProjection.HypergradientSource.provided`:
/// `h_t = Σ_rows cos(∇L_shift(θ_t), p_{t−1})`, `ω ← clamp(ω − μ · Adam(h), 0, κ)`.
public struct ShiftedValidationSource {
    /// The un-augmented images batches are drawn from: the split's validation part.
    public let validation: DigitDataset
    /// Indices into the fine-tuning data set of the images in `validation`
    /// (`DatasetSplit.validationIndices`).
    public let sourceIndices: [Int]
    /// The augmentation applied to every batch (the pre-training policy in the experiment).
    public let augmenter: Augmenter
    /// The base seed of the batch order and of the augmentation draws.
    public let seed: UInt64
    private var sampler: BatchSampler
    private var drawn: UInt64 = 0

    /// A source over `split.validation`.
    /// - Throws: `DataError.invalidArgument` when the validation split is empty or `batchSize < 1`.
    public init(split: DatasetSplit, augmenter: Augmenter, batchSize: Int, seed: UInt64) throws {
        guard split.validation.count > 0 else {
            throw DataError.invalidArgument("\(split.validation.name): the shifted hypergradient source needs a non-empty validation split")
        }
        guard batchSize >= 1 else { throw DataError.invalidArgument("shifted source: batch size must be ≥ 1, got \(batchSize)") }
        validation = split.validation
        sourceIndices = split.validationIndices
        self.augmenter = augmenter
        self.seed = seed
        sampler = try BatchSampler(images: validation.images, labels: validation.labels,
                                   batchSize: min(batchSize, validation.count), seed: seed)
        sampler.startEpoch()
    }

    /// Batches drawn so far.
    public var batchesDrawn: Int { Int(drawn) }

    /// The next augmented validation batch.
    public mutating func next() throws -> (images: Tensor, labels: [Int]) {
        var batch = sampler.next()
        if batch == nil {
            sampler.startEpoch()
            batch = sampler.next()
        }
        guard let batch else { throw DataError.invalidArgument("shifted source: the validation split cannot fill a batch") }
        drawn &+= 1
        let images = try augmenter.augment(batch.images, side: validation.side, seed: seed ^ (drawn &* 0x9E37_79B9_7F4A_7C15))
        return (images, batch.labels)
    }

    /// The gradient of the mean cross-entropy of `model` on the next batch, at the model's
    /// current parameters (one forward and one backward pass; it overwrites the model's
    /// accumulated gradients, so call it before the training batch's backward pass, as
    /// `Trainer.train(providedGradient:)` does).
    public mutating func gradient(of model: any Layer) throws -> [String: Tensor] {
        let batch = try next()
        return try Trainer.gradient(of: model, images: batch.images, labels: batch.labels)
    }

    /// The **shifted validation split** used to choose μ of the learned-ω methods: every
    /// validation image augmented once by `augmenter` with `seed` (fixed, so all μ candidates
    /// are compared on the same images). Like the source, it reads only `split.validation`.
    public static func selectionSet(of split: DatasetSplit, augmenter: Augmenter, seed: UInt64) -> DigitDataset {
        var shifted = augmenter.augment(split.validation, seed: seed)
        shifted.name = split.validation.name + " (pre-training augmentations)"
        return shifted
    }
}
