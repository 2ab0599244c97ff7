// Quick start: logistic regression with hand-written gradients and plain gradient descent,
// on seeded synthetic data, using only the tensor core (Tensor, matmul, reductions).
import Graft
#if canImport(Glibc)
import Glibc
#endif

let usage = """
    usage: QuickStart [--steps N] [--learning-rate LR] [--seed S]

    Fits p(y = 1 | x) = σ(x·w + b) to 2,000 noisy labels drawn from a known w*, b*
    by gradient descent on the mean cross-entropy, printing the loss every 25 steps.
    Defaults: --steps 200 --learning-rate 0.5 --seed 42. Ranges: steps 0…1000000,
    learning rate (0, 10]; a bad value prints one line on stderr and exits with status 2.
    """
var steps = 200, learningRate: Float = 0.5, seed: UInt64 = 42
do {
    var arguments = ArgumentList(Array(CommandLine.arguments.dropFirst()))
    while let flag = arguments.next() {
        switch flag {
        case "-h", "--help": print(usage); exit(0)
        case "--steps": steps = try arguments.int(for: flag, in: 0...1_000_000)
        case "--learning-rate": learningRate = try arguments.float(for: flag, in: ExampleCommandLine.learningRate, excludingLowerBound: true)
        case "--seed": seed = try arguments.seed(for: flag)
        default: throw UsageError("unknown option \(flag)")
        }
    }
} catch {
    ExampleCommandLine.exitWithUsageError("QuickStart", error)
}

// Synthetic data: x ~ N(0, 1)^5, y ~ Bernoulli(σ(x·w* + b*)).
let (n, d) = (2_000, 5)
let trueWeights = Tensor([2, -1, 0.5, 0, 3]), trueBias: Float = -0.5
var generator = SeededGenerator(seed: seed)
let x = Tensor.randomNormal(shape: [n, d], generator: &generator)
let trueLogits = try Tensor.matvec(x, trueWeights) + trueBias
let y = trueLogits.map { z in generator.nextFloat() < 1 / (1 + exp(-z)) ? 1 : 0 }

func pad(_ s: String, _ width: Int) -> String { String(repeating: " ", count: Swift.max(0, width - s.count)) + s }
func rounded(_ v: Float, _ digits: Int) -> String {
    let scale = Float((0..<digits).reduce(1) { r, _ in r * 10 })
    return "\((v * scale).rounded() / scale)"
}

/// Mean cross-entropy from logits: softplus(z) − y·z, computed without overflow.
func loss(_ logits: Tensor) throws -> Float {
    let softplus = logits.map { z in Swift.max(z, 0) + log1p(exp(-abs(z))) }
    return (softplus.sum() - (try logits.dot(y))) / Float(n)
}

print("Graft quick start: logistic regression, \(n) samples × \(d) features, OpenBLAS core \(BLAS.coreName)")
print("loss of the true parameters (noise floor): \(rounded(try loss(trueLogits), 4))")
var w = Tensor(zeros: [d, 1]), b = Tensor(zeros: [1])
for step in 0...steps {
    var logits = try Tensor.matmul(x, w)                  // [n, 1]
    try logits.addRowBias(b)
    let flat = try logits.reshaped(to: [n])
    if step % 25 == 0 || step == steps {
        print("step \(pad(String(step), 4))  loss \(rounded(try loss(flat), 4))")
    }
    if step == steps { break }
    // ∂loss/∂z = (σ(z) − y) / n;  ∂loss/∂w = xᵀ·∂z;  ∂loss/∂b = Σ ∂z.
    let residual = try (flat.map { 1 / (1 + exp(-$0)) } - y) / Float(n)
    let gradW = try Tensor.matmul(x, transposed: true, residual.reshaped(to: [n, 1]))
    try w.addScaled(gradW, by: -learningRate)
    b[flat: 0] -= learningRate * residual.sum()
}

let fitted = try Tensor.matvec(x, try w.reshaped(to: [d])) + b[flat: 0]
var correct = 0
for i in 0..<n where (fitted[flat: i] > 0) == (y[flat: i] == 1) { correct += 1 }
func show(_ t: Tensor) -> String { t.scalars.map { pad(rounded($0, 2), 6) }.joined() }
print("true    w: \(show(trueWeights))   b: \(pad(rounded(trueBias, 2), 6))")
print("learned w: \(show(try w.reshaped(to: [d])))   b: \(pad(rounded(b[flat: 0], 2), 6))")
print("training accuracy: \(Double(correct) / Double(n) * 100)%")
