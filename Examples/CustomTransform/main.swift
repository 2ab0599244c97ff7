import Foundation
import GradientNoiseExample
import Graft

// Writing your own gradient transform.
//
// `GradientNoise` (GradientNoise/GradientNoise.swift, about 40 lines of code) is a user-written
// `ElementwiseTransform`: annealed Gaussian noise added to the update from a counter-based
// generator (seed, path, step, element), with σ of the last step as its state. Here it joins
// built-in members in one chain, which the engine runs as one fused kernel (a reduction pass for
// DiGraP, then one loop for noise, projection, Adam and the learning rate),
//
//     chain {
//         GradientNoise(eta: η, seed: s)                      // custom
//         DirectionalProjection(omega: .fixed(ω))             // DiGraP
//         ScaleByAdam()
//         ScaleByLearningRate(lr)
//     }
//
// and fine-tunes a pre-trained digit MLP on optdigits with and without it. Its state is read
// back like any built-in's (`optimizer.state(of:for:as:)`, `telemetry(for:)`), and it passes
// the same laws as the built-in transforms, from the GraftTesting library product
// (Tests/CustomTransformExampleTests): chain = members by hand, identity at η = 0, determinism,
// fused = unfused, two threads = one, snapshot round trip.

let usage = """
    usage: CustomTransform [options]

    Pre-trains an MLP 256-\(Options().hidden.map(String.init).joined(separator: "-"))-10 on augmented MNIST + fonts, then fine-tunes it with a
    new head on optdigits (50 / class train, 20 / class validation, the rest test) with four
    chains: Adam, GradientNoise → Adam, DiGraP → Adam, GradientNoise → DiGraP → Adam
    (GradientNoise is the example's own transform). Reports validation, test (ID) and
    corrupted-test (OOD: rotate, invert, noise, shrink, thin) accuracy.

    options:
      --eta X              GradientNoise variance scale η: σ_t² = η / (1 + t)^γ (default \(Options().eta))
      --gamma X            GradientNoise decay exponent γ (default \(Options().gamma))
      --omega X            DiGraP's projection strength ω, fixed (default \(Options().omega))
      --epochs N           fine-tuning epochs (default \(Options().epochs))
      --pretrain-epochs N  pre-training epochs (default \(Options().pretrainEpochs))
      --seed S             seed of the first run (default \(Options().seed))
      --seeds N            runs with seeds S, S+1, …, S+N−1; tables show mean ± sd (default \(Options().seeds))
      --threads N          worker threads for Graft kernels and OpenBLAS (default: all cores)
      --data DIR           the digits16 data folder (default: found from GRAFT_DATA or the working directory)
      --output DIR         where results go (default \(Options().output))
      --help               this text

    Writes results.md to the output folder.
    """

struct Options {
    var eta: Float = 1e-5
    var gamma: Float = 0.55
    var epochs = 30
    var pretrainEpochs = 8
    var seed: UInt64 = 1
    var seeds = 3
    var threads: Int?
    var data: String?
    var output = "out/custom-transform"
    let hidden = [256, 128]
    let learningRate: Float = 1e-3
    var omega: Float = 1
}

func parse(_ arguments: [String]) throws -> Options {
    var o = Options()
    var args = ArgumentList(arguments)
    func value(_ flag: String) throws -> String { try args.value(for: flag) }
    func nonNegative(_ flag: String, upTo limit: Float) throws -> Float { try args.float(for: flag, in: 0...limit) }
    while let flag = args.next() {
        switch flag {
        case "--help", "-h": print(usage); exit(0)
        case "--eta": o.eta = try nonNegative(flag, upTo: 1e3)
        case "--gamma": o.gamma = try nonNegative(flag, upTo: 10)
        case "--omega": o.omega = try nonNegative(flag, upTo: 1e3)
        case "--epochs": o.epochs = try args.int(for: flag, in: ExampleCommandLine.epochs)
        case "--pretrain-epochs": o.pretrainEpochs = try args.int(for: flag, in: ExampleCommandLine.epochs)
        case "--seed": o.seed = try args.seed(for: flag)
        case "--seeds": o.seeds = try args.int(for: flag, in: ExampleCommandLine.seedCount)
        case "--threads": o.threads = try args.int(for: flag, in: ExampleCommandLine.threads)
        case "--data": o.data = try value(flag)
        case "--output": o.output = try value(flag)
        default: throw UsageError("unknown option \(flag)")
        }
    }
    return o
}

/// The four chains compared.
enum Variant: CaseIterable {
    case adam, noiseAdam, digrapAdam, noiseDigrapAdam

    var usesNoise: Bool { self == .noiseAdam || self == .noiseDigrapAdam }
    var usesDiGraP: Bool { self == .digrapAdam || self == .noiseDigrapAdam }

    var label: String {
        [usesNoise ? "GradientNoise" : nil, usesDiGraP ? "DiGraP" : nil, "Adam"].compactMap { $0 }.joined(separator: " → ")
    }
}

/// The variant's chain. With both members on it is
/// `chain { GradientNoise; DirectionalProjection; ScaleByAdam; ScaleByLearningRate }`.
func transform(_ variant: Variant, options: Options, learningRate: Schedule, seed: UInt64) throws -> some GradientTransform {
    try chain {
        if variant.usesNoise { try GradientNoise(eta: options.eta, gamma: options.gamma, seed: seed).named("noise") }
        if variant.usesDiGraP { try DirectionalProjection(omega: .fixed(options.omega)).named("digrap") }
        try ScaleByAdam().named("adam")
        try ScaleByLearningRate(learningRate)
    }
}

/// One fine-tuning run's accuracies.
struct RunResult {
    var validation: Double
    var test: Double
    var ood: [Double]
    /// Share of steps where DiGraP found the update moving away from the anchor (mean over
    /// the backbone's weight matrices; DiGraP variants).
    var projectedShare: Double?
    /// GradientNoise's σ_t at the last step (noise variants).
    var lastSigma: Double?
}

/// "97.1" for one value, "97.1 ± 0.3" (sample standard deviation) for several.
func summary(_ values: [Double], scale: Double = 100, digits: Int = 1) -> String {
    MeanStd(values).formatted(scale: scale, digits: digits)
}

func mean(_ values: [Double]) -> Double { MeanStd(values).mean }

do {
    // Every flag, and the output folder, is checked before any work: exit 2 with one line.
    let (options, outputFolder) = ExampleCommandLine.parseOrExit("CustomTransform", parse, output: \.output)
    ExampleEnvironment.configure(threads: options.threads)
    let wallStart = Date()
    let progress = ProgressLine()
    let domains = try DigitDomains.load(explicitPath: options.data)
    let pretrainData = try DigitDataset.concatenating([domains.mnist, domains.fonts], name: "mnist+fonts")
    let seeds = (0..<options.seeds).map { options.seed &+ UInt64($0) }
    print("Graft custom transform · GradientNoise η \(options.eta), γ \(options.gamma) · DiGraP ω \(options.omega) · Adam lr \(options.learningRate) (cosine) · \(options.epochs) fine-tuning epochs · seeds \(seeds.map(String.init).joined(separator: ", "))")

    var results: [Variant: [RunResult]] = [:]
    var splitSizes = (train: 0, validation: 0, test: 0)
    var inspection: [String] = []
    for seed in seeds {
        // Pre-training (the same for every variant of a seed).
        let pretrainStart = Date()
        let pretrained = try Classifier.mlp(input: 256, hidden: options.hidden, classes: 10, seed: seed &* 7919 &+ 1)
        let pretrainer = Trainer(epochs: options.pretrainEpochs, batchSize: 64, seed: seed &+ 101)
        let pretrainSteps = pretrainer.totalSteps(examples: pretrainData.count)
        let pretrainOptimizer = try Optimizer(parameters: pretrained.namedParameters(), groups: [
            ParameterGroup("all", selecting: .all, transform: Recipes.adam(
                learningRate: try Schedule(.cosine(initial: 1e-3, totalSteps: pretrainSteps, final: 0), key: "lr"))),
        ])
        let augmenter = try Augmenter(policy: .pretraining)
        try pretrainer.train(pretrained.model, on: pretrainData, optimizer: pretrainOptimizer,
                             augment: { data, epoch in augmenter.augment(data, seed: seed << 20 &+ UInt64(epoch)) },
                             onStep: { s in
                                 progress.update(String(format: "seed %llu · pre-train · epoch %d/%d · loss %.3f · %.0f steps/s",
                                                        seed, s.epoch, options.pretrainEpochs, s.loss, s.stepsPerSecond))
                             })
        let weights = pretrained.weights()
        progress.finish(String(format: "seed %llu · pre-trained on %d images in %.1f s", seed, pretrainData.count,
                               Date().timeIntervalSince(pretrainStart)))

        // Fine-tuning data: optdigits, and its test split under five corruptions.
        let split = try DatasetSplit(domains.optdigits, trainPerClass: 50, validationPerClass: 20, seed: seed &+ 202)
        splitSizes = (split.train.count, split.validation.count, split.test.count)
        let ood = Corruption.allCases.enumerated().map { i, c in c.apply(to: split.test, seed: seed &* 31 &+ UInt64(i)) }
        let trainer = Trainer(epochs: options.epochs, batchSize: 32, seed: seed &+ 303)
        let learningRate = try Schedule(.cosine(initial: options.learningRate,
                                                totalSteps: trainer.totalSteps(examples: split.train.count), final: 0), key: "lr")

        for variant in Variant.allCases {
            let start = Date()
            let model = try Classifier.mlp(input: 256, hidden: options.hidden, classes: 10, seed: 0)
            try model.load(weights)
            let classifier = try model.withNewHead(classes: 10, seed: seed &* 104_729 &+ 7)  // anchor .none: DiGraP skips it
            let optimizer = try Optimizer(parameters: classifier.namedParameters(), groups: [
                ParameterGroup("all", selecting: .all,
                               transform: transform(variant, options: options, learningRate: learningRate, seed: seed &+ 505)),
            ])
            try trainer.train(classifier.model, on: split.train, optimizer: optimizer, onStep: { s in
                progress.update(String(format: "seed %llu · %@ · epoch %d/%d · loss %.3f · %.0f steps/s",
                                       seed, variant.label, s.epoch, options.epochs, s.loss, s.stepsPerSecond))
            })
            // The custom member's state and telemetry, read back like any built-in's.
            let matrices = classifier.namedParameters().filter { $0.parameter.shape.count == 2 && $0.path.hasPrefix("body.") }.map(\.path)
            let steps = Double(trainer.totalSteps(examples: split.train.count))
            let projected = matrices.compactMap { optimizer.telemetry(for: $0)["projected_steps"].map { $0 / steps } }
            let sigma = optimizer.telemetry(for: matrices[0])["noise_std"]
            if variant == .noiseDigrapAdam && seed == seeds[0],
               let state = optimizer.state(of: "noise", for: matrices[0], as: GradientNoise.TensorState.self) {
                let telemetry = optimizer.telemetry(for: matrices[0])
                inspection.append("optimizer.state(of: \"noise\", for: \"\(matrices[0])\", as: GradientNoise.TensorState.self)!.standardDeviation = \(state.standardDeviation)")
                inspection.append("optimizer.telemetry(for: \"\(matrices[0])\") = "
                                  + telemetry.sorted { $0.key < $1.key }.map { String(format: "%@: %.4g", $0.key, $0.value) }.joined(separator: ", "))
            }
            let r = RunResult(validation: try evaluateAccuracy(classifier.model, on: split.validation),
                              test: try evaluateAccuracy(classifier.model, on: split.test),
                              ood: try ood.map { try evaluateAccuracy(classifier.model, on: $0) },
                              projectedShare: projected.isEmpty ? nil : mean(projected), lastSigma: sigma)
            results[variant, default: []].append(r)
            progress.finish(String(format: "seed %llu · %@: validation %.1f%% · test %.1f%% · OOD %.1f%% · %.1f s", seed, variant.label,
                                   r.validation * 100, r.test * 100, mean(r.ood) * 100, Date().timeIntervalSince(start)))
        }
    }

    var table = try MarkdownTable(headers: ["chain", "validation", "test (ID)", "OOD mean"] + Corruption.allCases.map(\.name)
                                    + ["steps DiGraP projected (%)", "final σ_t"],
                                  alignments: [.left] + Array(repeating: .right, count: 5 + Corruption.allCases.count))
    for variant in Variant.allCases {
        let runs = results[variant]!
        let projected = runs.compactMap(\.projectedShare), sigmas = runs.compactMap(\.lastSigma)
        try table.append([variant.label, summary(runs.map(\.validation)), summary(runs.map(\.test)), summary(runs.map { mean($0.ood) })]
                         + Corruption.allCases.indices.map { i in summary(runs.map { $0.ood[i] }) }
                         + [projected.isEmpty ? "–" : summary(projected),
                            sigmas.isEmpty ? "–" : String(format: "%.2g", mean(sigmas))])
    }
    let setup = "optdigits \(splitSizes.train) train / \(splitSizes.validation) validation / \(splitSizes.test) test, "
        + "\(seeds.count) seed(s)\(seeds.count > 1 ? ", mean ± sd" : "")"
    let tableText = table.render()
    print("\nAccuracy (%) · \(setup)\n\n" + tableText)
    print(inspection.joined(separator: "\n"))

    let output = outputFolder
    let markdown = """
        # Custom transform: GradientNoise in a DiGraP + Adam chain

        MLP 256-\(options.hidden.map(String.init).joined(separator: "-"))-10 pre-trained on augmented MNIST + fonts (\(options.pretrainEpochs) epochs), fine-tuned with a new head for
        \(options.epochs) epochs (Adam lr \(options.learningRate), cosine decay, batch 32). GradientNoise η \(options.eta), γ \(options.gamma);
        DiGraP with fixed ω \(options.omega) (gradient placement). \(setup).

        ## Accuracy (%)

        \(tableText)
        ## Reading the custom member's state

        ```
        \(inspection.joined(separator: "\n"))
        ```

        """
    try AtomicFile.write(markdown, to: output.appendingPathComponent("results.md"))
    print(String(format: "\nwrote %@/results.md · total %.1f s", output.path, Date().timeIntervalSince(wallStart)))
} catch {
    FileHandle.standardError.write(Data("CustomTransform: \(error)\n".utf8))
    exit(1)
}
