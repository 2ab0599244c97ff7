import Graft

// Quick start for the layer DSL: learn XOR-like quadrants of the plane with a small MLP,
// a hand-written SGD step over `namedParameters()`, and the loss printed as it falls.

// Data: 128 points in [-1, 1]², label 1 when x₀·x₁ > 0.
var generator = SeededGenerator(seed: 42)
let inputs = Tensor.randomUniform(shape: [128, 2], lower: -1, upper: 1, generator: &generator)
let labels = (0..<128).map { i in inputs[i, 0] * inputs[i, 1] > 0 ? 1 : 0 }

// Model: paths body.0.weight, body.0.bias, body.2.weight, body.2.bias, head.weight, head.bias.
let model = try Sequential {
    try Sequential("body") {
        try Dense(2, 32, seed: 1)
        ReLU()
        try Dense(32, 32, seed: 2)
        ReLU()
    }
    try Dense(32, 2, seed: 3).named("head")
}
let crossEntropy = try SoftmaxCrossEntropy()
let parameters = model.namedParameters()
print("parameters:", parameters.map { "\($0.path) \($0.parameter.shape)" }.joined(separator: ", "))

// Training: full-batch SGD, θ ← θ − η ∇L.
let learningRate: Float = 0.5
for step in 1...300 {
    model.zeroGradients()
    let logits = model.forward(inputs)
    let loss = try crossEntropy(logits, labels: labels)
    _ = model.backward(loss.gradient)
    for p in parameters where p.parameter.isTrainable {
        try p.parameter.value.addScaled(p.parameter.gradient, by: -learningRate)
    }
    if step == 1 || step % 50 == 0 {
        let correct = try accuracy(logits: logits, labels: labels)
        print("step \(step): loss \(loss.value), accuracy \(correct)")
    }
}
