import Foundation
import Graft
import GraftDistributed

// Robust fine-tuning on real digits: the DiGraP paper's table in miniature.
// Pre-train a backbone (MLP, ViT or CNN) on augmented MNIST + fonts, fine-tune on a small
// optdigits split with a new head using each method, and compare ID and OOD (corrupted) accuracy.

let usage = """
    usage: RobustFineTune [options]

    Pre-trains a backbone (default: an MLP 256-512-256-128-10) on augmented MNIST + fonts (cached per seed),
    fine-tunes it on optdigits (50 / class train, 20 / class validation, rest test) with
    every method, and reports ID accuracy and accuracy under five corruptions.

    options:
      --backbone mlp|vit|cnn    the pre-trained network (default mlp): mlp 256-512-256-128; vit: 4×4 patches,
                                width 64, 4 heads, 2 blocks (pre-trained 20 epochs); cnn: conv 16-32 + maxpool, dense 128
      --vit-depth N             ViT transformer blocks (default 2)
      --seeds N                 seeds 1…N (default 1)
      --methods a,b,…           methods to run (default all): \(FineTuneMethod.allCases.map(\.rawValue).joined(separator: ", "))
      --quick                   a few epochs only (smoke test)
      --epochs N                fine-tuning epochs (default 40)
      --pretrain-epochs N       pre-training epochs (default 12)
      --threads N               worker threads for Graft kernels and OpenBLAS (default: all cores)
      --micro-batches K         compute each batch's gradient as K micro-batches' gradients added in order
                                (default 1; 1–32): less memory, and K = 2 in one process is bitwise `mpirun -np 2`
      --ood NAME=IMAGES,LABELS  add an IDX image / label pair (16×16, labels 0–9) as an extra OOD set (repeatable)
      --finetune IMAGES,LABELS  fine-tune on this IDX pair instead of optdigits
      --data DIR                the digits16 data folder (default: found from GRAFT_DATA or the working directory)
      --output DIR              where results go (default out/robust-finetune)
      --no-cache                do not read or write cached pre-trained weights
      --pretrained FILE         start every method from this safetensors checkpoint (PyTorch names of
                                nn.Sequential(OrderedDict(body=nn.Sequential(Linear, ReLU, …), head=Linear)):
                                body.0.weight, body.0.bias, body.2.weight, …, head.weight, head.bias;
                                hidden widths are read from it) instead of pre-training (MLP backbone only)
      --export DIR              write each method's fine-tuned model to DIR/METHOD.safetensors (seed N > 1:
                                DIR/METHOD-seedN.safetensors) and the test split's indices to DIR/test-split.json
      --help                    this text

    Writes results.md, results.json, id-vs-ood.svg, omega.svg and hypergradient.svg to the output folder.

    Data-parallel: `mpirun -np N RobustFineTune …` shards every batch over N ranks and averages the
    gradients with one all-reduce per step (GraftDistributed); rank 0 prints and writes the outputs.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("RobustFineTune: \(message)\n".utf8))
    exit(1)
}

struct Options {
    var backbone = Backbone.mlp
    var vitDepth: Int?
    var seeds = 1
    var methods = FineTuneMethod.allCases
    var quick = false
    var epochs: Int?
    var pretrainEpochs: Int?
    var threads: Int?
    var microBatches = 1
    var ood: [(name: String, images: String, labels: String)] = []
    var finetune: (images: String, labels: String)?
    var data: String?
    var output = "out/robust-finetune"
    var cache = true
    var pretrained: String?
    var export: String?
}

func parse(_ arguments: [String]) throws -> Options {
    var o = Options()
    var args = ArgumentList(arguments)
    func value(_ flag: String) throws -> String { try args.value(for: flag) }
    func pair(_ flag: String, _ text: String) throws -> (String, String) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw DataError.invalidArgument("\(flag) expects IMAGES,LABELS, got \"\(text)\"")
        }
        return (parts[0], parts[1])
    }
    while let flag = args.next() {
        switch flag {
        case "--help", "-h": print(usage); exit(0)
        case "--backbone": o.backbone = try Backbone.parse(try value(flag))
        case "--vit-depth": o.vitDepth = try args.int(for: flag, in: 1...64)
        case "--seeds": o.seeds = try args.int(for: flag, in: ExampleCommandLine.seedCount)
        case "--methods": o.methods = try FineTuneMethod.parseList(try value(flag))
        case "--quick": o.quick = true
        case "--epochs": o.epochs = try args.int(for: flag, in: ExampleCommandLine.epochs)
        case "--pretrain-epochs": o.pretrainEpochs = try args.int(for: flag, in: ExampleCommandLine.epochs)
        case "--threads": o.threads = try args.int(for: flag, in: ExampleCommandLine.threads)
        case "--micro-batches": o.microBatches = try args.int(for: flag, in: 1...32)
        case "--ood":
            let spec = try value(flag)
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                throw DataError.invalidArgument("--ood expects NAME=IMAGES,LABELS, got \"\(spec)\"")
            }
            let (images, labels) = try pair(flag, String(spec[spec.index(after: eq)...]))
            o.ood.append((String(spec[..<eq]), images, labels))
        case "--finetune": o.finetune = try pair(flag, try value(flag))
        case "--data": o.data = try value(flag)
        case "--output": o.output = try value(flag)
        case "--no-cache": o.cache = false
        case "--pretrained": o.pretrained = try value(flag)
        case "--export": o.export = try value(flag)
        default: throw DataError.invalidArgument("unknown option \(flag)")
        }
    }
    if o.pretrained != nil && o.backbone != .mlp {
        throw UsageError("--pretrained loads an MLP checkpoint; it cannot be combined with --backbone \(o.backbone.rawValue)")
    }
    return o
}

do {
    // Every flag, and the output folder, is checked before any work: exit 2 with one line.
    let (options, outputFolder) = ExampleCommandLine.parseOrExit("RobustFineTune", parse, output: \.output)
    ExampleEnvironment.configure(threads: options.threads)
    var configuration = options.quick ? ExperimentConfiguration.quick(options.backbone) : ExperimentConfiguration(backbone: options.backbone)
    if let d = options.vitDepth { configuration.vitDepth = d }
    if let e = options.epochs { configuration.epochs = e }
    configuration.microBatches = options.microBatches
    if let e = options.pretrainEpochs { configuration.pretrainEpochs = e }

    var given: [String: Tensor]?
    if let file = options.pretrained {
        let classifier: Classifier
        do {
            classifier = try Classifier.mlp(loadingSafetensors: URL(fileURLWithPath: file), input: 256, classes: 10)
        } catch let error as SafetensorsError {
            throw error  // already names the file
        } catch {
            throw DataError.invalidArgument("--pretrained \(file): \(error)")
        }
        configuration.hidden = classifier.body.namedParameters().filter { $0.parameter.shape.count == 2 }.map { $0.parameter.shape[0] }
        given = classifier.weights()
    }

    let communicator = try World.communicator()
    configuration.ranks = communicator.size
    let isRoot = communicator.isRoot
    let progress = isRoot ? ProgressLine() : ProgressLine(mode: .silent)
    func say(_ text: String) { if isRoot { print(text) } }
    let domains = try DigitDomains.load(explicitPath: options.data)
    let pretrain = try DigitDataset.concatenating([domains.mnist, domains.fonts], name: "mnist+fonts")
    var finetune = domains.optdigits
    if let f = options.finetune {
        finetune = try DigitDataset.load(name: "finetune", images: URL(fileURLWithPath: f.images), labels: URL(fileURLWithPath: f.labels))
    }
    let extra = try options.ood.map { o in
        try DigitDataset.load(name: o.name, images: URL(fileURLWithPath: o.images), labels: URL(fileURLWithPath: o.labels))
    }
    let output = outputFolder
    let experiment = try RobustFineTuneExperiment(configuration: configuration, methods: options.methods, pretrainData: pretrain,
                                                  finetuneData: finetune, extraOOD: extra,
                                                  cacheDirectory: options.cache ? output.appendingPathComponent("cache") : nil,
                                                  progress: progress)
    experiment.givenPretrainedWeights = given
    if communicator.size > 1 { experiment.dataParallel = communicator }
    if let directory = options.export, isRoot {
        let exporter = try ModelExporter(directory: URL(fileURLWithPath: directory), finetuneName: finetune.name)
        experiment.onMethodFinished = { try exporter.export($0) }
    }
    say("Graft robust fine-tuning · OpenBLAS \(BLAS.coreName) kernels, \(BLAS.threads) BLAS thread(s), \(Parallel.threads) Graft thread(s)"
        + (communicator.size > 1 ? " · \(communicator.size) data-parallel ranks (\(communicator.backend))" : ""))
    say("backbone: \(configuration.backboneDescription) · fine-tuning lr \(configuration.learningRate), \(configuration.epochs) epochs")
    if let file = options.pretrained { say("pre-trained: \(file) (MLP 256-\(configuration.hidden.map(String.init).joined(separator: "-"))-10, no pre-training)") }
    say((options.pretrained == nil ? "pre-train: \(pretrain.count) images (augmented) · " : "") + "fine-tune: \(finetune.name) \(configuration.trainPerClass)/class · OOD: \(Corruption.allCases.map(\.name).joined(separator: ", "))\(extra.isEmpty ? "" : ", " + extra.map(\.name).joined(separator: ", "))")
    var seeds: [SeedResult] = []
    for seed in 1...options.seeds {
        let result = try experiment.run(seed: UInt64(seed))
        seeds.append(result)
        progress.finish(String(format: "seed %d done in %.1f s (pre-training %.1f s)", seed, result.totalSeconds, result.pretrainSeconds))
    }
    let report = ExperimentReport(seeds: seeds)
    guard isRoot else { exit(0) }  // rank 0 reports and writes
    print("\n" + (try report.markdownTable()))
    if let omega = try report.omegaSummary() { print("\n" + omega) }
    let files = try report.write(to: output, configuration: configuration)
    print("\nwrote " + files.map(\.path).joined(separator: ", "))
} catch {
    fail("\(error)")
}
