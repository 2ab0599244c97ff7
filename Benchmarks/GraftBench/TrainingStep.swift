import GraftBenchmarking
import GraftOptim
import GraftTensor

/// A classifier that runs forward and backward passes for a fixed batch and exposes its
/// parameters to a Graft `Optimizer`: the unit the training-step benchmark times.
///
/// Implementations:
/// - `RawMLP` (below): Dense + ReLU layers and softmax cross-entropy written directly on raw
///   buffers with `BLAS.gemm`, timing every GEMM call, so the report can give the GEMM share
///   of a step without any layer framework in the way.
///
/// - `GraftNNMLP` (its own file): the same layers from the GraftNN DSL; its GEMM share comes
///   from the sgemm probe at the same shapes.
protocol TrainingModel: AnyObject {
    /// `raw` (hand-written layers) or `graftnn`.
    var implementation: String { get }
    /// The parameters, with anchors set as a fine-tuning run would (the head has none).
    var parameters: [NamedParameter] { get }
    /// Forward pass and loss on the fixed batch.
    func forward() -> Float
    /// Backward pass: fills every parameter's `gradient`.
    func backward()
    /// GEMM time accumulated since the last `resetGemmTime()` (nil: not measurable).
    var gemmNanoseconds: UInt64? { get }
    func resetGemmTime()
}

/// One GEMM of a training step, for the sgemm probe.
struct GemmShape: Codable, Sendable {
    /// e.g. `fc1 forward`, `fc2 dW`, `fc2 dX`.
    var name: String
    var transposeA: Bool
    var transposeB: Bool
    var m: Int
    var n: Int
    var k: Int
    /// 2 m n k.
    var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// An MLP `sizes[0] → … → sizes.last` with ReLU between layers and softmax cross-entropy,
/// on raw buffers. Weights are `[out, in]` (PyTorch's `nn.Linear` layout, as GraftNN's `Dense`),
/// initialised U(±1/√in); the batch is uniform in [0, 1) with random labels, fixed for the run.
///
/// Forward per layer: `Y = X Wᵀ` (`sgemm`), then bias and ReLU in one loop. Backward per layer:
/// `dW = Gᵀ X` and `db = Σ_rows G` (written, not accumulated, so no gradient zeroing is needed),
/// `dX = G W` except for the first layer (its input needs no gradient, as in PyTorch), then the
/// ReLU mask. The loss gradient `(softmax(z) − onehot) / B` is computed in `backward`, as
/// autograd does.
final class RawMLP: TrainingModel {
    let implementation = "raw"
    let sizes: [Int]
    let batch: Int
    let parameters: [NamedParameter]
    private let weights: [Parameter]
    private let biases: [Parameter]
    private var activations: [[Float]]   // activations[0] = input, activations[l] = output of layer l
    private var logSumExp: [Float]
    private var gradientA: [Float]
    private var gradientB: [Float]
    private let labels: [Int]
    private var gemmTime: UInt64 = 0

    init(sizes: [Int], batch: Int, seed: UInt64) throws {
        precondition(sizes.count >= 2)
        self.sizes = sizes
        self.batch = batch
        var g = SeededGenerator(seed: seed)
        var w: [Parameter] = [], b: [Parameter] = [], named: [NamedParameter] = []
        let layers = sizes.count - 1
        for l in 0..<layers {
            let (fanIn, fanOut) = (sizes[l], sizes[l + 1])
            let bound = 1 / Float(fanIn).squareRoot()
            let isHead = l == layers - 1
            let weight = Parameter(Tensor.randomUniform(shape: [fanOut, fanIn], lower: -bound, upper: bound, generator: &g),
                                   anchor: isHead ? .none : .initial)
            let bias = Parameter(Tensor.randomUniform(shape: [fanOut], lower: -bound, upper: bound, generator: &g),
                                 anchor: isHead ? .none : .initial)
            w.append(weight); b.append(bias)
            let name = isHead ? "head" : "body.\(l)"
            named.append(NamedParameter(path: "\(name).weight", parameter: weight))
            named.append(NamedParameter(path: "\(name).bias", parameter: bias))
        }
        weights = w; biases = b; parameters = named
        activations = sizes.map { [Float](repeating: 0, count: batch * $0) }
        for i in 0..<(batch * sizes[0]) { activations[0][i] = g.nextFloat() }
        labels = (0..<batch).map { _ in g.next(below: sizes.last!) }
        logSumExp = [Float](repeating: 0, count: batch)
        let widest = sizes.max()!
        gradientA = [Float](repeating: 0, count: batch * widest)
        gradientB = gradientA
    }

    /// The GEMMs of one training step (forward, then backward), in execution order.
    static func gemmShapes(sizes: [Int], batch: Int) -> [GemmShape] {
        let layers = sizes.count - 1
        var out: [GemmShape] = []
        for l in 0..<layers {
            out.append(GemmShape(name: "fc\(l + 1) forward", transposeA: false, transposeB: true, m: batch, n: sizes[l + 1], k: sizes[l]))
        }
        for l in (0..<layers).reversed() {
            out.append(GemmShape(name: "fc\(l + 1) dW", transposeA: true, transposeB: false, m: sizes[l + 1], n: sizes[l], k: batch))
            if l > 0 {
                out.append(GemmShape(name: "fc\(l + 1) dX", transposeA: false, transposeB: false, m: batch, n: sizes[l], k: sizes[l + 1]))
            }
        }
        return out
    }

    var gemmNanoseconds: UInt64? { gemmTime }
    func resetGemmTime() { gemmTime = 0 }

    @inline(__always)
    private func gemm(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                      _ c: UnsafeMutablePointer<Float>) {
        let t0 = Clock.now()
        BLAS.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 1, a: a, b: b, beta: 0, c: c)
        gemmTime &+= Clock.now() - t0
    }

    func forward() -> Float {
        let layers = sizes.count - 1
        let batch = self.batch
        for l in 0..<layers {
            let (fanIn, fanOut) = (sizes[l], sizes[l + 1])
            let relu = l < layers - 1
            let w = weights[l].value.unsafeStorage().baseAddress!, bias = biases[l].value.unsafeStorage().baseAddress!
            activations[l].withUnsafeBufferPointer { x in
                activations[l + 1].withUnsafeMutableBufferPointer { y in
                    let yp = y.baseAddress!
                    gemm(false, true, batch, fanOut, fanIn, x.baseAddress!, w, yp)
                    for r in 0..<batch {
                        let row = yp + r * fanOut
                        if relu {
                            for c in 0..<fanOut { row[c] = max(row[c] + bias[c], 0) }
                        } else {
                            for c in 0..<fanOut { row[c] += bias[c] }
                        }
                    }
                }
            }
        }
        // Softmax cross-entropy: log-sum-exp per row (kept for backward), mean loss.
        let classes = sizes.last!
        var total = 0.0
        activations[layers].withUnsafeBufferPointer { z in
            for r in 0..<batch {
                let row = z.baseAddress! + r * classes
                var mx = -Float.infinity
                for c in 0..<classes { mx = max(mx, row[c]) }
                var s: Float = 0
                for c in 0..<classes { s += expf(row[c] - mx) }
                let lse = mx + logf(s)
                logSumExp[r] = lse
                total += Double(lse - row[labels[r]])
            }
        }
        return Float(total / Double(batch))
    }

    func backward() {
        let layers = sizes.count - 1
        let batch = self.batch
        let classes = sizes.last!
        // G = (softmax(z) − onehot) / B into gradientA.
        let invB = 1 / Float(batch)
        activations[layers].withUnsafeBufferPointer { z in
            gradientA.withUnsafeMutableBufferPointer { g in
                for r in 0..<batch {
                    let lse = logSumExp[r]
                    for c in 0..<classes {
                        let i = r * classes + c
                        g[i] = (expf(z[i] - lse) - (c == labels[r] ? 1 : 0)) * invB
                    }
                }
            }
        }
        for l in (0..<layers).reversed() {
            let (fanIn, fanOut) = (sizes[l], sizes[l + 1])
            let dW = weights[l].gradient.unsafeMutableStorage().baseAddress!
            let db = biases[l].gradient.unsafeMutableStorage().baseAddress!
            let w = weights[l].value.unsafeStorage().baseAddress!
            gradientA.withUnsafeBufferPointer { gb in
                let g = gb.baseAddress!
                activations[l].withUnsafeBufferPointer { x in
                    gemm(true, false, fanOut, fanIn, batch, g, x.baseAddress!, dW)
                }
                for c in 0..<fanOut { db[c] = 0 }
                for r in 0..<batch {
                    let row = g + r * fanOut
                    for c in 0..<fanOut { db[c] += row[c] }
                }
                if l > 0 {
                    gradientB.withUnsafeMutableBufferPointer { dx in
                        gemm(false, false, batch, fanIn, fanOut, g, w, dx.baseAddress!)
                        // ReLU mask: the layer's input is the previous layer's ReLU output.
                        activations[l].withUnsafeBufferPointer { a in
                            for i in 0..<(batch * fanIn) where a[i] <= 0 { dx[i] = 0 }
                        }
                    }
                }
            }
            if l > 0 { swap(&gradientA, &gradientB) }
        }
    }
}

/// A training-step configuration.
struct TrainingConfiguration: Sendable {
    var sizes: [Int]
    var batch: Int
    /// `adam` or `digrap` (DiGraP on the anchored body, Adam on the head).
    var optimizer: String
    var name: String { "mlp-" + sizes.map(String.init).joined(separator: "-") }
    var label: String { "\(name) b\(batch) \(optimizer)" }
}

/// Timing of one training step, split into phases.
struct TrainingResult: Codable, Sendable {
    var model: String
    var implementation: String
    var batch: Int
    var optimizer: String
    var parameters: Int
    var forward: Statistics
    var backward: Statistics
    var optimizerStep: Statistics
    var total: Statistics
    /// GEMM time per step measured inside the step (median over steps), ns.
    var gemmInStep: Statistics?
    /// Median GEMM time over the median step time.
    var gemmShare: Double?
    /// The sum of the sgemm probe's medians at this model's shapes, ns ("GEMMs alone").
    var gemmProbeNanoseconds: Double?
    /// The loss after the last step (the run trains on one batch, so it falls).
    var finalLoss: Float
    /// The C floor of this optimizer (`floor.adam`) over the model's parameter shapes, median ns per step.
    var optimizerFloorNanoseconds: Double?
    /// Median step over (GEMMs alone + the optimizer floor): issue 12's training-step target (≤ 1.15).
    var ratioToGemmsPlusFloor: Double?
}

enum TrainingBenchmark {
    static let configurations: [TrainingConfiguration] = [
        TrainingConfiguration(sizes: [784, 512, 256, 10], batch: 32, optimizer: "adam"),
        TrainingConfiguration(sizes: [784, 512, 256, 10], batch: 128, optimizer: "adam"),
        TrainingConfiguration(sizes: [784, 2048, 2048, 10], batch: 128, optimizer: "adam"),
        TrainingConfiguration(sizes: [256, 512, 256, 128, 10], batch: 32, optimizer: "adam"),
        TrainingConfiguration(sizes: [256, 512, 256, 128, 10], batch: 32, optimizer: "digrap"),
    ]

    /// The models to time for a configuration: hand-written layers and the GraftNN DSL.
    static func models(_ c: TrainingConfiguration) throws -> [any TrainingModel] {
        [try RawMLP(sizes: c.sizes, batch: c.batch, seed: 42), try GraftNNMLP(sizes: c.sizes, batch: c.batch, seed: 42)]
    }

    static func optimizer(for model: any TrainingModel, _ kind: String) throws -> Optimizer {
        switch kind {
        case "digrap":
            let body = try ParameterGroup("body", selecting: .hasAnchor,
                                          transform: Recipes.digrap(learningRate: 1e-3, omega: .learned(mu: 0.5)))
            let head = try ParameterGroup("head", selecting: .all, transform: Recipes.adam(learningRate: 1e-3))
            return try Optimizer(parameters: model.parameters, groups: [body, head])
        default:
            return try Optimizer(parameters: model.parameters,
                                 groups: [try ParameterGroup("all", selecting: .all, transform: Recipes.adam(learningRate: 1e-3))])
        }
    }

    /// The C Adam floor over the model's parameter shapes (median ns per step).
    static func adamFloor(_ parameters: [NamedParameter], threads: Int, policy: TimingPolicy) throws -> Double {
        let layout = try Layout(name: "model", tensors: parameters.map { TensorSpec(path: $0.path, shape: $0.parameter.value.shape, anchored: false) })
        let floor = CFloor(kind: .adam, data: try LayoutData(layout, seed: 9), threads: threads)
        return measure(policy) { floor.run() }.p50
    }

    static func run(_ c: TrainingConfiguration, model: any TrainingModel, policy: TimingPolicy,
                    probe: Double?) throws -> TrainingResult {
        let optimizer = try optimizer(for: model, c.optimizer)
        var f: [Double] = [], b: [Double] = [], s: [Double] = [], total: [Double] = [], gemm: [Double] = []
        var loss: Float = 0
        let stats = try measure(policy) {
            model.resetGemmTime()
            let t0 = Clock.now()
            loss = model.forward()
            let t1 = Clock.now()
            model.backward()
            let t2 = Clock.now()
            try optimizer.step()
            let t3 = Clock.now()
            f.append(Double(t1 - t0)); b.append(Double(t2 - t1)); s.append(Double(t3 - t2)); total.append(Double(t3 - t0))
            if let g = model.gemmNanoseconds { gemm.append(Double(g)) }
        }
        // Phase samples were recorded for the warm-up too: the timed rounds are the last ones.
        let n = stats.samples
        func tail(_ x: [Double]) throws -> Statistics {
            try Statistics(samples: Array(x.suffix(n)), rounds: stats.rounds, iterationsPerRound: stats.iterationsPerRound)
        }
        let gemmStats = gemm.isEmpty ? nil : try tail(gemm)
        let totalStats = try tail(total)
        return TrainingResult(model: c.name, implementation: model.implementation, batch: c.batch, optimizer: c.optimizer,
                              parameters: model.parameters.reduce(0) { $0 + $1.parameter.value.count },
                              forward: try tail(f), backward: try tail(b), optimizerStep: try tail(s), total: totalStats,
                              gemmInStep: gemmStats, gemmShare: gemmStats.map { $0.p50 / totalStats.p50 },
                              gemmProbeNanoseconds: probe, finalLoss: loss)
    }
}

/// sgemm at the training-step shapes.
struct GemmProbeResult: Codable, Sendable {
    var model: String
    var batch: Int
    var shape: GemmShape
    var timing: Statistics
    /// GFLOP/s at the median.
    var gflopsPerSecond: Double
}

enum GemmProbe {
    static func run(sizes: [Int], batch: Int, model: String, policy: TimingPolicy) -> [GemmProbeResult] {
        var g = SeededGenerator(seed: 7)
        return RawMLP.gemmShapes(sizes: sizes, batch: batch).map { shape in
            let aCount = shape.m * shape.k, bCount = shape.k * shape.n
            let a = (0..<aCount).map { _ in g.nextFloat() - 0.5 }
            let b = (0..<bCount).map { _ in g.nextFloat() - 0.5 }
            var c = [Float](repeating: 0, count: shape.m * shape.n)
            let timing = a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        measure(policy) {
                            BLAS.gemm(transposeA: shape.transposeA, transposeB: shape.transposeB, m: shape.m, n: shape.n, k: shape.k,
                                      alpha: 1, a: ap.baseAddress!, b: bp.baseAddress!, beta: 0, c: cp.baseAddress!)
                        }
                    }
                }
            }
            blackHole(c[0])
            return GemmProbeResult(model: model, batch: batch, shape: shape, timing: timing, gflopsPerSecond: shape.flops / timing.p50)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
