import GraftBenchmarking
import GraftNN
import GraftOptim
import GraftTensor

/// Training steps of the GraftNN sequence and image layers, the backbones of RobustFineTune's
/// `--backbone vit|cnn` (compare-pytorch.py builds the same models in PyTorch):
///
/// - `vit-block`: one pre-LN `TransformerBlock` (width 64, 4 heads, MLP ×2, as the example's
///   ViT) on 17 tokens (16 patches and a class token), then mean pooling and a `Dense(64, 10)`
///   head under softmax cross-entropy;
/// - `cnn-small`: the example's CNN on 16×16 grey images: Conv2d(1→16, 3×3, padding 1), ReLU,
///   MaxPool2d(2), Conv2d(16→32, 3×3, padding 1), ReLU, MaxPool2d(2), Flatten, Dense(512, 128),
///   ReLU, Dense(128, 10).
///
/// Forward (with the loss), backward (zeroed, then accumulated; the model's input gets no
/// gradient) and an Adam step, timed like the MLP steps; batches 32 and 128.
final class GraftNNLayerModel: TrainingModel {
    let implementation = "graftnn"
    let parameters: [NamedParameter]
    private let model: Sequential
    private let loss: SoftmaxCrossEntropy
    private let inputs: Tensor
    private let labels: [Int]
    private var lossGradient = Tensor(zeros: [0, 0])

    /// The workload names (`LayerWorkloads.configurations`).
    static let vitBlock = "vit-block-w64-h4-t17"
    static let cnnSmall = "cnn-small-16x16-c16-32"

    init(name: String, batch: Int, seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        switch name {
        case Self.vitBlock:
            model = try Sequential {
                try TransformerBlock(width: 64, heads: 4, mlpRatio: 2, seed: seed)
                try TokenPooling(.mean, width: 64)
                try Dense(64, 10, seed: seed &+ 1)
            }
            inputs = Tensor.randomNormal(shape: [batch, 17, 64], generator: &g)
        case Self.cnnSmall:
            model = try Sequential {
                try Reshape([1, 16, 16])
                try Conv2d(1, 16, kernelSize: 3, padding: 1, seed: seed)
                ReLU()
                try MaxPool2d(kernelSize: 2)
                try Conv2d(16, 32, kernelSize: 3, padding: 1, seed: seed &+ 1)
                ReLU()
                try MaxPool2d(kernelSize: 2)
                Flatten()
                try Dense(512, 128, seed: seed &+ 2)
                ReLU()
                try Dense(128, 10, seed: seed &+ 3)
            }
            inputs = Tensor.randomUniform(shape: [batch, 256], generator: &g)
        default:
            throw OptionError("unknown layer workload \(name)")
        }
        parameters = model.namedParameters()
        loss = try SoftmaxCrossEntropy()
        labels = (0..<batch).map { _ in g.next(below: 10) }
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

/// The ViT-block and CNN training-step workloads and their ids (`train/<model>/b<batch>/adam`).
enum LayerWorkloads {
    static let configurations: [(model: String, batch: Int)] = [
        (GraftNNLayerModel.vitBlock, 32), (GraftNNLayerModel.vitBlock, 128),
        (GraftNNLayerModel.cnnSmall, 32), (GraftNNLayerModel.cnnSmall, 128),
    ]

    static func id(_ c: (model: String, batch: Int)) -> String { "train/\(c.model)/b\(c.batch)/adam" }

    /// Times the selected workloads with Adam (lr 1e-3) and returns one result each.
    static func run(selected: (String) -> Bool, policy: TimingPolicy) throws -> [TrainingResult] {
        try configurations.filter { selected(id($0)) }.map { c in
            let model = try GraftNNLayerModel(name: c.model, batch: c.batch, seed: 42)
            let optimizer = try Optimizer(parameters: model.parameters,
                                          groups: [try ParameterGroup("all", selecting: .all, transform: Recipes.adam(learningRate: 1e-3))])
            var f: [Double] = [], b: [Double] = [], s: [Double] = [], total: [Double] = []
            var loss: Float = 0
            let stats = try measure(policy) {
                let t0 = Clock.now()
                loss = model.forward()
                let t1 = Clock.now()
                model.backward()
                let t2 = Clock.now()
                try optimizer.step()
                let t3 = Clock.now()
                f.append(Double(t1 - t0)); b.append(Double(t2 - t1)); s.append(Double(t3 - t2)); total.append(Double(t3 - t0))
            }
            let n = stats.samples
            func tail(_ x: [Double]) throws -> Statistics {
                try Statistics(samples: Array(x.suffix(n)), rounds: stats.rounds, iterationsPerRound: stats.iterationsPerRound)
            }
            return TrainingResult(model: c.model, implementation: model.implementation, batch: c.batch, optimizer: "adam",
                                  parameters: model.parameters.reduce(0) { $0 + $1.parameter.value.count },
                                  forward: try tail(f), backward: try tail(b), optimizerStep: try tail(s), total: try tail(total),
                                  gemmInStep: nil, gemmShare: nil, gemmProbeNanoseconds: nil, finalLoss: loss)
        }
    }
}
