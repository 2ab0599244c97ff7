import Foundation
import Testing
import GraftNN
import GraftOptim
import GraftTensor
@testable import GraftTrain

/// The whole robust fine-tuning pipeline in quick mode on a tiny split: every method runs
/// through the public API, and the table, JSON and figures come out with sane numbers.
@Suite struct RobustFineTunePipelineTests {
    @Test func quickPipelineProducesTableJSONAndFigures() throws {
        let domains = try DigitDomains.load(from: bundledDataFolder)
        let pretrain = try DigitDataset.concatenating([try domains.mnist.subset(Array(0..<4000).filter { $0 % 10 == 0 }), domains.fonts],
                                                      name: "tiny-pretrain")
        var config = ExperimentConfiguration.quick
        config.hidden = [64, 32]
        config.pretrainEpochs = 3
        config.epochs = 6
        config.batchSize = 16
        config.trainPerClass = 5
        config.validationPerClass = 3
        config.testPerClass = 8
        config.digrapMuCandidates = [0.5, 10]
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let experiment = try RobustFineTuneExperiment(configuration: config, methods: FineTuneMethod.allCases, pretrainData: pretrain,
                                                      finetuneData: domains.optdigits, extraOOD: [try domains.fonts.subset(Array(0..<50))],
                                                      cacheDirectory: dir.file("cache"), progress: ProgressLine(mode: .silent))
        let first = try experiment.run(seed: 1)
        #expect(first.methods.map(\.method) == FineTuneMethod.allCases)
        #expect(first.oodNames == ["rotate", "invert", "noise", "shrink", "thin", "fonts"])
        for r in first.methods {
            #expect(r.idAccuracy.isFinite && (0...1).contains(r.idAccuracy), "\(r.method) ID \(r.idAccuracy)")
            #expect(r.oodAccuracies.count == 6 && r.oodAccuracies.allSatisfy { (0...1).contains($0) })
        }
        // Trained methods beat chance (10 %) in distribution, even on this tiny split.
        let ft = try #require(first.methods.first { $0.method == .fineTune })
        #expect(ft.idAccuracy > 0.2, "FT ID accuracy \(ft.idAccuracy)")
        #expect(first.methods.first { $0.method == .digrap }?.chosenMu.map { [0.5, 10].contains($0) } == true)
        // DiGraP telemetry: one ω series per backbone weight matrix, one value per step.
        let traces = first.omegaTraces.filter { $0.method == .digrap }
        #expect(traces.map(\.path) == ["body.0.weight", "body.2.weight"])
        #expect(traces.allSatisfy { $0.omega.count == config.epochs * (50 / config.batchSize) && $0.omega.allSatisfy { (0...1).contains($0) } })

        // Issue 19's learned-ω variants: μ from the candidates (chosen on the shifted validation
        // split), ω starting at the configured value, one ω series per weight matrix.
        for method in [FineTuneMethod.digrapShiftUpdate, .digrapShiftGradient, .digrapLearnedFromOne, .digrapLearnedFromOneShift] {
            #expect(first.methods.first { $0.method == method }?.chosenMu.map { [0.5, 10].contains($0) } == true, "\(method)")
            let t = first.omegaTraces.filter { $0.method == method }
            #expect(t.map(\.path) == ["body.0.weight", "body.2.weight"], "\(method)")
            let start: Double = [.digrapLearnedFromOne, .digrapLearnedFromOneShift].contains(method) ? 1 : 0
            // Step 1 has no hypergradient yet, so ω after it is still the start.
            #expect(t.allSatisfy { $0.omega.first == start && $0.omega.allSatisfy { (0...1).contains($0) } }, "\(method) starts at \(start)")
        }
        // The shifted source feeds the hypergradient: same start, same training batches, other h.
        func hypergradients(_ m: FineTuneMethod) -> [[Double]] {
            first.omegaTraces.filter { $0.method == m }.map { $0.hypergradient.dropFirst().map { $0.isFinite ? $0 : -99 } }
        }
        let fromOne = hypergradients(.digrapLearnedFromOne), fromOneShift = hypergradients(.digrapLearnedFromOneShift)
        #expect(fromOne.count == 2 && fromOne.allSatisfy { $0.contains { $0 != 0 && $0 != -99 } })
        #expect(fromOne != fromOneShift)
        // Timing: every method with a training run of its own reports seconds per step.
        for r in first.methods {
            if r.method == .zeroShot || r.method == .wiseFT { #expect(r.secondsPerStep == nil) } else {
                #expect((r.secondsPerStep ?? 0) > 0, "\(r.method) has no step time")
            }
        }

        // The second run reuses the cached pre-trained weights and reproduces the first exactly.
        let second = try experiment.run(seed: 1)
        #expect(second.pretrainSeconds == 0)
        #expect(second.methods.count == first.methods.count)
        #expect(zip(second.methods, first.methods).allSatisfy { $0.sameOutcome(as: $1) })

        let report = ExperimentReport(seeds: [first, second])
        let table = try report.markdownTable()
        for m in FineTuneMethod.allCases { #expect(table.contains(m.label)) }
        #expect(table.contains("OOD avg") && table.contains("±") && table.contains("ms / step"))
        let files = try report.write(to: dir.file("out"), configuration: config)
        #expect(files.map(\.lastPathComponent) == ["results.md", "results.json", "id-vs-ood.svg", "omega.svg", "hypergradient.svg"])
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.file("out/results.json"))) as? [String: Any]
        #expect(json?["format"] as? String == "graft-robust-finetune/1")
        #expect((json?["summary"] as? [Any])?.count == FineTuneMethod.allCases.count)
        let svg = try String(contentsOf: dir.file("out/id-vs-ood.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
        #expect(svg.contains("LP-FT"))
    }

    @Test func methodListParsing() throws {
        #expect(try FineTuneMethod.parseList("ft,lp,ft") == [.fineTune, .linearProbe])
        #expect(try FineTuneMethod.parseList("all") == FineTuneMethod.allCases)
        #expect(throws: DataError.self) { try FineTuneMethod.parseList("ft,nope") }
        #expect(throws: DataError.self) { try FineTuneMethod.parseList(",") }
    }

    @Test func batchSamplerCoversEveryExampleOncePerEpoch() throws {
        let images = try Tensor(shape: [10, 2], scalars: (0..<20).map(Float.init))
        var sampler = try BatchSampler(images: images, labels: Array(0..<10), batchSize: 3, dropLast: false, seed: 9)
        sampler.startEpoch()
        var seen: [Int] = []
        while let batch = sampler.next() {
            for (r, label) in batch.labels.enumerated() {
                #expect(batch.images[r, 0] == Float(2 * label) && batch.images[r, 1] == Float(2 * label + 1))
                seen.append(label)
            }
        }
        #expect(seen.sorted() == Array(0..<10) && seen != Array(0..<10))
        #expect(sampler.batchesPerEpoch == 4)
        #expect(throws: DataError.self) { try BatchSampler(images: images, labels: [1], batchSize: 3, seed: 0) }
        #expect(throws: DataError.self) { try BatchSampler(images: images, labels: Array(0..<10), batchSize: 0, seed: 0) }
    }
}
