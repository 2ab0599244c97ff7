import Foundation
import Graft

// Multi-task learning with gradient surgery on real digits.
//
// One shared MLP trunk, one linear head per task. Every step computes each task's gradient
// separately (one trunk forward, then per task: head forward, loss, head backward, trunk
// backward) and hands the K gradients to `Optimizer.step(objectives:)`. A task's gradient
// has no entry for the other tasks' heads: a missing path is a zero gradient, so heads
// never conflict and only the trunk sees surgery. The same model, data, batch order and
// Adam settings run with three aggregators: the plain sum, PCGrad over the whole model
// ("global", the paper) and PCGrad per tensor (layer-wise).

let usage = """
    usage: MultiTaskPCGrad [options]

    Trains one shared MLP trunk 256-\(Options().hidden.map(String.init).joined(separator: "-")) with one linear head per task on
    MNIST + fonts + optdigits (16×16; \(Options().trainPerClass) per digit for training, the rest for test),
    once per aggregator, from the same initialisation and batch order:
      sum            summed task gradients (SumAggregator)
      pcgrad-global  PCGrad over all parameters at once (Yu et al., 2020)
      pcgrad-tensor  PCGrad per parameter tensor (layer-wise)
    Base rule: Adam, cosine learning-rate decay. Reports per-task test accuracy and, from
    PCGrad's telemetry, the share of steps whose task gradients conflict, per layer.

    options:
      --tasks a,b,…     at least two of these tasks (default \(Options().tasks.map(\.rawValue).joined(separator: ","))):
                          digit   the digit, 10-way
                          high    whether the digit is ≥ 5, 2-way
                          parity  whether the digit is odd, 2-way
                          source  which data set the image comes from (MNIST, fonts, optdigits), 3-way
      --epochs N        training epochs (default \(Options().epochs))
      --seed S          seed of the first run: split, initialisation, batch order (default \(Options().seed))
      --seeds N         runs with seeds S, S+1, …, S+N−1; tables show mean ± sd (default \(Options().seeds))
      --lr X            Adam learning rate, decayed by cosine to 0 (default \(Options().learningRate))
      --batch-size N    examples per step (default \(Options().batchSize))
      --threads N       worker threads for Graft kernels and OpenBLAS (default: all cores)
      --data DIR        the digits16 data folder (default: found from GRAFT_DATA or the working directory)
      --output DIR      where results go (default \(Options().output))
      --help            this text

    Writes results.md and conflicts.svg (share of steps with conflicting task gradients per
    epoch and layer) to the output folder.
    """

// MARK: - Options

/// A task: a label derived from a digit and the data set the image comes from.
enum Task: String, CaseIterable {
    case digit, high, parity, source

    /// Number of classes of the task's head.
    var classes: Int {
        switch self {
        case .digit: return 10
        case .high, .parity: return 2
        case .source: return 3
        }
    }

    /// Column title in tables.
    var title: String {
        switch self {
        case .digit: return "digit (10-way)"
        case .high: return "digit ≥ 5"
        case .parity: return "odd digit"
        case .source: return "source (3-way)"
        }
    }

    /// The label of an image of `digit` from data set number `source`.
    func label(digit: Int, source: Int) -> Int {
        switch self {
        case .digit: return digit
        case .high: return digit >= 5 ? 1 : 0
        case .parity: return digit % 2
        case .source: return source
        }
    }
}

/// How the task gradients become one.
enum Method: String, CaseIterable {
    case sum
    case pcgradGlobal = "pcgrad-global"
    case pcgradTensor = "pcgrad-tensor"
}

struct Options {
    var tasks: [Task] = [.digit, .high, .parity]
    var epochs = 10
    var seed: UInt64 = 1
    var seeds = 3
    var learningRate: Float = 1e-3
    var batchSize = 64
    var threads: Int?
    var data: String?
    var output = "out/multitask-pcgrad"
    let hidden = [256, 128]
    let trainPerClass = 400
}

func parse(_ arguments: [String]) throws -> Options {
    var o = Options()
    var args = ArgumentList(arguments)
    func value(_ flag: String) throws -> String { try args.value(for: flag) }
    while let flag = args.next() {
        switch flag {
        case "--help", "-h": print(usage); exit(0)
        case "--tasks":
            let text = try value(flag)
            var tasks: [Task] = []
            for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
                guard let t = Task(rawValue: item) else {
                    throw UsageError("unknown task \"\(item)\"; known: \(Task.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard !tasks.contains(t) else { throw UsageError("task \"\(item)\" is listed twice") }
                tasks.append(t)
            }
            guard tasks.count >= 2 else { throw UsageError("--tasks needs at least two tasks, got \"\(text)\"") }
            o.tasks = tasks
        case "--epochs": o.epochs = try args.int(for: flag, in: ExampleCommandLine.epochs)
        case "--seed": o.seed = try args.seed(for: flag)
        case "--seeds": o.seeds = try args.int(for: flag, in: ExampleCommandLine.seedCount)
        case "--lr": o.learningRate = try args.float(for: flag, in: ExampleCommandLine.learningRate, excludingLowerBound: true)
        case "--batch-size": o.batchSize = try args.int(for: flag, in: ExampleCommandLine.batchSize)
        case "--threads": o.threads = try args.int(for: flag, in: ExampleCommandLine.threads)
        case "--data": o.data = try value(flag)
        case "--output": o.output = try value(flag)
        default: throw UsageError("unknown option \(flag)")
        }
    }
    return o
}

// MARK: - Model

/// A shared trunk and one linear head per task. Parameter paths: `trunk.0.weight`, …,
/// `heads.<task>.weight`, `heads.<task>.bias`.
final class MultiTaskModel {
    let trunk: Sequential
    let heads: [Dense]
    /// Paths and parameters of the trunk, and of each head.
    let trunkParameters: [NamedParameter]
    let headParameters: [[NamedParameter]]

    init(tasks: [Task], hidden: [Int], seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        trunk = try Sequential("trunk") {
            for (input, output) in zip([256] + hidden, hidden) {
                try Dense(input, output, generator: &generator)
                ReLU()
            }
        }
        heads = try tasks.map { try Dense(hidden.last!, $0.classes, generator: &generator) }
        trunkParameters = trunk.namedParameters().map { NamedParameter(path: "trunk." + $0.path, parameter: $0.parameter) }
        headParameters = zip(tasks, heads).map { task, head in
            head.namedParameters().map { NamedParameter(path: "heads.\(task.rawValue)." + $0.path, parameter: $0.parameter) }
        }
    }

    /// Every parameter, trunk first.
    var namedParameters: [NamedParameter] { trunkParameters + headParameters.flatMap { $0 } }

    func zeroGradients() {
        trunk.zeroGradients()
        for head in heads { head.zeroGradients() }
    }
}

// MARK: - Data

/// Images with one label per task.
struct MultiTaskData {
    let images: Tensor
    let labels: [[Int]]  // labels[task][example]
    var count: Int { images.shape[0] }
}

/// MNIST + fonts + optdigits, split per digit into train and test.
func split(_ domains: DigitDomains, tasks: [Task], trainPerClass: Int, seed: UInt64) throws -> (train: MultiTaskData, test: MultiTaskData) {
    let parts = [domains.mnist, domains.fonts, domains.optdigits]
    let pool = try DigitDataset.concatenating(parts, name: "digits")
    let sources = parts.enumerated().flatMap { i, d in [Int](repeating: i, count: d.count) }
    let split = try DatasetSplit(pool, trainPerClass: trainPerClass, validationPerClass: 0, seed: seed)
    func make(_ d: DigitDataset, _ indices: [Int]) -> MultiTaskData {
        MultiTaskData(images: d.images, labels: tasks.map { task in
            zip(d.labels, indices).map { task.label(digit: $0, source: sources[$1]) }
        })
    }
    return (make(split.train, split.trainIndices), make(split.test, split.testIndices))
}

// MARK: - Training

/// What one run reports.
struct RunResult {
    /// Test accuracy per task.
    var accuracy: [Double]
    /// Per trunk tensor (in `conflictPaths` order) and epoch: share of steps with ≥ 1 conflicting pair.
    var conflictShare: [[Double]]
    /// Per trunk tensor: mean conflicting (ordered) task pairs per step, over the run.
    var conflictPairs: [Double]
    var seconds: Double
}

func run(_ method: Method, options: Options, data: (train: MultiTaskData, test: MultiTaskData), seed: UInt64,
         progress: ProgressLine) throws -> RunResult {
    let start = Date()
    let tasks = options.tasks
    let model = try MultiTaskModel(tasks: tasks, hidden: options.hidden, seed: seed &* 7919 &+ 1)
    let stepsPerEpoch = data.train.count / options.batchSize
    guard stepsPerEpoch > 0 else {
        throw UsageError("--batch-size \(options.batchSize) exceeds the \(data.train.count) training examples")
    }
    let totalSteps = options.epochs * stepsPerEpoch
    let lr = try Schedule(.cosine(initial: options.learningRate, totalSteps: totalSteps, final: 0), key: "lr")
    let group: ParameterGroup
    switch method {
    case .sum:
        group = try ParameterGroup("all", selecting: .all, aggregator: SumAggregator(), transform: Recipes.adam(learningRate: lr))
    case .pcgradGlobal, .pcgradTensor:
        let r = try Recipes.pcgrad(learningRate: lr, granularity: method == .pcgradGlobal ? .global : .tensor, base: .adam())
        group = try ParameterGroup("all", selecting: .all, aggregator: r.aggregator, transform: r.transform)
    }
    let optimizer = try Optimizer(parameters: model.namedParameters, groups: [group])
    let losses = try tasks.map { _ in try SoftmaxCrossEntropy() }

    // The batch order depends on the seed only, so every method sees the same batches.
    var order = SeededGenerator(seed: seed &+ 303)
    let width = data.train.images.shape[1]
    var batchImages = Tensor(zeros: [options.batchSize, width])
    var batchLabels = tasks.map { _ in [Int](repeating: 0, count: options.batchSize) }

    let paths = model.trunkParameters.map(\.path)
    var conflictSteps = [[Int]](repeating: [], count: paths.count)
    var pairSums = [Double](repeating: 0, count: paths.count)
    var step = 0
    var lossSums = [Double](repeating: 0, count: tasks.count)
    for epoch in 1...options.epochs {
        let permutation = order.permutation(data.train.count)
        for i in paths.indices { conflictSteps[i].append(0) }
        lossSums = lossSums.map { _ in 0 }
        var batches = 0
        for b in 0..<stepsPerEpoch {
            // Gather the batch (rows of the training images, one label per task).
            let rows = permutation[(b * options.batchSize)..<((b + 1) * options.batchSize)]
            data.train.images.withUnsafeBufferPointer { src in
                batchImages.withUnsafeMutableBufferPointer { dst in
                    for (r, i) in rows.enumerated() {
                        (dst.baseAddress! + r * width).update(from: src.baseAddress! + i * width, count: width)
                    }
                }
            }
            for k in tasks.indices { for (r, i) in rows.enumerated() { batchLabels[k][r] = data.train.labels[k][i] } }

            // One trunk forward; per task: head forward, loss, head and trunk backward.
            let features = try model.trunk.forward(batchImages)
            var objectives: [[String: Tensor]] = []
            for k in tasks.indices {
                model.zeroGradients()
                let out = try losses[k](model.heads[k].forward(features), labels: batchLabels[k])
                _ = try model.trunk.backward(try model.heads[k].backward(out.gradient))
                lossSums[k] += Double(out.value)
                var gradients: [String: Tensor] = [:]
                // Task k's gradient: the trunk and its own head (other heads: missing, so zero).
                for p in model.trunkParameters + model.headParameters[k] { gradients[p.path] = p.parameter.gradient }
                objectives.append(gradients)
            }
            try optimizer.step(objectives: objectives)
            step += 1
            batches += 1

            if method != .sum {
                for (i, path) in paths.enumerated() {
                    let pairs = optimizer.telemetry(for: path)["last_projections"] ?? 0
                    if pairs > 0 { conflictSteps[i][epoch - 1] += 1 }
                    pairSums[i] += pairs
                }
            }
            let lossText = zip(tasks, lossSums).map { String(format: "%@ %.3f", $0.rawValue, $1 / Double(batches)) }.joined(separator: " ")
            progress.update(String(format: "seed %llu · %@ · epoch %d/%d · step %d/%d · loss %@ · %.0f steps/s",
                                   seed, method.rawValue, epoch, options.epochs, step, totalSteps, lossText,
                                   Double(step) / max(1e-9, Date().timeIntervalSince(start))))
        }
    }
    return RunResult(accuracy: try evaluate(model, on: data.test),
                     conflictShare: conflictSteps.map { $0.map { Double($0) / Double(stepsPerEpoch) } },
                     conflictPairs: pairSums.map { $0 / Double(totalSteps) },
                     seconds: Date().timeIntervalSince(start))
}

/// Test accuracy of each head (one trunk forward per batch).
func evaluate(_ model: MultiTaskModel, on data: MultiTaskData, batchSize: Int = 512) throws -> [Double] {
    var correct = [Int](repeating: 0, count: model.heads.count)
    let width = data.images.shape[1]
    var start = 0
    while start < data.count {
        let n = min(batchSize, data.count - start)
        let rows = data.images.withUnsafeBufferPointer { Array($0[(start * width)..<((start + n) * width)]) }
        let features = try model.trunk.forward(try Tensor(shape: [n, width], scalars: rows))
        for (k, head) in model.heads.enumerated() {
            let logits = try head.forward(features)
            let classes = logits.shape[1]
            logits.withUnsafeBufferPointer { z in
                for r in 0..<n {
                    var best = 0
                    for c in 1..<classes where z[r * classes + c] > z[r * classes + best] { best = c }
                    if best == data.labels[k][start + r] { correct[k] += 1 }
                }
            }
        }
        start += n
    }
    return correct.map { Double($0) / Double(data.count) }
}

// MARK: - Reporting

/// "97.1" for one value, "97.1 ± 0.3" (sample standard deviation) for several.
func summary(_ values: [Double], scale: Double = 100, digits: Int = 1) -> String {
    MeanStd(values).formatted(scale: scale, digits: digits)
}

func mean(_ values: [Double]) -> Double { MeanStd(values).mean }

// MARK: - Main

do {
    // Every flag, and the output folder, is checked before any work: exit 2 with one line.
    let (options, outputFolder) = ExampleCommandLine.parseOrExit("MultiTaskPCGrad", parse, output: \.output)
    ExampleEnvironment.configure(threads: options.threads)
    let wallStart = Date()
    let progress = ProgressLine()
    let seeds = (0..<options.seeds).map { options.seed &+ UInt64($0) }
    print("Graft multi-task PCGrad · tasks: \(options.tasks.map(\.rawValue).joined(separator: ", ")) · trunk 256-\(options.hidden.map(String.init).joined(separator: "-")) · Adam lr \(options.learningRate) (cosine) · batch \(options.batchSize) · \(options.epochs) epochs · seeds \(seeds.map(String.init).joined(separator: ", "))")

    let domains = try DigitDomains.load(explicitPath: options.data)
    var results: [Method: [RunResult]] = [:]
    var trainCount = 0, testCount = 0
    for seed in seeds {
        let data = try split(domains, tasks: options.tasks, trainPerClass: options.trainPerClass, seed: seed &+ 202)
        (trainCount, testCount) = (data.train.count, data.test.count)
        for method in Method.allCases {
            let r = try run(method, options: options, data: data, seed: seed, progress: progress)
            results[method, default: []].append(r)
            progress.finish(String(format: "seed %llu · %@: %@ · %.1f s", seed, method.rawValue,
                                   zip(options.tasks, r.accuracy).map { String(format: "%@ %.1f%%", $0.rawValue, $1 * 100) }.joined(separator: ", "),
                                   r.seconds))
        }
    }

    // Accuracy table.
    var accuracyTable = try MarkdownTable(headers: ["aggregator"] + options.tasks.map(\.title) + ["mean", "wall time / run"],
                                          alignments: [.left] + options.tasks.map { _ in .right } + [.right, .right])
    for method in Method.allCases {
        let runs = results[method]!
        let perTask = options.tasks.indices.map { k in summary(runs.map { $0.accuracy[k] }) }
        try accuracyTable.append([method.rawValue] + perTask + [summary(runs.map { mean($0.accuracy) }),
                                                                 String(format: "%.1f s", mean(runs.map(\.seconds)))])
    }

    // Conflict table: per trunk tensor, share of steps with ≥ 1 conflicting pair, and pairs per step.
    let paths = try MultiTaskModel(tasks: options.tasks, hidden: options.hidden, seed: 0).trunkParameters.map(\.path)
    let maxPairs = options.tasks.count * (options.tasks.count - 1)
    var conflictTable = try MarkdownTable(
        headers: ["surgery unit", "aggregator", "steps with a conflict (%)", "conflicting pairs / step (of \(maxPairs))"],
        alignments: [.left, .left, .right, .right])
    for (i, path) in paths.enumerated() {
        let runs = results[.pcgradTensor]!
        try conflictTable.append([path, Method.pcgradTensor.rawValue, summary(runs.map { mean($0.conflictShare[i]) }),
                                  summary(runs.map { $0.conflictPairs[i] }, scale: 1, digits: 2)])
    }
    let globalRuns = results[.pcgradGlobal]!
    try conflictTable.append(["whole model", Method.pcgradGlobal.rawValue, summary(globalRuns.map { mean($0.conflictShare[0]) }),
                              summary(globalRuns.map { $0.conflictPairs[0] }, scale: 1, digits: 2)])

    // Conflict share per epoch and layer, averaged over seeds.
    var plot = SVGLinePlot(title: "PCGrad: share of steps with conflicting task gradients",
                           xLabel: "epoch", yLabel: "share of steps with a conflict (%)")
    let epochs = (1...options.epochs).map(Double.init)
    for (i, path) in paths.enumerated() {
        let share = (0..<options.epochs).map { e in mean(results[.pcgradTensor]!.map { $0.conflictShare[i][e] }) * 100 }
        plot.series.append(.init(name: path + " (per tensor)", x: epochs, y: share))
    }
    let globalShare = (0..<options.epochs).map { e in mean(results[.pcgradGlobal]!.map { $0.conflictShare[0][e] }) * 100 }
    plot.series.append(.init(name: "whole model (global)", x: epochs, y: globalShare))

    let setup = "\(trainCount) training / \(testCount) test images (MNIST + fonts + optdigits), \(options.epochs) epochs, "
        + "\(seeds.count) seed(s)\(seeds.count > 1 ? ", mean ± sd" : "")"
    let accuracyText = accuracyTable.render()
    let conflictText = conflictTable.render()
    print("\nTest accuracy (%) · \(setup)\n\n" + accuracyText)
    print("Conflicting task gradients in the trunk (PCGrad telemetry `last_projections` > 0; heads never conflict)\n\n" + conflictText)

    let output = outputFolder
    let markdown = """
        # Multi-task PCGrad

        Tasks: \(options.tasks.map(\.title).joined(separator: ", ")). Trunk 256-\(options.hidden.map(String.init).joined(separator: "-")) (ReLU), one linear head per task, Adam lr \(options.learningRate) with cosine decay, batch \(options.batchSize).
        \(setup).

        ## Test accuracy (%)

        \(accuracyText)
        ## Conflicting task gradients in the trunk

        Share of steps where PCGrad found at least one conflicting task pair (negative dot
        product) in a tensor, from the per-tensor run; the global run tests the whole model at once.

        \(conflictText)
        ![conflicts](conflicts.svg)

        """
    try AtomicFile.write(markdown, to: output.appendingPathComponent("results.md"))
    try plot.write(to: output.appendingPathComponent("conflicts.svg"))
    print(String(format: "wrote %@/results.md, %@/conflicts.svg · total %.1f s", output.path, output.path,
                 Date().timeIntervalSince(wallStart)))
} catch {
    FileHandle.standardError.write(Data("MultiTaskPCGrad: \(error)\n".utf8))
    exit(1)
}
