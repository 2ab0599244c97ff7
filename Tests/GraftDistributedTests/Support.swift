import Foundation
import GraftDistributed
import GraftNN
import GraftOptim
import GraftTensor
import GraftTestSupport
import GraftTrain
import Testing

/// The communicator of this test process: MPI under `mpirun` (`make mpi-test`), else one process.
nonisolated(unsafe) let world: any Communicator = {
    do { return try World.communicator() } catch { fatalError("cannot start the communicator: \(error)") }
}()

/// The project's parity tolerance `|a − b| ≤ 1e-5 + 1e-4·|b|`; returns the violations.
func parityViolations(_ actual: [String: Tensor], _ expected: [String: Tensor]) -> [String] {
    var out: [String] = []
    for (path, e) in expected.sorted(by: { $0.key < $1.key }) {
        guard let a = actual[path], a.shape == e.shape else { out.append("\(path): missing or mis-shaped"); continue }
        for i in 0..<e.count where abs(Double(a.scalars[i]) - Double(e.scalars[i])) > 1e-5 + 1e-4 * abs(Double(e.scalars[i])) {
            out.append("\(path)[\(i)] = \(a.scalars[i]), expected \(e.scalars[i])")
            if out.count > 5 { return out }
        }
    }
    return out
}

/// A small classification set: 60 random 4×4 "images", 4 classes (learnable: the label is
/// the quadrant with the largest mean).
func syntheticData(count: Int = 60, seed: UInt64 = 11) throws -> DigitDataset {
    let images = randomUniformTensor([count, 16], seed: seed)
    let labels = (0..<count).map { r in
        let quadrant = (0..<4).map { q in (0..<4).reduce(Float(0)) { $0 + images.scalars[r * 16 + q * 4 + $1] } }
        return quadrant.indices.max { quadrant[$0] < quadrant[$1] }!
    }
    return try DigitDataset(name: "synthetic", images: images, labels: labels, side: 4, classCount: 4)
}

/// The transforms compared between one process and several ranks.
enum Recipe: String, CaseIterable, Sendable {
    case adam, digrap

    func transform() throws -> AnyGradientTransform {
        switch self {
        case .adam: try AnyGradientTransform(Recipes.adam(learningRate: 1e-2))
        case .digrap: try Recipes.digrap(learningRate: 1e-2, omega: .learned(mu: 0.5))
        }
    }
}

/// A fresh MLP 16 → 12 → 4 (the same on every rank).
func model() throws -> Classifier { try Classifier.mlp(input: 16, hidden: [12], classes: 4, seed: 5) }

/// Runs `epochs` over `data` in batches of `batch` by hand: each rank computes the gradient
/// of its shard, averages with one bucketed all-reduce (when `group` is set), then `step`.
func manualTraining(_ classifier: Classifier, data: DigitDataset, batch: Int, epochs: Int, group: (any Communicator)?,
                    step: () throws -> Void) throws {
    let loss = try SoftmaxCrossEntropy()
    let bucket = GradientBucket(parameters: classifier.namedParameters().filter(\.parameter.isTrainable))
    var seeds = SeededGenerator(seed: 99)
    for _ in 0..<epochs {
        var sampler = try BatchSampler(images: data.images, labels: data.labels, batchSize: batch, seed: seeds.next())
        if let group { try sampler.setShard(rank: group.rank, of: group.size) }
        sampler.startEpoch()
        while let b = sampler.next() {
            classifier.model.zeroGradients()
            let out = try loss(classifier.model.forward(b.images), labels: b.labels)
            try classifier.model.accumulateParameterGradients(out.gradient)
            if let group { try bucket.allReduce(scale: Float(b.labels.count) / Float(sampler.lastGlobalRows), over: group) }
            try step()
        }
    }
}

/// The parent of every suite that calls collectives: `.serialized` here makes its suites run
/// one test at a time, in the same order on every rank (suites would otherwise run in parallel
/// and interleave their collectives).
@Suite(.serialized) enum Collective {}
