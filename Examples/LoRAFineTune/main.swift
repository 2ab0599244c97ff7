import Foundation
import Graft

// Robust fine-tuning through LoRA adapters only: the pre-trained digit MLP of the
// RobustFineTune example gets a rank-r adapter on every backbone Dense layer (base frozen,
// A and B anchored at zero) and a new head (or, with --backbone vit, the pre-trained ViT gets
// adapters on every attention query and value projection, as PEFT does), and is fine-tuned on a small optdigits split with
// AdamW, L2-SP on the adapters and DiGraP on the adapters, next to full fine-tuning and a
// linear probe. Reports ID / OOD accuracy, trainable parameters and optimizer memory.

let usage = """
    usage: LoRAFineTune [options]

    Takes the MLP 256-512-256-128-10 pre-trained by the RobustFineTune example (same
    pre-training, same cache), puts a LoRA adapter (rank r, frozen base, A and B anchored at
    zero) on each of its three backbone Dense layers, adds a new head, and fine-tunes the
    adapters and the head only on optdigits (50 / class train, 20 / class validation, rest
    test) with AdamW, L2-SP on the adapters and DiGraP on the adapters (learned ω, and fixed
    ω = 1 in update placement). Full fine-tuning (Adam) and the linear probe (head only) are
    the references. Reports ID accuracy, accuracy under five corruptions, the number of
    trainable parameters and the optimizer's state in bytes per method.

    With --backbone vit it takes RobustFineTune's pre-trained ViT (--backbone vit there) and puts
    the adapters on the query and value projections of every attention layer
    (blocks.*.attention.query, blocks.*.attention.value), as PEFT's target_modules does.

    options:
      --backbone mlp|vit    the pre-trained backbone (default mlp)
      --rank N              LoRA rank r (default 8)
      --alpha X             LoRA α: the adapter update is scaled by α / r (default 2r)
      --epochs N            fine-tuning epochs, every method (default 40)
      --lr X                peak learning rate of LP and FT, cosine decay to 0 (default 0.001, as RobustFineTune)
      --adapter-lr X        peak learning rate of the LoRA methods, cosine decay to 0 (default 0.01)
      --l2sp-alphas a,b,…   L2-SP strengths tried; the best on ID validation is kept (default 0.01,0.1,1)
      --mus a,b,…           DiGraP ω learning rates μ tried; the best on ID validation is kept (default 0.01,0.5,10)
      --seed N              seed of the pre-training, split, corruptions and adapters (default 1)
      --threads N           worker threads for Graft kernels and OpenBLAS (default: all cores)
      --data DIR            the digits16 data folder (default: found from GRAFT_DATA or the working directory)
      --cache DIR           pre-trained weights cache (default out/robust-finetune/cache, shared with RobustFineTune)
      --no-cache            do not read or write cached pre-trained weights
      --output DIR          where results go (default out/lora-finetune)
      --help                this text

    Writes results.md and results.json to the output folder. With cached pre-trained weights
    the defaults take about 15 s on 2 cores; pre-training adds about 10 s.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("LoRAFineTune: \(message)\n".utf8))
    exit(1)
}

// MARK: - Options

struct Options {
    var backbone = Backbone.mlp
    var rank = 8
    var alpha: Float?
    var epochs = 40
    var learningRate: Float?
    var adapterLearningRate: Float?
    var l2spAlphas: [Float] = [0.01, 0.1, 1]
    var mus: [Float] = [0.01, 0.5, 10]
    var seed: UInt64 = 1
    var threads: Int?
    var data: String?
    var cache: String? = "out/robust-finetune/cache"
    var output = "out/lora-finetune"
}

func parse(_ arguments: [String]) throws -> Options {
    var o = Options()
    var args = ArgumentList(arguments)
    func value(_ flag: String) throws -> String { try args.value(for: flag) }
    func positiveNumber(_ flag: String, upTo limit: Float) throws -> Float {
        try args.float(for: flag, in: 0...limit, excludingLowerBound: true)
    }
    func list(_ flag: String) throws -> [Float] {
        let text = try value(flag)
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
            throw DataError.invalidArgument("\(flag) expects comma-separated numbers, got \"\(text)\"")
        }
        return try items.map { try ArgumentList.float($0, flag: flag, in: 0...1e6) }
    }
    while let flag = args.next() {
        switch flag {
        case "--help", "-h": print(usage); exit(0)
        case "--backbone":
            o.backbone = try Backbone.parse(try value(flag))
            guard o.backbone != .cnn else { throw UsageError("--backbone: LoRAFineTune supports mlp and vit (a CNN has no Dense layers worth adapting)") }
        case "--rank": o.rank = try args.int(for: flag, in: 1...128)  // the narrowest adapted layer has 128 outputs
        case "--alpha": o.alpha = try positiveNumber(flag, upTo: 1e6)
        case "--epochs": o.epochs = try args.int(for: flag, in: ExampleCommandLine.epochs)
        case "--lr": o.learningRate = try positiveNumber(flag, upTo: ExampleCommandLine.learningRate.upperBound)
        case "--adapter-lr": o.adapterLearningRate = try positiveNumber(flag, upTo: ExampleCommandLine.learningRate.upperBound)
        case "--l2sp-alphas": o.l2spAlphas = try list(flag)
        case "--mus": o.mus = try list(flag)
        case "--seed": o.seed = try args.seed(for: flag)
        case "--threads": o.threads = try args.int(for: flag, in: ExampleCommandLine.threads)
        case "--data": o.data = try value(flag)
        case "--cache":
            o.cache = try value(flag)
            guard o.cache?.isEmpty == false else { throw UsageError("--cache needs a folder name, got an empty one") }
        case "--no-cache": o.cache = nil
        case "--output": o.output = try value(flag)
        default: throw DataError.invalidArgument("unknown option \(flag)")
        }
    }
    return o
}

// MARK: - Optimizer memory, read from the optimizer's actual state

/// What one method's optimizer keeps, counted from its state (4-byte floats).
struct Footprint: Codable {
    /// Scalars the optimizer updates.
    var trainable = 0
    /// Adam's m and v (and AMSGrad's running max): `optimizer.state(of: "adam", …)`.
    var adamBytes = 0
    /// DiGraP's p_{t−1} (learned ω only): `optimizer.state(of: "digrap", …)`.
    var digrapBytes = 0
    /// Stored anchor snapshots θ0 (`optimizer.anchor(for:)` when it returns stored storage).
    var anchorBytes = 0
    /// Parameters whose anchor `anchor(for:)` builds as zeros on demand (no stored copy).
    var onDemandZeroAnchors = 0
    /// Whether the optimizer's transform reads anchors at all (`anchor(for:)` is non-nil for
    /// some parameter).
    var usesAnchors = false
    /// The sum of the three.
    var stateBytes: Int { adamBytes + digrapBytes + anchorBytes }
}

/// Whether `optimizer.anchor(for:)` hands out stored storage (a snapshot: two calls share
/// the same buffer) or builds the anchor on demand (two calls return distinct buffers).
/// `nil` when the parameter has no anchor for this optimizer.
func anchorIsStored(_ optimizer: Optimizer, _ path: String) -> Bool? {
    guard let first = optimizer.anchor(for: path), let second = optimizer.anchor(for: path) else { return nil }
    return withExtendedLifetime((first, second)) {
        first.unsafeStorage().baseAddress == second.unsafeStorage().baseAddress
    }
}

func footprint(of optimizer: Optimizer) throws -> Footprint {
    var f = Footprint()
    for p in optimizer.parameters where optimizer.group(of: p.path) != nil {
        f.trainable += p.parameter.value.count
        if let adam = optimizer.state(of: "adam", for: p.path, as: ScaleByAdam.TensorState.self) {
            f.adamBytes += 4 * (adam.m.count + adam.v.count + (adam.vMax?.count ?? 0))
        }
        if let digrap = optimizer.state(of: "digrap", for: p.path, as: DirectionalProjection.TensorState.self) {
            f.digrapBytes += 4 * (digrap.previousDirection?.count ?? 0)
        }
        let stored = anchorIsStored(optimizer, p.path)
        if stored != nil { f.usesAnchors = true }
        switch stored {
        case true?:
            f.anchorBytes += 4 * p.parameter.value.count
        case false?:
            // The claim this example checks: a zero anchor costs nothing and reads as zeros.
            guard p.parameter.anchor == .zero, optimizer.anchor(for: p.path)!.scalars.allSatisfy({ $0 == 0 }) else {
                throw DataError.invalidArgument("\(p.path): anchor built on demand but not a zero anchor")
            }
            f.onDemandZeroAnchors += 1
        case nil:
            break
        }
    }
    return f
}

// MARK: - Results

struct MethodResult: Codable {
    var label: String
    var id: Double
    var validation: Double
    var ood: [Double]
    var oodAverage: Double { ood.reduce(0, +) / Double(max(1, ood.count)) }
    var footprint: Footprint
    var seconds: Double
    var chosen: String?
    var mergedMaxLogitDifference: Float?
}

struct OmegaRow: Codable {
    var method: String
    var path: String
    var finalOmega: Double
    var meanOmega: Double
    var conflictShare: Double
    var effectiveProjections: Int
    var steps: Int
}

func percent(_ x: Double) -> String { String(format: "%.1f", x * 100) }

func bytes(_ n: Int) -> String {
    if n == 0 { return "0" }
    if n < 1024 { return "\(n) B" }
    if n < 1024 * 1024 { return String(format: "%.1f KiB", Double(n) / 1024) }
    return String(format: "%.2f MiB", Double(n) / (1024 * 1024))
}

func grouped(_ n: Int) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, d) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(d)
    }
    return out
}

// MARK: - Run

do {
    // Every flag, and the output folder, is checked before any work: exit 2 with one line.
    let (options, outputFolder) = ExampleCommandLine.parseOrExit("LoRAFineTune", parse, output: \.output)
    ExampleEnvironment.configure(threads: options.threads)
    let wallStart = Date()
    let seed = options.seed
    let rank = options.rank
    let loraAlpha = options.alpha ?? Float(2 * rank)
    var configuration = ExperimentConfiguration(backbone: options.backbone)  // the main example's pre-training and split
    configuration.epochs = options.epochs
    if let lr = options.learningRate { configuration.learningRate = lr }
    let c = configuration
    let learningRate = c.learningRate
    let adapterLearningRate = options.adapterLearningRate ?? 1e-2
    // Where the adapters go: every backbone Dense of the MLP; the attention query and value of
    // every ViT block (PEFT's usual target_modules).
    let adapterTargets = c.backbone == .vit ? "the query and value projections of every attention layer" : "the three backbone Dense layers"

    let progress = ProgressLine()
    let domains = try DigitDomains.load(explicitPath: options.data)
    let pretrain = try DigitDataset.concatenating([domains.mnist, domains.fonts], name: "mnist+fonts")
    let experiment = try RobustFineTuneExperiment(configuration: c, methods: [], pretrainData: pretrain,
                                                  finetuneData: domains.optdigits,
                                                  cacheDirectory: options.cache.map { URL(fileURLWithPath: $0) }, progress: progress)
    print("backbone: \(c.backboneDescription)")
    print("Graft LoRA fine-tuning · OpenBLAS \(BLAS.coreName) kernels, \(BLAS.threads) BLAS thread(s), \(Parallel.threads) Graft thread(s)")
    let (pretrained, pretrainSeconds) = try experiment.pretrainedWeights(seed: seed)
    if pretrainSeconds > 0 { progress.finish(String(format: "pre-trained in %.1f s", pretrainSeconds)) }

    // The main example's split, corruptions, batch order and head initialisation for this seed.
    let split = try DatasetSplit(domains.optdigits, trainPerClass: c.trainPerClass, validationPerClass: c.validationPerClass,
                                 testPerClass: c.testPerClass, seed: seed &+ 202)
    let ood = Corruption.allCases.enumerated().map { i, corruption in corruption.apply(to: split.test, seed: seed &* 31 &+ UInt64(i)) }
    let trainer = Trainer(epochs: c.epochs, batchSize: c.batchSize, seed: seed &+ 303)
    let steps = trainer.totalSteps(examples: split.train.count)
    let headSeed = seed &* 104_729 &+ 7
    print("fine-tune: optdigits \(split.train.count) train / \(split.validation.count) validation / \(split.test.count) test · "
          + "\(c.epochs) epochs × \(split.train.count / c.batchSize) steps · LoRA rank \(rank), α \(loraAlpha) (scale \(loraAlpha / Float(rank)))")

    func cosine(_ lr: Float) throws -> Schedule { try Schedule(.cosine(initial: lr, totalSteps: max(1, steps), final: 0), key: "lr") }

    /// The pre-trained backbone with a new head (anchor `.none`): full fine-tuning and the probe.
    func plainModel() throws -> Classifier {
        let model = try c.makeClassifier(seed: 0)
        try model.load(pretrained)
        return try model.withNewHead(classes: 10, seed: headSeed)
    }

    /// Every `LoRA` in the tree, depth first.
    func adaptersIn(_ layer: any Layer) -> [LoRA] {
        var found: [LoRA] = []
        layer.forEachSublayer { _, child in
            if let adapter = child as? LoRA { found.append(adapter) } else { found += adaptersIn(child) }
        }
        return found
    }

    /// The pre-trained backbone with LoRA adapters (base frozen) and a new head: only
    /// `lora_a`, `lora_b` and the head are trainable. MLP: one adapter per backbone Dense;
    /// ViT: `addLoRA` on every attention query and value (the rest of the ViT frozen).
    func loraModel() throws -> (model: Classifier, adapters: [LoRA]) {
        let plain = try c.makeClassifier(seed: 0)
        var adapters: [LoRA] = []
        var layers: [NamedLayer] = []
        if c.backbone == .vit {
            plain.body.freeze()
            try plain.body.addLoRA(to: ["blocks.*.attention.query", "blocks.*.attention.value"], rank: rank, alpha: loraAlpha,
                                   seed: seed &* 1_000_003)
            adapters = adaptersIn(plain.body)
            layers = plain.body.children.map { $0.layer.named($0.name) }
        }
        for (name, layer) in plain.body.children where c.backbone != .vit {
            if let dense = layer as? Dense {
                let adapter = try LoRA(dense, rank: rank, alpha: loraAlpha, seed: seed &* 1_000_003 &+ UInt64(adapters.count))
                adapters.append(adapter)
                layers.append(adapter.named(name))
            } else {
                layers.append(layer.named(name))
            }
        }
        let adapted = try Classifier(body: try Sequential("body", layers: layers), head: plain.head)
        // The plain model's weights load into its LoRA version by path (body.0.weight, …):
        // the factors have no tensor and keep their initialisation.
        try adapted.load(pretrained, strict: false)
        let unloaded = adapted.namedParameters().map(\.path).filter { pretrained[$0] == nil }
        guard unloaded.allSatisfy({ $0.hasSuffix(".lora_a") || $0.hasSuffix(".lora_b") }), unloaded.count == 2 * adapters.count else {
            throw DataError.invalidArgument("pre-trained weights did not cover the frozen base: \(unloaded)")
        }
        let model = try adapted.withNewHead(classes: 10, seed: headSeed)
        return (model, adapters)
    }

    // Sanity check: with B = 0 the adapted model computes exactly the pre-trained one.
    do {
        let (lora, _) = try loraModel()
        let plain = try plainModel()
        let batch = try Tensor(shape: [64, 256], scalars: Array(split.test.images.scalars[0..<(64 * 256)]))
        let a = try lora.model(batch).scalars, b = try plain.model(batch).scalars
        let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        guard difference < 1e-4 else { throw DataError.invalidArgument("LoRA model differs from the pre-trained one at start (\(difference))") }
    }

    func optimizer(_ model: Classifier, _ transform: some GradientTransform) throws -> Optimizer {
        try Optimizer(parameters: model.namedParameters(), groups: [ParameterGroup("all", selecting: .all, transform: transform)])
    }

    /// Trains, evaluates ID (test and validation) and OOD, and reads the optimizer's footprint.
    func run(_ label: String, _ model: Classifier, _ opt: Optimizer, adapters: [LoRA] = [],
             onStep: ((TrainingStep) -> Void)? = nil) throws -> MethodResult {
        let start = Date()
        try trainer.train(model.model, on: split.train, optimizer: opt, onStep: { s in
            onStep?(s)
            progress.update(String(format: "%@ · epoch %d/%d · loss %.3f · %.0f steps/s", label, s.epoch, c.epochs, s.loss, s.stepsPerSecond))
        })
        let seconds = Date().timeIntervalSince(start)
        var result = MethodResult(label: label, id: try evaluateAccuracy(model.model, on: split.test),
                                  validation: try evaluateAccuracy(model.model, on: split.validation),
                                  ood: try ood.map { try evaluateAccuracy(model.model, on: $0) },
                                  footprint: try footprint(of: opt), seconds: seconds)
        if !adapters.isEmpty {
            // Fold every adapter into its base (W + s B A), in place: a plain model with no
            // inference overhead (the trained model is not used after this).
            let a = (try model.model.forward(split.test.images)).scalars
            model.body.mergeLoRA()
            let b = (try model.model.forward(split.test.images)).scalars
            result.mergedMaxLogitDifference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        }
        return result
    }

    func log(_ r: MethodResult) {
        progress.finish(String(format: "%@: ID %.1f · validation %.1f · OOD avg %.1f · %.1f s", r.label, r.id * 100, r.validation * 100,
                               r.oodAverage * 100, r.seconds))
    }

    var results: [MethodResult] = []
    var omegaRows: [OmegaRow] = []
    let adapterLR = try cosine(adapterLearningRate)
    let lr = try cosine(learningRate)

    // (e) Linear probe: the backbone frozen, the head trained with Adam.
    do {
        let model = try plainModel()
        model.body.freeze()
        results.append(try run("LP (head only, Adam)", model, try optimizer(model, try Recipes.adam(learningRate: lr))))
        log(results.last!)
    }
    // (d) Full fine-tuning with Adam.
    do {
        let model = try plainModel()
        results.append(try run("FT (all weights, Adam)", model, try optimizer(model, try Recipes.adam(learningRate: lr))))
        log(results.last!)
    }
    // (a) LoRA with AdamW (decoupled weight decay 0.01 on adapters and head).
    do {
        let (model, adapters) = try loraModel()
        results.append(try run("LoRA · AdamW", model, try optimizer(model, try Recipes.adamW(learningRate: adapterLR)), adapters: adapters))
        log(results.last!)
    }
    // (b) L2-SP on the adapters: AnchorDecay pulls A and B (anchor .zero) toward 0, then Adam.
    // α is chosen on the ID validation split.
    do {
        var best: MethodResult?
        for alpha in options.l2spAlphas {
            let (model, adapters) = try loraModel()
            let opt = try optimizer(model, try Recipes.l2sp(learningRate: adapterLR, alpha: alpha, base: .adam()))
            var r = try run("LoRA · L2-SP α \(alpha)", model, opt, adapters: adapters)
            log(r)
            r.chosen = "α \(alpha)"
            if best == nil || r.validation > best!.validation { best = r }
        }
        if var best {
            best.label = "LoRA · L2-SP (\(best.chosen!))"
            results.append(best)
        }
    }
    // (c) DiGraP on the adapters, anchored at zero (c = θ, no θ0 copy): learned ω (gradient
    // placement, the paper; μ chosen on ID validation) and fixed ω = 1 in update placement.
    func digrapRun(_ label: String, omega: DirectionalProjection.Omega, placement: ProjectionPlacement) throws
        -> (MethodResult, [OmegaRow]) {
        let (model, adapters) = try loraModel()
        let opt = try optimizer(model, try Recipes.digrap(learningRate: adapterLR, omega: omega, placement: placement))
        let paths = model.namedParameters().filter { $0.parameter.anchor == .zero }.map(\.path)
        var lastOmega = [Double](repeating: .nan, count: paths.count)
        var sumOmega = [Double](repeating: 0, count: paths.count)
        var conflicts = [Int](repeating: 0, count: paths.count)
        var stepsSeen = 0
        let result = try run(label, model, opt, adapters: adapters) { _ in
            stepsSeen += 1
            for (i, p) in paths.enumerated() {
                let t = opt.telemetry(for: p)
                lastOmega[i] = t["omega"] ?? .nan
                sumOmega[i] += t["omega"] ?? .nan
                if t["conflict"] == 1 { conflicts[i] += 1 }
            }
        }
        let rows = paths.enumerated().map { i, p in
            OmegaRow(method: label, path: p, finalOmega: lastOmega[i], meanOmega: sumOmega[i] / Double(max(1, stepsSeen)),
                     conflictShare: Double(conflicts[i]) / Double(max(1, stepsSeen)),
                     effectiveProjections: Int(opt.telemetry(for: p)["effective_projected_steps"] ?? 0), steps: stepsSeen)
        }
        return (result, rows)
    }
    do {
        var best: (result: MethodResult, rows: [OmegaRow])?
        for mu in options.mus {
            var (r, rows) = try digrapRun("LoRA · DiGraP μ \(mu)", omega: .learned(mu: mu), placement: .gradient)
            log(r)
            r.chosen = "μ \(mu)"
            if best == nil || r.validation > best!.result.validation { best = (r, rows) }
        }
        if var best {
            best.result.label = "LoRA · DiGraP (learned ω, \(best.result.chosen!))"
            results.append(best.result)
            omegaRows += best.rows.map { var row = $0; row.method = best.result.label; return row }
        }
        let (fixed, rows) = try digrapRun("LoRA · DiGraP (ω = 1, update)", omega: .fixed(1), placement: .update)
        log(fixed)
        results.append(fixed)
        omegaRows += rows
    }

    // The claim of this example: optimizers over adapters (anchor .zero) store no θ0 copy.
    for r in results where r.mergedMaxLogitDifference != nil && r.footprint.anchorBytes != 0 {
        throw DataError.invalidArgument("\(r.label): the optimizer stores \(r.footprint.anchorBytes) bytes of anchors for zero-anchored adapters")
    }
    // For contrast (memory only, not trained): DiGraP with learned ω over the full model, whose
    // pre-trained weights are `.initial` anchors and so are snapshotted, plus p_{t−1}.
    let fullDigrapLabel = "FT · DiGraP learned ω (built, not trained)"
    let fullDigrap = try footprint(of: try optimizer(try plainModel(), try Recipes.digrap(learningRate: lr, omega: .learned(mu: 0.5))))

    // MARK: Report

    let oodNames = Corruption.allCases.map(\.name)
    var table = try MarkdownTable(headers: ["method", "ID"] + oodNames + ["OOD avg", "trainable", "optimizer state", "train s"],
                                  alignments: [.left] + Array(repeating: .right, count: oodNames.count + 5))
    for r in results {
        try table.append([r.label, percent(r.id)] + r.ood.map(percent) + [percent(r.oodAverage), grouped(r.footprint.trainable),
                                                                            bytes(r.footprint.stateBytes), String(format: "%.1f", r.seconds)])
    }
    var memory = try MarkdownTable(headers: ["method", "trainable", "Adam m, v", "DiGraP p", "stored θ0", "zero anchors (on demand)", "total"],
                                   alignments: [.left] + Array(repeating: .right, count: 6))
    for (label, f) in results.map({ ($0.label, $0.footprint) }) + [(fullDigrapLabel, fullDigrap)] {
        try memory.append([label, grouped(f.trainable), bytes(f.adamBytes), bytes(f.digrapBytes),
                           f.usesAnchors ? bytes(f.anchorBytes) : "— (no anchors)",
                           f.usesAnchors ? "\(f.onDemandZeroAnchors) tensors" : "—", bytes(f.stateBytes)])
    }
    var omegaTable = try MarkdownTable(headers: ["method", "tensor", "mean ω", "final ω", "steps with d < 0", "steps projected (d < 0, ω > 0)"],
                                       alignments: [.left, .left, .right, .right, .right, .right])
    for row in omegaRows {
        try omegaTable.append([row.method, row.path, String(format: "%.3f", row.meanOmega), String(format: "%.3f", row.finalOmega),
                               String(format: "%.0f %%", row.conflictShare * 100), "\(row.effectiveProjections)/\(row.steps)"])
    }
    let merges = results.compactMap(\.mergedMaxLogitDifference)
    let total = Date().timeIntervalSince(wallStart)

    let notes = """
        Accuracy in % on the optdigits test split (ID, \(split.test.count) images) and on five corruptions of it; seed \(seed), \
        \(c.epochs) epochs of \(split.train.count / c.batchSize) steps. Backbone: \(c.backboneDescription). LoRA: rank \(rank), \
        α \(loraAlpha) on \(adapterTargets); the LoRA rows train only the adapters and the new head, at peak learning rate \
        \(adapterLearningRate); LP and FT use \(learningRate) (cosine decay to 0). L2-SP's α and DiGraP's μ are chosen on the ID validation \
        split (ties: the first candidate). "optimizer state" sums the optimizers' own state tensors, 4 bytes per scalar: \
        Adam's m and v (`state(of: "adam", …)`), DiGraP's p_{t−1} (`state(of: "digrap", …)`, learned ω only) and stored θ0 \
        snapshots (`anchor(for:)` returning the same storage twice). Not counted: per-tensor scalars (ω and its Adam moments, \
        counters) and the running-update buffer every optimizer keeps, 4 B per trainable scalar. Adapters are anchored at \
        zero, so L2-SP and DiGraP store no θ0 for them: `anchor(for:)` builds zeros on demand. Merging the adapters \
        (W + s·B·A, `LoRA.merged()`) reproduces the adapted models' logits to within \(String(format: "%.1e", merges.max() ?? 0)).
        """
    print("\n" + table.render())
    print(memory.render())
    print(omegaTable.render())
    print(notes)
    print(String(format: "\ntotal %.1f s (pre-training %@)", total,
                 pretrainSeconds > 0 ? String(format: "%.1f s", pretrainSeconds) : "from cache"))

    let output = outputFolder
    let markdown = "# LoRA fine-tuning\n\n" + table.render() + "\n" + memory.render() + "\n" + omegaTable.render() + "\n" + notes + "\n"
    let md = output.appendingPathComponent("results.md")
    try Data(markdown.utf8).write(to: md, options: .atomic)
    struct JSONReport: Codable {
        var format = "graft-lora-finetune/1"
        var backbone: String
        var seed: UInt64, rank: Int, alpha: Float, epochs: Int, learningRate: Float, adapterLearningRate: Float
        var oodNames: [String]
        var methods: [MethodResult]
        var omega: [OmegaRow]
        var seconds: Double
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let json = output.appendingPathComponent("results.json")
    try encoder.encode(JSONReport(backbone: c.backboneDescription, seed: seed, rank: rank, alpha: loraAlpha, epochs: c.epochs, learningRate: learningRate,
                                  adapterLearningRate: adapterLearningRate, oodNames: oodNames, methods: results,
                                  omega: omegaRows, seconds: total)).write(to: json, options: .atomic)
    print("\nwrote \(md.path), \(json.path)")
} catch {
    fail("\(error)")
}
