/// What `Augmenter` does to each pre-training image, and how often.
///
/// The defaults (`.pretraining`) follow the data README's protocol, with probabilities
/// chosen so that most images change several ways while the digit stays legible (checked
/// by eye on a grid of augmented MNIST and font digits). Each op is drawn independently
/// per image, in this order:
///
/// | op | probability | parameters | why |
/// |---|---|---|---|
/// | 3×3 dilation, else 3×3 erosion | 0.2, else 0.1 | an erosion that would keep less than 40 % of the ink is skipped | pen widths differ between MNIST, fonts and optdigits; applied to the digit as drawn, before any shrinking (a shrunk digit's strokes would vanish), and never erasing a thin digit (which would teach a wrong label) |
/// | affine (shear, rotation, scale, shift about the centre) | 1.0 | shear ±0.3, rotation ±45°, scale 0.6–1.15, shift ±1 px per axis, each uniform | every image gets a fresh pose; the ranges contain the identity |
/// | elastic warp | 0.5 | RMS displacement 0.3–0.8 px, smoothness σ 2 px | handwriting wobble; larger fields make 16×16 digits illegible |
/// | Gaussian blur | 0.2 | σ 0.3–0.8 px | the sources' different resampling softness |
/// | Gaussian noise (clamped to [0, 1]) | 0.25 | σ 0.02–0.2 | sensor noise, milder than the σ 0.35 OOD shift |
/// | polarity inversion | 0.3 | — | as in the README (30 %) |
///
/// The affine map and the elastic field are applied in one bilinear resampling, so a
/// warped image is interpolated once.
public struct AugmentationPolicy: Sendable, Equatable {
    /// Probability of a random affine pose.
    public var affineProbability: Float = 1
    /// Rotation range in degrees (positive is counter-clockwise as displayed).
    public var rotationDegrees: ClosedRange<Float> = -45...45
    /// Scale range (about the centre).
    public var scale: ClosedRange<Float> = 0.6...1.15
    /// Horizontal shear range (`x' = x + k·y`).
    public var shear: ClosedRange<Float> = -0.3...0.3
    /// Shift range in pixels, drawn separately for x and y.
    public var shift: ClosedRange<Float> = -1...1
    /// Probability of an elastic warp.
    public var elasticProbability: Float = 0.5
    /// RMS displacement range of the elastic field, in pixels.
    public var elasticAmplitude: ClosedRange<Float> = 0.3...0.8
    /// Gaussian smoothing of the elastic field, in pixels.
    public var elasticSmoothness: Float = 2
    /// Probability of a 3×3 dilation (thicker strokes).
    public var dilationProbability: Float = 0.2
    /// Probability of a 3×3 erosion (thinner strokes) when no dilation was drawn.
    public var erosionProbability: Float = 0.1
    /// The fraction of the ink (sum of pixels) an erosion must keep to be applied; thin
    /// digits whose strokes a 3×3 erosion would erase are left as they are.
    public var erosionMinimumInk: Float = 0.4
    /// Probability of a Gaussian blur.
    public var blurProbability: Float = 0.2
    /// Blur standard deviation range in pixels.
    public var blurSigma: ClosedRange<Float> = 0.3...0.8
    /// Probability of additive Gaussian noise.
    public var noiseProbability: Float = 0.25
    /// Noise standard deviation range.
    public var noiseSigma: ClosedRange<Float> = 0.02...0.2
    /// Probability of inverting polarity (`1 − x`), applied last.
    public var inversionProbability: Float = 0.3

    /// The README's pre-training augmentation (the defaults above).
    public init() {}

    /// The README's pre-training augmentation.
    public static let pretraining = AugmentationPolicy()

    /// No augmentation: every probability is zero, images pass through unchanged.
    public static var none: AugmentationPolicy {
        var p = AugmentationPolicy()
        p.affineProbability = 0
        p.elasticProbability = 0
        p.dilationProbability = 0
        p.erosionProbability = 0
        p.blurProbability = 0
        p.noiseProbability = 0
        p.inversionProbability = 0
        return p
    }

    /// Checks every probability is in [0, 1] and every range is finite and sensible.
    /// - Throws: `DataError.invalidArgument` naming the first bad field.
    public func validate() throws {
        let probabilities: [(String, Float)] = [
            ("affineProbability", affineProbability), ("elasticProbability", elasticProbability),
            ("dilationProbability", dilationProbability), ("erosionProbability", erosionProbability),
            ("blurProbability", blurProbability),
            ("noiseProbability", noiseProbability), ("inversionProbability", inversionProbability),
        ]
        for (name, p) in probabilities where !(p >= 0 && p <= 1) {
            throw DataError.invalidArgument("augmentation: \(name) must be in [0, 1], got \(p)")
        }
        let ranges: [(String, ClosedRange<Float>, Float)] = [
            ("rotationDegrees", rotationDegrees, -360), ("scale", scale, .leastNormalMagnitude),
            ("shear", shear, -10), ("shift", shift, -1e6), ("elasticAmplitude", elasticAmplitude, 0),
            ("blurSigma", blurSigma, 0), ("noiseSigma", noiseSigma, 0),
        ]
        for (name, range, minimum) in ranges
        where !(range.lowerBound.isFinite && range.upperBound.isFinite && range.lowerBound >= minimum) {
            throw DataError.invalidArgument("augmentation: \(name) \(range) must be finite and at least \(minimum)")
        }
        guard erosionMinimumInk >= 0, erosionMinimumInk <= 1 else {
            throw DataError.invalidArgument("augmentation: erosionMinimumInk must be in [0, 1], got \(erosionMinimumInk)")
        }
        guard elasticSmoothness.isFinite, elasticSmoothness >= 0 else {
            throw DataError.invalidArgument("augmentation: elasticSmoothness must be finite and ≥ 0, got \(elasticSmoothness)")
        }
    }
}
