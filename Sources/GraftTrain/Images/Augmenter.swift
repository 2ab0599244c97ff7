import GraftTensor

/// Seeded data augmentation for pre-training (see `AugmentationPolicy` for what it does).
///
/// Image `i` of a batch draws from its own generator derived from `(seed, i)`, so the same
/// seed gives the same augmented batch on every machine and for any thread count; pass a
/// different seed each epoch (for example `seed &* 1000 &+ epoch`) for fresh variants.
/// Batches are processed on buffers, in parallel over `Parallel.threads`, with no
/// per-image heap allocation.
public struct Augmenter: Sendable {
    /// The augmentation applied.
    public let policy: AugmentationPolicy

    /// An augmenter with a validated policy.
    /// - Throws: `DataError.invalidArgument` for a bad probability or range.
    public init(policy: AugmentationPolicy = .pretraining) throws {
        try policy.validate()
        self.policy = policy
    }

    /// Augmented copies of `images` (`[N, side · side]`).
    /// - Throws: `DataError.invalidArgument` when the shape is not `[N, side · side]`.
    public func augment(_ images: Tensor, side: Int, seed: UInt64) throws -> Tensor {
        guard side > 0, side <= 1 << 15, images.rank == 2, images.shape[1] == side * side else {
            throw DataError.invalidArgument("augment: images have shape \(images.shape), expected [N, \(side)·\(side)]")
        }
        return augmented(images, side: side, seed: seed)
    }

    /// The data set with augmented images (same labels, same order).
    public func augment(_ dataset: DigitDataset, seed: UInt64) -> DigitDataset {
        var out = dataset
        out.images = augmented(dataset.images, side: dataset.side, seed: seed)
        return out
    }

    /// Augments one image from `source` into `destination` (both `side · side`).
    public func augment(_ source: UnsafeBufferPointer<Float>, into destination: UnsafeMutableBufferPointer<Float>,
                        side: Int, generator: inout SeededGenerator) {
        let n = side * side
        checkPrecondition(side > 0 && source.count == n && destination.count == n, "augment: buffers must hold side² pixels")
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * n) { scratch in
            let field = UnsafeMutableBufferPointer(rebasing: scratch[0..<(2 * n)])
            let other = UnsafeMutableBufferPointer(rebasing: scratch[(2 * n)..<(3 * n)])
            augmentOne(source, into: destination, other: other, field: field, side: side, generator: &generator)
        }
    }

    private func augmented(_ images: Tensor, side: Int, seed: UInt64) -> Tensor {
        let n = side * side
        let count = images.rowCount
        var output = Tensor(zeros: [count, n])
        images.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                let out = out
                Parallel.forChunks(count: count, minimumPerChunk: 256, alignment: 1) { range in
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: 3 * n) { scratch in
                        let field = UnsafeMutableBufferPointer(rebasing: scratch[0..<(2 * n)])
                        let other = UnsafeMutableBufferPointer(rebasing: scratch[(2 * n)..<(3 * n)])
                        for i in range {
                            var generator = SeedDerivation.generator(seed: seed, stream: 0, index: i)
                            augmentOne(UnsafeBufferPointer(rebasing: input[(i * n)..<((i + 1) * n)]),
                                       into: UnsafeMutableBufferPointer(rebasing: out[(i * n)..<((i + 1) * n)]),
                                       other: other, field: field, side: side, generator: &generator)
                        }
                    }
                }
            }
        }
        return output
    }

    /// One image through the pipeline; `other` (side²) and `field` (2·side²) are scratch.
    private func augmentOne(_ source: UnsafeBufferPointer<Float>, into result: UnsafeMutableBufferPointer<Float>,
                            other: UnsafeMutableBufferPointer<Float>, field: UnsafeMutableBufferPointer<Float>,
                            side: Int, generator g: inout SeededGenerator) {
        let p = policy
        func happens(_ probability: Float) -> Bool { g.nextFloat() < probability }
        func draw(_ range: ClosedRange<Float>) -> Float { g.nextFloat(in: range.lowerBound, range.upperBound) }

        // Stroke width first, on the digit as drawn (after a 0.6× shrink a 3×3 erosion
        // would erase most strokes): `source` → `other`.
        var current = source
        if happens(p.dilationProbability) {
            ImageOps.dilate(source, into: other, side: side)
            current = UnsafeBufferPointer(other)
        } else if happens(p.erosionProbability) {
            ImageOps.erode(source, into: other, side: side)
            var before: Float = 0, after: Float = 0
            for i in 0..<source.count {
                before += source[i]
                after += other[i]
            }
            if after >= p.erosionMinimumInk * before { current = UnsafeBufferPointer(other) }
        }

        // Geometry: affine pose and elastic field in one resampling → `result`.
        var transform = AffineTransform.identity
        if happens(p.affineProbability) {
            transform = AffineTransform.shear(draw(p.shear))
                .then(.rotation(degrees: draw(p.rotationDegrees)))
                .then(.scale(draw(p.scale)))
                .then(.translation(x: draw(p.shift), y: draw(p.shift)))
        }
        let elastic = happens(p.elasticProbability)
        if elastic {
            ImageOps.elasticDisplacement(into: field, side: side, amplitude: draw(p.elasticAmplitude),
                                         smoothness: p.elasticSmoothness, generator: &g)
        }
        if elastic || transform != .identity {
            ImageOps.warp(current, into: result, side: side, transform: transform,
                          displacement: elastic ? UnsafeBufferPointer(field) : nil)
        } else {
            _ = result.update(fromContentsOf: current)
        }

        // Softness and noise: each reads `result`, writes `other`, and copies back.
        func step(_ body: (UnsafeBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) {
            body(UnsafeBufferPointer(result), other)
            _ = result.update(fromContentsOf: other)
        }
        if happens(p.blurProbability) {
            let sigma = draw(p.blurSigma)
            step { ImageOps.gaussianBlur($0, into: $1, side: side, sigma: sigma) }
        }
        if happens(p.noiseProbability) {
            let sigma = draw(p.noiseSigma)
            step { ImageOps.addGaussianNoise($0, into: $1, sigma: sigma, generator: &g) }
        }
        if happens(p.inversionProbability) {
            for i in 0..<result.count { result[i] = 1 - result[i] }
        }
    }
}
