import GraftTensor

/// PyTorch's default initialisation of `nn.Linear`, reproduced exactly in distribution.
///
/// PyTorch calls `kaiming_uniform_(weight, a: √5)`: gain `g = √(2 / (1 + a²)) = √(1/3)`,
/// standard deviation `g / √fan_in`, bound `√3 · g / √fan_in = 1 / √fan_in`; the bias is
/// drawn from `U(−1/√fan_in, 1/√fan_in)` too. The bound therefore reduces to `1/√fan_in`
/// for both (Kaiming He et al., 2015; PyTorch `torch/nn/modules/linear.py`). The same rule
/// initialises LoRA's `A` factor (`peft`'s `kaiming_uniform_(lora_A, a: √5)`).
enum KaimingUniform {
    /// `1 / √fanIn` (0 when `fanIn` is 0, as PyTorch leaves such tensors at zero bound).
    static func bound(fanIn: Int) -> Float {
        fanIn > 0 ? 1 / Float(fanIn).squareRoot() : 0
    }

    /// A tensor of `shape` with entries drawn from `U(−1/√fanIn, 1/√fanIn)`, in row-major order.
    static func sample(shape: [Int], fanIn: Int, generator: inout SeededGenerator) -> Tensor {
        let b = bound(fanIn: fanIn)
        return Tensor.randomUniform(shape: shape, lower: -b, upper: b, generator: &generator)
    }
}
