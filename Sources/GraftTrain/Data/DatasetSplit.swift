import GraftTensor

/// A seeded, stratified split of a data set into disjoint train, validation and test
/// parts: the fine-tuning protocol's "50 per class for training, 20 for validation, the
/// rest for test".
///
/// Each class's indices are shuffled with a generator seeded by `seed`; the first
/// `trainPerClass` go to training, the next `validationPerClass` to validation, and the
/// next `testPerClass` (or all remaining, when `nil`) to test. Within each part samples
/// are ordered by class, then by shuffled position; shuffle batches when training.
public struct DatasetSplit: Sendable {
    /// The training part.
    public let train: DigitDataset
    /// The validation part (for model selection; never test on it).
    public let validation: DigitDataset
    /// The test part.
    public let test: DigitDataset
    /// The indices into the source data set of `train`, `validation` and `test`.
    public let trainIndices: [Int], validationIndices: [Int], testIndices: [Int]

    /// Splits `dataset` per class.
    /// - Throws: `DataError.notEnoughSamples` naming the first class with fewer than
    ///   `trainPerClass + validationPerClass (+ testPerClass)` samples (or with no sample
    ///   left for test when `testPerClass` is `nil`); `DataError.invalidArgument` for a
    ///   negative count.
    public init(_ dataset: DigitDataset, trainPerClass: Int = 50, validationPerClass: Int = 20,
                testPerClass: Int? = nil, seed: UInt64) throws {
        guard trainPerClass >= 0, validationPerClass >= 0, (testPerClass ?? 0) >= 0 else {
            throw DataError.invalidArgument("split counts must be non-negative")
        }
        var generator = SeededGenerator(seed: seed)
        var train = [Int](), validation = [Int](), test = [Int]()
        for (label, var indices) in dataset.indicesByClass.enumerated() {
            let required = trainPerClass + validationPerClass + (testPerClass ?? 1)
            guard indices.count >= required else {
                throw DataError.notEnoughSamples(label: label, available: indices.count, required: required)
            }
            generator.shuffle(&indices)
            let trainEnd = trainPerClass
            let validationEnd = trainEnd + validationPerClass
            let testEnd = testPerClass.map { validationEnd + $0 } ?? indices.count
            train += indices[0..<trainEnd]
            validation += indices[trainEnd..<validationEnd]
            test += indices[validationEnd..<testEnd]
        }
        trainIndices = train
        validationIndices = validation
        testIndices = test
        self.train = try dataset.subset(train, name: dataset.name + "/train")
        self.validation = try dataset.subset(validation, name: dataset.name + "/validation")
        self.test = try dataset.subset(test, name: dataset.name + "/test")
    }
}
