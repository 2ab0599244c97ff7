import Foundation
import Testing
import GraftNN
import GraftOptim
import GraftTensor
@testable import GraftTrain

/// Issue 19's split plumbing: the shifted hypergradient source and the shifted selection split
/// read the validation part of the fine-tuning split only, never test (whose corruptions are
/// the OOD sets) or train images.
@Suite struct ShiftedValidationSourceTests {
    /// 10 classes × 12 images of 16×16 seeded noise: every image is unique, so a row can be
    /// traced back to the image it came from.
    func taggedDataset() throws -> DigitDataset {
        var g = SeededGenerator(seed: 42)
        let count = 120
        let pixels = (0..<(count * 256)).map { _ in g.nextFloat() }
        return try DigitDataset(name: "tagged", images: try Tensor(shape: [count, 256], scalars: pixels),
                                labels: (0..<count).map { $0 % 10 }, side: 16)
    }

    func rows(_ t: Tensor) -> [[Float]] {
        let s = t.scalars, w = t.shape[1]
        return (0..<t.shape[0]).map { Array(s[($0 * w)..<($0 * w + w)]) }
    }

    /// A policy that changes nothing: with it every batch row must be a validation image verbatim.
    var identity: AugmentationPolicy {
        var p = AugmentationPolicy.pretraining
        p.affineProbability = 0; p.elasticProbability = 0; p.dilationProbability = 0; p.erosionProbability = 0
        p.blurProbability = 0; p.noiseProbability = 0; p.inversionProbability = 0
        return p
    }

    @Test func batchesComeOnlyFromValidationImages() throws {
        let data = try taggedDataset()
        let split = try DatasetSplit(data, trainPerClass: 4, validationPerClass: 3, testPerClass: nil, seed: 7)
        var source = try ShiftedValidationSource(split: split, augmenter: try Augmenter(policy: identity), batchSize: 8, seed: 3)
        #expect(source.sourceIndices == split.validationIndices)
        #expect(Set(source.sourceIndices).isDisjoint(with: split.testIndices))
        #expect(Set(source.sourceIndices).isDisjoint(with: split.trainIndices))

        let all = rows(data.images)
        var origin: [[Float]: Int] = [:]
        for (i, r) in all.enumerated() { origin[r] = i }
        let validation = Set(split.validationIndices)
        var seen = Set<Int>()
        for _ in 0..<20 {  // 160 rows: several passes over the 30 validation images
            let batch = try source.next()
            #expect(batch.images.shape == [8, 256])
            for (r, row) in rows(batch.images).enumerated() {
                let index = try #require(origin[row], "batch row is not any image of the data set")
                #expect(validation.contains(index), "image \(index) is not in the validation split")
                #expect(data.labels[index] == batch.labels[r])
                seen.insert(index)
            }
        }
        #expect(seen == validation)
        #expect(source.batchesDrawn == 20)
    }

    @Test func pretrainingAugmentationIsAppliedFreshEachBatch() throws {
        let data = try taggedDataset()
        let split = try DatasetSplit(data, trainPerClass: 4, validationPerClass: 3, testPerClass: nil, seed: 7)
        let augmenter = try Augmenter(policy: .pretraining)
        var a = try ShiftedValidationSource(split: split, augmenter: augmenter, batchSize: 30, seed: 3)
        var b = try ShiftedValidationSource(split: split, augmenter: augmenter, batchSize: 30, seed: 3)
        let first = try a.next(), second = try a.next()
        // Same seed, same batches (every μ candidate sees the same draws).
        #expect(try b.next().images == first.images)
        // One batch is the whole validation split: pass 2 has the same images, augmented anew.
        #expect(first.labels.sorted() == second.labels.sorted())
        #expect(first.images != second.images)
        let raw = Set(rows(data.images))
        let changed = rows(first.images).filter { !raw.contains($0) }.count
        #expect(changed > 25, "only \(changed) of 30 rows were augmented")

        // The selection split: the validation images, same labels and order, augmented once.
        let shifted = ShiftedValidationSource.selectionSet(of: split, augmenter: augmenter, seed: 5)
        #expect(shifted.labels == split.validation.labels && shifted.count == split.validation.count)
        #expect(shifted.images != split.validation.images)
        #expect(ShiftedValidationSource.selectionSet(of: split, augmenter: try Augmenter(policy: identity), seed: 5).images
                == split.validation.images)
    }

    @Test func refusesAnEmptyValidationSplitOrBatch() throws {
        let data = try taggedDataset()
        let noValidation = try DatasetSplit(data, trainPerClass: 4, validationPerClass: 0, testPerClass: nil, seed: 7)
        #expect(throws: DataError.self) { try ShiftedValidationSource(split: noValidation, augmenter: try Augmenter(), batchSize: 8, seed: 1) }
        let split = try DatasetSplit(data, trainPerClass: 4, validationPerClass: 3, testPerClass: nil, seed: 7)
        #expect(throws: DataError.self) { try ShiftedValidationSource(split: split, augmenter: try Augmenter(), batchSize: 0, seed: 1) }
    }
}
