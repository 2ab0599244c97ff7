import Foundation
import Graft

// Quick start: an MLP from the layer DSL, trained by a Graft optimizer with the backbone
// and the head in different parameter groups. The loss is printed as it falls.

let usage = """
    usage: NNQuickStart [--steps N] [--seed S]

    Trains a 2-32-32-2 MLP on 256 points of an XOR-like quadrant problem with AdamW
    (cosine decay) on the backbone and Adam on the head, printing loss and accuracy.
    Defaults: --steps 200 --seed 42 (the data seed). Ranges: steps 1…100000; a bad value
    prints one line on stderr and exits with status 2.
    """
var steps = 200, dataSeed: UInt64 = 42
do {
    var arguments = ArgumentList(Array(CommandLine.arguments.dropFirst()))
    while let flag = arguments.next() {
        switch flag {
        case "-h", "--help": print(usage); exit(0)
        case "--steps": steps = try arguments.int(for: flag, in: 1...100_000)
        case "--seed": dataSeed = try arguments.seed(for: flag)
        default: throw UsageError("unknown option \(flag)")
        }
    }
} catch {
    ExampleCommandLine.exitWithUsageError("NNQuickStart", error)
}

// Data: 256 points in [-1, 1]², label 1 when x₀·x₁ > 0 (XOR-like quadrants).
var generator = SeededGenerator(seed: dataSeed)
let inputs = Tensor.randomUniform(shape: [256, 2], lower: -1, upper: 1, generator: &generator)
let labels = (0..<256).map { i in inputs[i, 0] * inputs[i, 1] > 0 ? 1 : 0 }

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

// Optimizer: AdamW with cosine decay on the backbone, plain Adam at a higher rate on the head.
let optimizer = try Optimizer(parameters: model.namedParameters(), groups: [
    ParameterGroup("backbone", selecting: .prefix("body.")) {
        try ScaleByAdam()
        try AddDecayedWeights(1e-4)
        try ScaleByLearningRate(Schedule(.cosine(initial: 1e-2, totalSteps: steps, final: 0)))
    },
    ParameterGroup("head", selecting: .prefix("head."), transform: try Recipes.adam(learningRate: 3e-2)),
])

let crossEntropy = try SoftmaxCrossEntropy()
for step in 1...steps {
    model.zeroGradients()
    let logits = try model(inputs)
    let loss = try crossEntropy(logits, labels: labels)
    _ = try model.backward(loss.gradient)
    try optimizer.step()
    if step == 1 || step % 40 == 0 {
        print("step \(step): loss \(String(format: "%.4f", loss.value)), accuracy \(try accuracy(logits: logits, labels: labels))")
    }
}
