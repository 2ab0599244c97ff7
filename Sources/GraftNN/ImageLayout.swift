/// The image layout of GraftNN: **channels first**, as PyTorch's.
///
/// A batch of images is a row-major tensor `[batch, channels, height, width]`: pixel
/// `(c, i, j)` of image `b` is at flat index `((b · C + c) · H + i) · W + j`. Each channel
/// plane is contiguous, which is what `Conv2d`'s im2col reads. A flattened batch
/// `[batch, C · H · W]` (how `DigitDataset` stores 16×16 grey images) has the same scalars in
/// the same order; `Reshape([C, H, W])` views it as images without copying, and `Flatten()`
/// turns feature maps back into rows for a `Dense` head. Convolution weights are
/// `[out, in, kernel, kernel]` (`nn.Conv2d`'s), so weights exchange with PyTorch unchanged.
///
/// `Conv2d`, `MaxPool2d`, `AvgPool2d` and `PatchEmbedding` use this layout; token sequences
/// (`MultiHeadAttention`, `TransformerBlock`) are `[batch, tokens, width]`.
public enum ImageLayout {
    /// The spatial output size of a window of `kernel` moved by `stride` over `size` pixels
    /// padded by `padding` on both sides: `⌊(size + 2·padding − kernel) / stride⌋ + 1`
    /// (`nil` when the padded input is smaller than the window).
    public static func outputSize(_ size: Int, kernel: Int, stride: Int, padding: Int) -> Int? {
        let padded = size + 2 * padding
        guard padded >= kernel, stride > 0 else { return nil }
        return (padded - kernel) / stride + 1
    }
}
