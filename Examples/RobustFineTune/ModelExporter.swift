import Foundation
import Graft

/// `--export DIR`: writes each method's fine-tuned model to `DIR/METHOD.safetensors` (seed
/// N > 1: `DIR/METHOD-seedN.safetensors`) with its test accuracy in `__metadata__`, and the
/// test split's indices into the fine-tuning data to `DIR/test-split.json`
/// (`test-split-seedN.json`), so another framework can evaluate the same examples.
struct ModelExporter {
    let directory: URL
    let finetuneName: String

    init(directory: URL, finetuneName: String) throws {
        self.directory = directory
        self.finetuneName = finetuneName
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    private struct SplitFile: Encodable {
        var dataset: String
        var seed: UInt64
        var testIndices: [Int]
    }

    func export(_ finished: RobustFineTuneExperiment.FinishedMethod) throws {
        let suffix = finished.seed == 1 ? "" : "-seed\(finished.seed)"
        let tested = finished.split.testIndices.count
        let correct = Int((finished.result.idAccuracy * Double(tested)).rounded())
        try finished.model.model.exportSafetensors(
            to: directory.appendingPathComponent(finished.method.rawValue + suffix + ".safetensors"),
            metadata: ["graft.method": finished.method.rawValue, "graft.seed": "\(finished.seed)",
                       "graft.test_correct": "\(correct)", "graft.test_examples": "\(tested)",
                       "graft.id_accuracy": String(format: "%.17g", finished.result.idAccuracy)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let split = SplitFile(dataset: finetuneName, seed: finished.seed, testIndices: finished.split.testIndices)
        try AtomicFile.write(Array(try encoder.encode(split)), to: directory.appendingPathComponent("test-split\(suffix).json"))
    }
}
