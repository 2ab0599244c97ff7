import Foundation
import GraftNN
import GraftSafetensors
import GraftTensor

extension Classifier {
    /// The MLP classifier a state dict describes, with its weights loaded strictly.
    ///
    /// The names are PyTorch's for `nn.Sequential(OrderedDict(body=nn.Sequential(Linear,
    /// ReLU, Linear, ReLU, …), head=Linear))`, the tree `Classifier.mlp` builds:
    /// `body.0.weight`, `body.0.bias`, `body.2.weight`, …, `head.weight`, `head.bias`. The
    /// hidden widths are the row counts of `body.0.weight`, `body.2.weight`, …
    /// - Throws: `DataError.invalidArgument` when the names or the input width do not
    ///   describe such an MLP; `StateDictError.incompatible` (every missing, unexpected or
    ///   mis-shaped name) when the tensors do not fit it exactly.
    public static func mlp(loading tensors: [String: Tensor], input: Int, classes: Int) throws -> Classifier {
        var hidden: [Int] = []
        var width = input
        while let w = tensors["body.\(2 * hidden.count).weight"] {
            guard w.rank == 2, w.shape[1] == width else {
                throw DataError.invalidArgument("body.\(2 * hidden.count).weight has shape \(w.shape), expected [hidden, \(width)]")
            }
            hidden.append(w.shape[0])
            width = w.shape[0]
        }
        guard !hidden.isEmpty else {
            throw DataError.invalidArgument("no body.0.weight: expected PyTorch names body.0.weight, body.2.weight, …, head.weight (found \(tensors.keys.sorted().prefix(6).joined(separator: ", ")))")
        }
        let classifier = try Classifier.mlp(input: input, hidden: hidden, classes: classes, seed: 0)
        try classifier.model.loadStateDict(tensors)
        return classifier
    }

    /// `mlp(loading:input:classes:)` from a safetensors file.
    public static func mlp(loadingSafetensors url: URL, input: Int, classes: Int) throws -> Classifier {
        try mlp(loading: Safetensors.read(path: url.path).tensors, input: input, classes: classes)
    }
}
