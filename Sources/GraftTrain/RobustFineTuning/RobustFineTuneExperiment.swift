import Foundation
import GraftNN
import GraftOptim
import GraftTensor

/// The robust fine-tuning comparison: the paper's table in miniature, on real digits.
///
/// Per seed: pre-train the configured backbone (`ExperimentConfiguration.makeClassifier`) on augmented pre-training data
/// (cached per seed), split the fine-tuning domain, corrupt its test split five ways, then
/// run every selected `FineTuneMethod` from the same pre-trained weights with a new head and
/// evaluate ID and OOD accuracy. No choice looks at test or OOD data: DiGraP's μ is chosen on
/// the ID validation split; the learned-ω variants of issue 19 (`digrap-shift-*`,
/// `digrap-w1-learned`, `digrap-w1-shift`) choose μ on the *shifted* validation split (the
/// validation images under the pre-training augmentations, `ShiftedValidationSource`), which is
/// also where the shift variants' hypergradient batches come from.
public final class RobustFineTuneExperiment {
    /// The protocol's settings.
    public let configuration: ExperimentConfiguration
    /// The methods to run, in order.
    public let methods: [FineTuneMethod]
    /// Pre-training data (MNIST + fonts by default).
    public let pretrainData: DigitDataset
    /// Fine-tuning domain (optdigits by default).
    public let finetuneData: DigitDataset
    /// Extra OOD sets evaluated as they are.
    public let extraOOD: [DigitDataset]
    /// Where pre-trained weights are cached (`nil`: no cache).
    public let cacheDirectory: URL?
    /// Progress display.
    public let progress: ProgressLine
    /// Pre-trained weights given by the caller (for example a PyTorch checkpoint read with
    /// `Safetensors.read`); when set, every seed starts from them: nothing is pre-trained
    /// or cached. They must load strictly into `Classifier.mlp(256 → hidden → 10)`.
    public var givenPretrainedWeights: [String: Tensor]?
    /// Called with each method's final model, right after it is evaluated (to export it).
    public var onMethodFinished: ((FinishedMethod) throws -> Void)?
    /// Data-parallel training over ranks (`nil`: one process): every `Trainer` of the run shards
    /// its batches and averages gradients over the ranks; only rank 0 writes the weight cache.
    public var dataParallel: (any DataParallelism)?

    /// A method's fine-tuned model as evaluated, with the split it was evaluated on.
    public struct FinishedMethod {
        /// The method.
        public var method: FineTuneMethod
        /// The seed.
        public var seed: UInt64
        /// The evaluated model (DiGraP: the μ chosen on validation).
        public var model: Classifier
        /// The split of the fine-tuning data (`split.testIndices` index `finetuneData`).
        public var split: DatasetSplit
        /// The reported result.
        public var result: MethodResult
    }

    /// An experiment; throws unless every data set holds 16×16 images of 10 classes and is
    /// not empty (an empty OOD set would report an accuracy of NaN).
    public init(configuration: ExperimentConfiguration, methods: [FineTuneMethod], pretrainData: DigitDataset,
                finetuneData: DigitDataset, extraOOD: [DigitDataset] = [], cacheDirectory: URL?, progress: ProgressLine) throws {
        for d in [pretrainData, finetuneData] + extraOOD where d.pixelCount != 256 || d.classCount != 10 {
            throw DataError.invalidArgument("\(d.name): the experiment needs 16×16 images with 10 classes (got side \(d.side), \(d.classCount) classes)")
        }
        for d in [pretrainData, finetuneData] + extraOOD where d.count == 0 {
            throw DataError.invalidArgument("\(d.name): the data set has no images")
        }
        self.configuration = configuration
        self.methods = methods
        self.pretrainData = pretrainData
        self.finetuneData = finetuneData
        self.extraOOD = extraOOD
        self.cacheDirectory = cacheDirectory
        self.progress = progress
        self.pretrainDataDigest = cacheDirectory == nil ? "" : Self.digest(of: pretrainData)
    }

    /// SHA-256 of the pre-training data (`""` without a cache): pixels as float32 bytes, then
    /// labels as little-endian Int64, then the side and class count.
    private let pretrainDataDigest: String

    static func digest(of data: DigitDataset) -> String {
        var hasher = SHA256()
        data.images.withUnsafeBufferPointer { hasher.update(UnsafeRawBufferPointer($0)) }
        data.labels.map { Int64($0).littleEndian }.withUnsafeBytes { hasher.update($0) }
        [Int64(data.side).littleEndian, Int64(data.classCount).littleEndian].withUnsafeBytes { hasher.update($0) }
        return hasher.finalize().hexString
    }

    /// The key a cached pre-training must carry to be reused for `seed`: the configuration's
    /// `pretrainingKey`, the seed and the SHA-256 of the pre-training data, so a cache file
    /// copied from another seed, or made from other data or settings, is never reused.
    public func pretrainingCacheKey(seed: UInt64) -> String {
        "\(configuration.pretrainingKey) seed \(seed) data sha256 \(pretrainDataDigest) count \(pretrainData.count)"
    }

    // MARK: Pre-training

    /// Pre-trained weights for `seed`, from the cache when its key matches.
    public func pretrainedWeights(seed: UInt64) throws -> (weights: [String: Tensor], seconds: Double) {
        if let givenPretrainedWeights { return (givenPretrainedWeights, 0) }
        let key = pretrainingCacheKey(seed: seed)
        let file = cacheDirectory?.appendingPathComponent(configuration.pretrainedFileName(seed: seed))
        if let file, FileManager.default.fileExists(atPath: file.path) {
            do {
                let archive = try TensorArchive.read(from: file)
                if archive.metadata["key"] == key {
                    progress.log("seed \(seed): using cached pre-trained weights \(file.path)")
                    return (archive.tensors, 0)
                }
                progress.log("seed \(seed): cached weights were made with another seed, data set or configuration; pre-training again")
            } catch {
                progress.log("seed \(seed): ignoring unreadable cache (\(error)); pre-training again")
            }
        }
        let start = Date()
        let classifier = try configuration.makeClassifier(seed: seed &* 7919 &+ 1)
        var trainer = Trainer(epochs: configuration.pretrainEpochs, batchSize: configuration.pretrainBatchSize, seed: seed &+ 101)
        trainer.dataParallel = dataParallel
        trainer.microBatches = configuration.microBatches
        let steps = trainer.totalSteps(examples: pretrainData.count)
        let optimizer = try Optimizer(parameters: classifier.namedParameters(), groups: [
            ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: cosine(configuration.pretrainLearningRate, steps))),
        ])
        let augmenter = try Augmenter(policy: .pretraining)
        try trainer.train(classifier.model, on: pretrainData, optimizer: optimizer,
                          augment: { data, epoch in augmenter.augment(data, seed: seed << 20 &+ UInt64(epoch)) },
                          onStep: { s in
                              self.progress.update(String(format: "seed %llu · pre-train · epoch %d/%d · loss %.3f · %.0f steps/s",
                                                          seed, s.epoch, self.configuration.pretrainEpochs, s.loss, s.stepsPerSecond))
                          })
        let weights = classifier.weights()
        if let file, (dataParallel?.rank ?? 0) == 0 {
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try TensorArchive(tensors: weights, metadata: ["key": key, "seed": "\(seed)"]).write(to: file)
        }
        return (weights, Date().timeIntervalSince(start))
    }

    private func cosine(_ lr: Float, _ steps: Int) throws -> Schedule {
        try Schedule(.cosine(initial: lr, totalSteps: max(1, steps), final: 0), key: "lr")
    }

    // MARK: One seed

    /// Runs every selected method for one seed.
    public func run(seed: UInt64) throws -> SeedResult {
        let start = Date()
        let (pretrained, pretrainSeconds) = try pretrainedWeights(seed: seed)
        let c = configuration
        let split = try DatasetSplit(finetuneData, trainPerClass: c.trainPerClass, validationPerClass: c.validationPerClass,
                                     testPerClass: c.testPerClass, seed: seed &+ 202)
        let ood = Corruption.allCases.enumerated().map { i, corruption in
            corruption.apply(to: split.test, seed: seed &* 31 &+ UInt64(i))
        } + extraOOD
        let oodNames = Corruption.allCases.map(\.name) + extraOOD.map(\.name)
        var trainer = Trainer(epochs: c.epochs, batchSize: c.batchSize, seed: seed &+ 303)
        trainer.dataParallel = dataParallel
        trainer.microBatches = configuration.microBatches
        let steps = trainer.totalSteps(examples: split.train.count)
        let headSeed = seed &* 104_729 &+ 7

        func pretrainedClassifier(newHead: Bool) throws -> Classifier {
            let model = try c.makeClassifier(seed: 0)
            try model.load(pretrained)
            return newHead ? try model.withNewHead(classes: 10, seed: headSeed) : model
        }
        func optimizer(_ model: Classifier, _ transform: some GradientTransform) throws -> Optimizer {
            try Optimizer(parameters: model.namedParameters(), groups: [ParameterGroup("all", selecting: .all, transform: transform)])
        }
        // Trains; returns wall-clock seconds per optimizer step (provided-gradient passes included).
        @discardableResult
        func fit(_ model: Classifier, _ optimizer: Optimizer, _ name: String,
                 provided: (() throws -> [String: Tensor])? = nil, onStep: ((TrainingStep) -> Void)? = nil) throws -> Double {
            let begin = Date()
            try trainer.train(model.model, on: split.train, optimizer: optimizer, providedGradient: provided) { s in
                onStep?(s)
                self.progress.update(String(format: "seed %llu · %@ · epoch %d/%d · loss %.3f · %.0f steps/s",
                                            seed, name, s.epoch, c.epochs, s.loss, s.stepsPerSecond))
            }
            return Date().timeIntervalSince(begin) / Double(max(1, steps))
        }
        func evaluate(_ model: Classifier, _ method: FineTuneMethod, mu: Float? = nil, secondsPerStep: Double? = nil) throws -> MethodResult {
            let result = MethodResult(method: method, seed: seed, idAccuracy: try evaluateAccuracy(model.model, on: split.test),
                                      validationAccuracy: try evaluateAccuracy(model.model, on: split.validation),
                                      oodAccuracies: try ood.map { try evaluateAccuracy(model.model, on: $0) }, chosenMu: mu,
                                      secondsPerStep: secondsPerStep)
            try onMethodFinished?(FinishedMethod(method: method, seed: seed, model: model, split: split, result: result))
            return result
        }
        let lr = try cosine(c.learningRate, steps)
        var omegaTraces: [OmegaTrace] = []
        // Records ω of every weight matrix (and convolution kernel) of the backbone after each step.
        func omegaRecorder(_ opt: Optimizer, _ model: Classifier) -> (record: (TrainingStep) -> Void, traces: (FineTuneMethod) -> [OmegaTrace]) {
            let paths = model.body.namedParameters().filter { $0.parameter.shape.count >= 2 }.map { "body." + $0.path }
            var series = [[Double]](repeating: [], count: paths.count)
            var hyper = [[Double]](repeating: [], count: paths.count)
            var conflicts = [Int](repeating: 0, count: paths.count)
            return ({ _ in
                for (i, p) in paths.enumerated() {
                    let t = opt.telemetry(for: p)
                    series[i].append(t["omega"] ?? .nan)
                    hyper[i].append(t["hypergradient"] ?? .nan)
                    if t["conflict"] == 1 { conflicts[i] += 1 }
                }
            }, { method in
                paths.indices.map { i in
                    OmegaTrace(method: method, seed: seed, path: paths[i], omega: series[i], hypergradient: hyper[i],
                               conflictFraction: Double(conflicts[i]) / Double(max(1, series[i].count)))
                }
            })
        }

        var results: [MethodResult] = []
        var probed: (model: Classifier, secondsPerStep: Double)?
        var lpft: (model: Classifier, secondsPerStep: Double)?
        func linearProbe() throws -> (model: Classifier, secondsPerStep: Double) {
            if let probed { return probed }
            let model = try pretrainedClassifier(newHead: true)
            model.body.freeze()
            let time = try fit(model, try optimizer(model, try Recipes.adam(learningRate: lr)), "LP")
            model.body.unfreeze()
            probed = (model, time)
            return (model, time)
        }
        func lpThenFT() throws -> (ft: Classifier, probeHead: [String: Tensor], secondsPerStep: Double) {
            let probeWeights = try linearProbe().model.weights()
            if let lpft { return (lpft.model, probeWeights, lpft.secondsPerStep) }
            let model = try pretrainedClassifier(newHead: true)
            try model.load(probeWeights)
            let time = try fit(model, try optimizer(model, try Recipes.adam(learningRate: lr)), "LP-FT")
            lpft = (model, time)
            return (model, probeWeights, time)
        }

        // Issue 19: the shifted hypergradient source and the shifted validation split that
        // chooses μ of the learned-ω variants. Both read only `split.validation` (augmented
        // with the pre-training policy), never the test split, its corruptions or extra OOD sets.
        let shiftAugmenter = try Augmenter(policy: .pretraining)
        let shiftedValidation = ShiftedValidationSource.selectionSet(of: split, augmenter: shiftAugmenter, seed: seed &+ 505)
        // DiGraP with learned ω for every μ in `c.digrapMuCandidates`; keeps the run with the best
        // accuracy on `selectOn` and its ω telemetry.
        func learnedDigrap(_ method: FineTuneMethod, initialOmega: Float, placement: ProjectionPlacement, shifted: Bool,
                           selectOn: DigitDataset) throws {
            var best: (model: Classifier, mu: Float, score: Double, traces: [OmegaTrace], secondsPerStep: Double)?
            for mu in c.digrapMuCandidates {
                let model = try pretrainedClassifier(newHead: true)
                let opt = try optimizer(model, try Recipes.digrap(learningRate: lr, omega: .learned(mu: mu, initial: initialOmega),
                                                                   placement: placement, source: shifted ? .provided : .training))
                let recorder = omegaRecorder(opt, model)
                var provided: (() throws -> [String: Tensor])?
                if shifted {
                    // The same batches for every μ candidate.
                    var source = try ShiftedValidationSource(split: split, augmenter: shiftAugmenter, batchSize: c.batchSize, seed: seed &+ 606)
                    provided = { try source.gradient(of: model.model) }
                }
                let time = try fit(model, opt, "\(method.label) μ \(mu)", provided: provided, onStep: recorder.record)
                let score = try evaluateAccuracy(model.model, on: selectOn)
                if best == nil || score > best!.score { best = (model, mu, score, recorder.traces(method), time) }
            }
            if let best {
                results.append(try evaluate(best.model, method, mu: best.mu, secondsPerStep: best.secondsPerStep))
                omegaTraces += best.traces
            }
        }

        for method in methods {
            switch method {
            case .zeroShot:
                results.append(try evaluate(try pretrainedClassifier(newHead: false), method))
            case .linearProbe:
                let probe = try linearProbe()
                results.append(try evaluate(probe.model, method, secondsPerStep: probe.secondsPerStep))
            case .fineTune:
                let model = try pretrainedClassifier(newHead: true)
                let time = try fit(model, try optimizer(model, try Recipes.adam(learningRate: lr)), "FT")
                results.append(try evaluate(model, method, secondsPerStep: time))
            case .lpft:
                let run = try lpThenFT()
                results.append(try evaluate(run.ft, method, secondsPerStep: run.secondsPerStep))
            case .l2spSmall, .l2spLarge:
                let model = try pretrainedClassifier(newHead: true)
                let alpha: Float = method == .l2spSmall ? 0.1 : 1
                let time = try fit(model, try optimizer(model, try Recipes.l2sp(learningRate: lr, alpha: alpha, base: .adam())), method.label)
                results.append(try evaluate(model, method, secondsPerStep: time))
            case .wiseFT:
                let (ft, probeWeights, _) = try lpThenFT()
                let model = try pretrainedClassifier(newHead: true)
                // WiSE-FT's zero-shot end: the pre-trained backbone with the probed head (LP-FT's start).
                let backbone = pretrained.filter { !$0.key.hasPrefix("head.") }
                let start = backbone.merging(probeWeights.filter { $0.key.hasPrefix("head.") }) { $1 }
                try model.load(try WeightAveraging.interpolate(zeroShot: start, fineTuned: ft.weights(), alpha: c.wiseAlpha))
                results.append(try evaluate(model, method))
            case .digrap:
                // The paper: gradient placement, ω from 0, training hypergradient, μ on the ID validation split.
                try learnedDigrap(method, initialOmega: 0, placement: .gradient, shifted: false, selectOn: split.validation)
            case .digrapShiftUpdate, .digrapShiftGradient:
                try learnedDigrap(method, initialOmega: 0, placement: method == .digrapShiftGradient ? .gradient : .update,
                                  shifted: true, selectOn: shiftedValidation)
            case .digrapLearnedFromOne, .digrapLearnedFromOneShift:
                try learnedDigrap(method, initialOmega: 1, placement: .update, shifted: method == .digrapLearnedFromOneShift,
                                  selectOn: shiftedValidation)
            case .digrapFixedGradient, .digrapFixedUpdate:
                let model = try pretrainedClassifier(newHead: true)
                let placement: ProjectionPlacement = method == .digrapFixedGradient ? .gradient : .update
                let time = try fit(model, try optimizer(model, try Recipes.digrap(learningRate: lr, omega: .fixed(1), placement: placement)), method.label)
                results.append(try evaluate(model, method, secondsPerStep: time))
            case .digrapValidation:
                let model = try pretrainedClassifier(newHead: true)
                let opt = try optimizer(model, try Recipes.digrap(learningRate: lr, omega: .learned(mu: c.validationDigrapMu),
                                                                   placement: .update, source: .provided))
                var sampler = try BatchSampler(images: split.validation.images, labels: split.validation.labels,
                                               batchSize: min(c.batchSize, split.validation.count), seed: seed &+ 404)
                sampler.startEpoch()
                let recorder = omegaRecorder(opt, model)
                let time = try fit(model, opt, method.label, provided: {
                    if let batch = sampler.next() { return try Trainer.gradient(of: model.model, images: batch.images, labels: batch.labels) }
                    sampler.startEpoch()
                    let batch = sampler.next()!
                    return try Trainer.gradient(of: model.model, images: batch.images, labels: batch.labels)
                }, onStep: recorder.record)
                results.append(try evaluate(model, method, mu: c.validationDigrapMu, secondsPerStep: time))
                omegaTraces += recorder.traces(method)
            case .ftp:
                let model = try pretrainedClassifier(newHead: true)
                let time = try fit(model, try optimizer(model, try Recipes.ftp(learningRate: lr, base: .adam())), method.label)
                results.append(try evaluate(model, method, secondsPerStep: time))
            case .spd:
                let model = try pretrainedClassifier(newHead: true)
                let time = try fit(model, try optimizer(model, try Recipes.spd(learningRate: lr, lambda: c.spdLambda)), method.label)
                results.append(try evaluate(model, method, secondsPerStep: time))
            }
            if let last = results.last, last.method == method {
                progress.log(String(format: "seed %llu · %@: ID %.1f · OOD avg %.1f", seed, method.label, last.idAccuracy * 100, last.oodAverage * 100))
            }
        }
        return SeedResult(seed: seed, oodNames: oodNames, methods: results, omegaTraces: omegaTraces,
                          pretrainSeconds: pretrainSeconds, totalSeconds: Date().timeIntervalSince(start))
    }
}
