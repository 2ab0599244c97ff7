import GraftTensor

/// A loss value and its gradient with respect to the loss's input (the model output).
///
/// `gradient` shares storage with the loss object's buffer (see "Buffers and copy on write"
/// in `Layer`): pass it to `backward` and drop it before the next call to keep steps free of
/// allocations.
public struct LossOutput {
    /// The loss `L` (a mean over the batch, computed in `Double` and rounded once).
    public let value: Float
    /// `∂L/∂input`, the shape of the loss's input.
    public let gradient: Tensor
}
