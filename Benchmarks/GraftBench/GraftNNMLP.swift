import GraftBenchmarking
import GraftNN
import GraftOptim
import GraftTensor

/// The same MLP as `RawMLP`, built with the layer DSL (`Sequential { Dense; ReLU; … }` and
/// `SoftmaxCrossEntropy`): what a Graft user's training step costs. GEMMs run inside `Dense`,
/// so the GEMM share is taken from the sgemm probe at the same shapes.
final class GraftNNMLP: TrainingModel {
    let implementation = "graftnn"
    let parameters: [NamedParameter]
    private let model: Sequential
    private let loss: SoftmaxCrossEntropy
    private let inputs: Tensor
    private let labels: [Int]
    private var lossGradient: Tensor

    init(sizes: [Int], batch: Int, seed: UInt64) throws {
        var layers: [NamedLayer] = []
        for i in 0..<(sizes.count - 1) {
            let dense = try Dense(sizes[i], sizes[i + 1], seed: seed &+ UInt64(i))
            if i == sizes.count - 2 { dense.setAnchor(.none) }  // the head, as in fine-tuning
            layers.append(NamedLayer(name: nil, layer: dense))
            if i < sizes.count - 2 { layers.append(NamedLayer(name: nil, layer: ReLU())) }
        }
        model = try Sequential(layers: layers)
        parameters = model.namedParameters()
        loss = try SoftmaxCrossEntropy()
        var g = SeededGenerator(seed: seed &+ 1000)
        inputs = Tensor.randomUniform(shape: [batch, sizes[0]], generator: &g)
        labels = (0..<batch).map { _ in g.next(below: sizes.last!) }
        lossGradient = Tensor(zeros: [batch, sizes.last!])
    }

    func forward() -> Float {
        let out = try! loss(model.forward(inputs), labels: labels)  // shapes are fixed by construction
        lossGradient = out.gradient
        return out.value
    }

    func backward() {
        model.zeroGradients()
        try! model.accumulateParameterGradients(lossGradient)  // shapes are fixed by construction
    }

    var gemmNanoseconds: UInt64? { nil }
    func resetGemmTime() {}
}
