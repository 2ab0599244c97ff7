import GraftTensor

/// Errors thrown by losses and metrics when their inputs do not fit together (typically a
/// data problem: a label outside the classes, a batch of the wrong size).
public enum LossError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input must be a `[batch, classes]` matrix (or, for regression, match the targets).
    case shapeMismatch(expected: [Int], actual: [Int])
    /// The number of labels differs from the number of rows.
    case batchMismatch(rows: Int, labels: Int)
    /// `labels[index]` is not in `0..<classes`.
    case labelOutOfRange(index: Int, label: Int, classes: Int)
    /// A mean over no elements.
    case emptyBatch
    /// A hyperparameter is outside its range.
    case invalidHyperparameter(argument: String, value: Float, expected: String)

    /// A one-line message naming what is wrong and what was expected.
    public var description: String {
        switch self {
        case let .shapeMismatch(expected, actual):
            return "expected shape \(expected), got \(actual)"
        case let .batchMismatch(rows, labels):
            return "\(rows) rows but \(labels) labels"
        case let .labelOutOfRange(index, label, classes):
            return "label \(label) at index \(index) is outside 0..<\(classes)"
        case .emptyBatch:
            return "the batch is empty"
        case let .invalidHyperparameter(argument, value, expected):
            return "\(argument) = \(value) is invalid (expected \(expected))"
        }
    }
}

/// Validates a `[batch, classes]` matrix against integer labels (shared by losses and metrics).
func validateClassification(_ logits: Tensor, labels: [Int]) throws -> (batch: Int, classes: Int) {
    guard logits.rank == 2 else { throw LossError.shapeMismatch(expected: [labels.count, -1], actual: logits.shape) }
    let (batch, classes) = (logits.shape[0], logits.shape[1])
    guard batch == labels.count else { throw LossError.batchMismatch(rows: batch, labels: labels.count) }
    guard batch > 0 else { throw LossError.emptyBatch }
    for (i, label) in labels.enumerated() where label < 0 || label >= classes {
        throw LossError.labelOutOfRange(index: i, label: label, classes: classes)
    }
    return (batch, classes)
}
