import Foundation
import Testing
import GraftNN
import GraftSafetensors
import GraftTensor
@testable import GraftTrain

/// The README's safetensors snippet, verbatim but for the file paths (a temporary folder),
/// so it keeps compiling and doing what the README says.
@Suite struct ReadmeSafetensorsExampleTests {
    @Test func safetensorsSnippetRuns() throws {
        let folder = try TemporaryDirectory()
        defer { folder.cleanup() }
        // --- README snippet ---
        let classifier = try Classifier.mlp(input: 256, hidden: [512, 256, 128], classes: 10, seed: 0)
        let url = folder.file("mlp.safetensors")
        try classifier.model.exportSafetensors(to: url)                 // F32; __metadata__ names the writer

        // Read: the header is validated on open, tensors are read on demand, as Float.
        let file = try SafetensorsFile(path: url.path)
        let entry = file.entry("head.weight")!                          // dtype .f32, shape [10, 128], offsets
        let head = try file.tensor(named: "head.weight")
        let (tensors, metadata) = try Safetensors.read(path: url.path)
        try Safetensors.write(tensors, metadata: ["note": "half size"], type: .bf16, to: folder.file("mlp-bf16.safetensors").path)

        // Load by path. Dense uses PyTorch's [out, in] layout, so nn.Linear weights load without
        // transposes; Sequential children are named 0, 1, … as in nn.Sequential.
        let same = try Classifier.mlp(input: 256, hidden: [512, 256, 128], classes: 10, seed: 1)
        try same.model.loadSafetensors(from: url)                       // strict: StateDictError lists every
                                                                        // problem and nothing changes
        let fiveWay = try Classifier.mlp(input: 256, hidden: [512, 256, 128], classes: 5, seed: 1)
        let report = try fiveWay.model.loadSafetensors(from: url, strict: false, mapping: .stripping("module."))
        // --- end of snippet ---
        #expect(entry.dtype == .f32 && entry.shape == [10, 128])
        #expect(head == classifier.head.weight.value)
        #expect(metadata["writer"] == "Graft (GraftSafetensors)")
        #expect(same.weights() == classifier.weights())
        #expect(report.loaded.count == 6)
        #expect(report.description.hasPrefix("loaded 6 parameters\nsize mismatch for head.weight: the checkpoint has shape [10, 128], the model's parameter has shape [5, 128]"))
        #expect(try SafetensorsFile(path: folder.file("mlp-bf16.safetensors").path).entry("head.bias")?.dtype == .bf16)
    }
}
