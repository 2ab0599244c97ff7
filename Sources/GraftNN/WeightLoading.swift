import GraftTensor

/// Why `load(_:strict:)` refused a set of named tensors. Nothing is changed when it throws.
public enum WeightLoadingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A parameter of the model has no tensor under its path.
    case missingPath(String)
    /// A tensor's path names no parameter of the model (strict loading only).
    case unexpectedPath(String)
    /// The tensor under `path` has shape `actual`, the model's parameter has shape `expected`.
    case shapeMismatch(path: String, expected: [Int], actual: [Int])

    /// A one-line message naming what is wrong and what was expected.
    public var description: String {
        switch self {
        case let .missingPath(path):
            return "no tensor for the model's parameter \"\(path)\""
        case let .unexpectedPath(path):
            return "the tensor \"\(path)\" matches no parameter of the model"
        case let .shapeMismatch(path, expected, actual):
            return "\"\(path)\": the model's parameter has shape \(expected), the tensor has shape \(actual)"
        }
    }
}

/// Weights as named tensors (path → value): how a model is saved, initialised from a
/// pre-trained one, or compared with another.
extension Layer {
    /// The value of every parameter of the tree (trainable or frozen) keyed by its dotted
    /// path. The tensors share storage with the parameters until either is modified (copy on
    /// write), so exporting copies nothing and later training does not change the export.
    public func namedTensors() -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        visitParameters(prefix: "") { path, parameter in result[path] = parameter.value }
        return result
    }

    /// Replaces parameter values with the tensors of the same paths. Gradients, trainable
    /// flags and anchor kinds are left as they are.
    ///
    /// Every tensor is validated before any parameter changes, so on error the model is
    /// untouched. Errors are reported in the model's parameter order (missing or mis-shaped),
    /// then unexpected paths in sorted order.
    /// - Parameter strict: when `true` (the default) every parameter must have a tensor and
    ///   every tensor must name a parameter; when `false` parameters without a tensor keep
    ///   their values and extra tensors are ignored (loading a plain model's weights into its
    ///   LoRA-adapted version, for example). Shapes must match in both modes.
    /// - Throws: `WeightLoadingError`.
    public func load(_ tensors: [String: Tensor], strict: Bool = true) throws {
        var updates: [(Parameter, Tensor)] = []
        var firstError: WeightLoadingError? = nil
        var paths = Set<String>()
        visitParameters(prefix: "") { path, parameter in
            paths.insert(path)
            guard firstError == nil else { return }
            guard let tensor = tensors[path] else {
                if strict { firstError = .missingPath(path) }
                return
            }
            guard tensor.shape == parameter.shape else {
                firstError = .shapeMismatch(path: path, expected: parameter.shape, actual: tensor.shape)
                return
            }
            updates.append((parameter, tensor))
        }
        if let firstError { throw firstError }
        if strict, let extra = tensors.keys.filter({ !paths.contains($0) }).sorted().first {
            throw WeightLoadingError.unexpectedPath(extra)
        }
        for (parameter, tensor) in updates { parameter.value = tensor }
    }
}
