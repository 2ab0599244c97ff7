import GraftTensor

/// The distribution shifts of the out-of-distribution evaluation: corruptions of the ID
/// test images, deterministic per seed (each image draws from its own generator derived
/// from the seed, the corruption and its index).
///
/// | case | effect |
/// |---|---|
/// | `rotate` | rotation by a uniform angle in ±[25°, 45°] (random sign) about the centre |
/// | `invert` | polarity inversion `1 − x` |
/// | `noise` | additive Gaussian noise σ 0.35, clamped to [0, 1] |
/// | `shrink` | scale 0.65 about the centre, then a uniform shift in ±1 px per axis |
/// | `thin` | 3×3 grey erosion |
public enum Corruption: String, CaseIterable, Sendable {
    /// Rotation by ±[25°, 45°].
    case rotate
    /// Polarity inversion.
    case invert
    /// Gaussian noise σ 0.35.
    case noise
    /// Shrinking to 0.65 with a small shift.
    case shrink
    /// Thinning by 3×3 erosion.
    case thin

    /// The name used in tables and file names ("rotate", "invert", …).
    public var name: String { rawValue }

    /// The magnitude range of `rotate`, in degrees.
    public static let rotationDegrees: ClosedRange<Float> = 25...45
    /// The noise standard deviation of `noise`.
    public static let noiseSigma: Float = 0.35
    /// The scale of `shrink`.
    public static let shrinkScale: Float = 0.65
    /// The largest shift of `shrink`, in pixels per axis.
    public static let shrinkShift: Float = 1

    /// The corrupted data set: same labels and order, named `"<name>/<corruption>"`.
    public func apply(to dataset: DigitDataset, seed: UInt64) -> DigitDataset {
        let n = dataset.pixelCount
        let side = dataset.side
        var output = Tensor(zeros: dataset.images.shape)
        let stream = UInt64(Corruption.allCases.firstIndex(of: self) ?? 0) + 1000
        dataset.images.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                let out = out
                Parallel.forChunks(count: dataset.count, minimumPerChunk: 256, alignment: 1) { range in
                    for i in range {
                        var generator = SeedDerivation.generator(seed: seed, stream: stream, index: i)
                        apply(UnsafeBufferPointer(rebasing: input[(i * n)..<((i + 1) * n)]),
                              into: UnsafeMutableBufferPointer(rebasing: out[(i * n)..<((i + 1) * n)]),
                              side: side, generator: &generator)
                    }
                }
            }
        }
        var result = dataset
        result.images = output
        result.name = dataset.name + "/" + name
        return result
    }

    /// Corrupts one image from `source` into `destination` (both `side · side`).
    public func apply(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                      side: Int, generator g: inout SeededGenerator) {
        switch self {
        case .rotate:
            let magnitude = g.nextFloat(in: Corruption.rotationDegrees.lowerBound, Corruption.rotationDegrees.upperBound)
            let angle = g.nextFloat() < 0.5 ? -magnitude : magnitude
            ImageOps.warp(source, into: destination, side: side, transform: .rotation(degrees: angle))
        case .invert:
            ImageOps.invert(source, into: destination)
        case .noise:
            ImageOps.addGaussianNoise(source, into: destination, sigma: Corruption.noiseSigma, generator: &g)
        case .shrink:
            let s = Corruption.shrinkShift
            let transform = AffineTransform.scale(Corruption.shrinkScale)
                .then(.translation(x: g.nextFloat(in: -s, s), y: g.nextFloat(in: -s, s)))
            ImageOps.warp(source, into: destination, side: side, transform: transform)
        case .thin:
            ImageOps.erode(source, into: destination, side: side)
        }
    }
}
