import Foundation
import GraftNN
import GraftSafetensors
import GraftTensor

/// Models to and from safetensors files, with PyTorch's names: a model's parameter paths
/// are those of `named_parameters()` for the same module tree (`Sequential` children are
/// `0`, `1`, … unless named; `Dense` holds `weight` `[out, in]` and `bias` `[out]`, the
/// layout of `nn.Linear`), so a PyTorch `state_dict` saved with `safetensors.torch.save_file`
/// loads without renames or transposes, and an exported file loads with
/// `model.load_state_dict(safetensors.torch.load_file(path))`.
extension Layer {
    /// Reads the safetensors file at `url` (F32, F16, BF16 or F64, converted to `Float`) and
    /// loads it with `loadStateDict(_:strict:mapping:)`.
    /// - Returns: the loading report (missing, unexpected and mis-shaped names).
    /// - Throws: `SafetensorsError` for an unreadable or malformed file (naming the tensor),
    ///   `StateDictError` when strict loading does not match the model (nothing changes).
    @discardableResult
    public func loadSafetensors(from url: URL, strict: Bool = true, mapping: NameMapping = NameMapping()) throws -> StateDictReport {
        try loadStateDict(try Safetensors.read(path: url.path).tensors, strict: strict, mapping: mapping)
    }

    /// Writes every parameter (trainable or frozen) under its path to `url` as F32 (or
    /// BF16), atomically, with `__metadata__` recording the writer (`"writer": "Graft"`,
    /// `"format": "pt"` as PyTorch files carry, the parameter count) plus `metadata`.
    /// - Throws: `SafetensorsError.io` naming the file.
    public func exportSafetensors(to url: URL, type: SafetensorsWriteType = .f32, metadata: [String: String] = [:]) throws {
        var meta = ["writer": "Graft (GraftSafetensors)", "format": "pt", "graft.parameters": "\(parameterCount())",
                    "graft.dtype": type.dtype.rawValue]
        meta.merge(metadata) { _, new in new }
        try Safetensors.write(namedTensors(), metadata: meta, type: type, to: url.path)
    }
}
