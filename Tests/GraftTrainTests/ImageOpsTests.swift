import Foundation
import Testing
import GraftTensor
@testable import GraftTrain

@Suite struct AffineTransformTests {
    @Test func compositionAndInverse() throws {
        let t = AffineTransform.shear(0.2).then(.rotation(degrees: 30)).then(.scale(0.7)).then(.translation(x: 1, y: -0.5))
        let p = (x: Float(2.5), y: Float(-1.25))
        // Applying the composite equals applying the pieces in order.
        var q = AffineTransform.shear(0.2).apply(x: p.x, y: p.y)
        q = AffineTransform.rotation(degrees: 30).apply(x: q.x, y: q.y)
        q = AffineTransform.scale(0.7).apply(x: q.x, y: q.y)
        q = AffineTransform.translation(x: 1, y: -0.5).apply(x: q.x, y: q.y)
        let r = t.apply(x: p.x, y: p.y)
        #expect(abs(r.x - q.x) < 1e-5 && abs(r.y - q.y) < 1e-5)
        let inverse = try #require(t.inverse)
        let back = inverse.apply(x: r.x, y: r.y)
        #expect(abs(back.x - p.x) < 1e-5 && abs(back.y - p.y) < 1e-5)
        #expect(AffineTransform.scale(0).inverse == nil)
    }
}

@Suite struct ImageOpsTests {
    @Test func zeroRotationAndZeroShiftAreIdentity() throws {
        let image = try randomImage(seed: 1)
        #expect(maxDifference(image.warped(by: .rotation(degrees: 0)).pixels, image.pixels) <= 1e-6)
        #expect(maxDifference(image.warped(by: .translation(x: 0, y: 0)).pixels, image.pixels) <= 1e-6)
        #expect(maxDifference(image.warped(by: .scale(1)).pixels, image.pixels) <= 1e-6)
    }

    @Test func integerShiftMovesPixels() throws {
        let image = try randomImage(seed: 2)
        let shifted = image.warped(by: .translation(x: 2, y: -1))
        for r in 0..<16 {
            for c in 0..<16 {
                let (sr, sc) = (r + 1, c - 2)
                let expected: Float = (0..<16).contains(sr) && (0..<16).contains(sc) ? image[sr, sc] : 0
                #expect(abs(shifted[r, c] - expected) <= 1e-6)
            }
        }
    }

    /// Positive angles turn counter-clockwise as displayed: the right edge goes to the top.
    @Test func rotationDirection() throws {
        var image = try SquareImage(side: 16)
        image[7, 15] = 1
        let rotated = image.warped(by: .rotation(degrees: 90))
        #expect(abs(rotated[0, 7] - 1) < 1e-4)
        #expect(rotated.pixels.reduce(0, +) > 0.99)
    }

    @Test func shrinkingKeepsContentInsideAndDarkensBorder() throws {
        let full = try SquareImage(side: 16, pixels: Array(repeating: 1, count: 256))
        let small = full.warped(by: .scale(0.5))
        #expect(small[0, 0] == 0 && small[8, 8] == 1)
    }

    @Test func inversionTwiceIsIdentity() throws {
        let image = try randomImage(seed: 3)
        #expect(maxDifference(image.inverted().inverted().pixels, image.pixels) <= 1e-6)
        #expect(maxDifference(image.inverted().pixels, image.pixels.map { 1 - $0 }) == 0)
    }

    @Test func dilationAboveOriginalAboveErosion() throws {
        for seed in UInt64(0)..<5 {
            let image = try randomImage(seed: seed)
            let (dilated, eroded) = (image.dilated(), image.eroded())
            for i in 0..<256 {
                #expect(dilated.pixels[i] >= image.pixels[i] && image.pixels[i] >= eroded.pixels[i])
            }
            // Exactly the max / min over the in-image 3×3 neighbourhood, borders included.
            for r in 0..<16 {
                for c in 0..<16 {
                    var neighbours = [Float]()
                    for rr in max(0, r - 1)...min(15, r + 1) {
                        for cc in max(0, c - 1)...min(15, c + 1) { neighbours.append(image[rr, cc]) }
                    }
                    #expect(dilated[r, c] == neighbours.max() && eroded[r, c] == neighbours.min(), "pixel (\(r), \(c))")
                }
            }
        }
    }

    @Test func blurKeepsConstantsAndSmooths() throws {
        let constant = try SquareImage(side: 16, pixels: Array(repeating: 0.4, count: 256))
        #expect(maxDifference(constant.blurred(sigma: 1.2).pixels, constant.pixels) <= 1e-6)
        var dot = try SquareImage(side: 16)
        dot[8, 8] = 1
        let blurred = dot.blurred(sigma: 0.8)
        #expect(blurred[8, 8] < 1 && blurred[8, 9] > 0 && blurred[9, 9] > 0 && blurred[8, 9] == blurred[7, 8])
        #expect(abs(blurred.pixels.reduce(0, +) - 1) < 1e-4, "interior blur preserves mass")
        #expect(dot.blurred(sigma: 0) == dot)
    }

    @Test func noiseWithZeroSigmaIsIdentity() throws {
        let image = try randomImage(seed: 4)
        var g = SeededGenerator(seed: 9)
        #expect(image.addingGaussianNoise(sigma: 0, generator: &g) == image)
    }

    @Test func elasticWarpWithZeroAmplitudeIsIdentity() throws {
        let image = try randomImage(seed: 5)
        var g = SeededGenerator(seed: 9)
        #expect(maxDifference(image.elasticallyWarped(amplitude: 0, smoothness: 2, generator: &g).pixels, image.pixels) <= 1e-6)
    }

    @Test func elasticFieldHasRequestedAmplitude() {
        var field = [Float](repeating: 0, count: 512)
        var g = SeededGenerator(seed: 1)
        field.withUnsafeMutableBufferPointer {
            ImageOps.elasticDisplacement(into: $0, side: 16, amplitude: 0.8, smoothness: 2, generator: &g)
        }
        var squared: Float = 0
        for i in 0..<256 { squared += field[i] * field[i] + field[256 + i] * field[256 + i] }
        let rms = (squared / 256).squareRoot()
        #expect(abs(rms - 0.8) < 1e-4)
        // Smooth: neighbouring displacements are much closer than independent ones would be.
        var total: Float = 0
        for i in 0..<255 { total += abs(field[i + 1] - field[i]) }
        let step = total / 255
        #expect(step < 0.3)
    }

    @Test func outputsStayInUnitInterval() throws {
        let image = try randomImage(seed: 6)
        var g = SeededGenerator(seed: 1)
        let outputs = [
            image.warped(by: .rotation(degrees: 33).then(.scale(1.1)).then(.shear(0.3))),
            image.elasticallyWarped(amplitude: 1.5, smoothness: 2, generator: &g),
            image.dilated(), image.eroded(), image.blurred(sigma: 1), image.inverted(),
            image.addingGaussianNoise(sigma: 0.8, generator: &g),
        ]
        for out in outputs { #expect(out.pixels.allSatisfy { $0 >= 0 && $0 <= 1 }) }
    }

    @Test func randomOpsAreSeeded() throws {
        let image = try randomImage(seed: 7)
        func noisy(_ seed: UInt64) -> SquareImage {
            var g = SeededGenerator(seed: seed)
            return image.addingGaussianNoise(sigma: 0.2, generator: &g)
        }
        func elastic(_ seed: UInt64) -> SquareImage {
            var g = SeededGenerator(seed: seed)
            return image.elasticallyWarped(amplitude: 1, smoothness: 2, generator: &g)
        }
        #expect(noisy(1) == noisy(1) && noisy(1) != noisy(2))
        #expect(elastic(1) == elastic(1) && elastic(1) != elastic(2))
    }

    @Test func invalidImagesThrow() {
        #expect(throws: DataError.self) { try SquareImage(side: 4, pixels: [0, 1]) }
        #expect(throws: DataError.self) { try SquareImage(side: -3) }
        #expect(throws: DataError.self) { try SquareImage(side: Int.max, pixels: []) }
    }
}

@Suite struct AugmenterTests {
    private func batch() throws -> DigitDataset {
        try syntheticDataset(perClass: Array(repeating: 30, count: 10), side: 16, seed: 11)
    }

    @Test func sameSeedSameBatchDifferentSeedDifferent() throws {
        let data = try batch()
        let augmenter = try Augmenter()
        let a = augmenter.augment(data, seed: 5), b = augmenter.augment(data, seed: 5), c = augmenter.augment(data, seed: 6)
        #expect(a.images == b.images)
        #expect(a.images != c.images)
        #expect(a.labels == data.labels && a.images.shape == data.images.shape)
        #expect(a.images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    @Test func resultDoesNotDependOnThreadCount() throws {
        let data = try syntheticDataset(perClass: Array(repeating: 60, count: 10), side: 16, seed: 12)
        let augmenter = try Augmenter()
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        Parallel.threads = 1
        let one = augmenter.augment(data, seed: 3)
        Parallel.threads = 2
        let two = augmenter.augment(data, seed: 3)
        #expect(one.images == two.images)
    }

    @Test func singleImageKernelMatchesBatch() throws {
        let data = try batch()
        let augmenter = try Augmenter()
        let batchResult = augmenter.augment(data, seed: 8)
        var generator = SeedDerivation.generator(seed: 8, stream: 0, index: 17)
        var out = [Float](repeating: 0, count: 256)
        let source = try data.image(at: 17).pixels
        source.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { augmenter.augment(src, into: $0, side: 16, generator: &generator) }
        }
        #expect(out == (try batchResult.image(at: 17)).pixels)
    }

    @Test func emptyPolicyIsIdentityAndBadPolicyThrows() throws {
        let data = try batch()
        #expect(try Augmenter(policy: .none).augment(data, seed: 1).images == data.images)
        var bad = AugmentationPolicy()
        bad.inversionProbability = 1.5
        #expect(throws: DataError.self) { try Augmenter(policy: bad) }
        bad = AugmentationPolicy()
        bad.scale = 0...1
        #expect(throws: DataError.self) { try Augmenter(policy: bad) }
        #expect(throws: DataError.self) { try Augmenter().augment(Tensor(zeros: [3, 10]), side: 16, seed: 1) }
    }

    /// An erosion that would erase a thin digit is skipped; a thick one is eroded.
    @Test func erosionNeverErasesADigit() throws {
        var pixels = [Float](repeating: 0, count: 2 * 256)
        for r in 3..<13 { pixels[r * 16 + 8] = 1 }  // image 0: a one-pixel stroke
        for r in 3..<13 { for c in 5..<11 { pixels[256 + r * 16 + c] = 1 } }  // image 1: a thick bar
        let data = try DigitDataset(name: "strokes", images: Tensor(shape: [2, 256], scalars: pixels), labels: [1, 1], side: 16)
        var policy = AugmentationPolicy.none
        policy.erosionProbability = 1
        let out = try Augmenter(policy: policy).augment(data, seed: 1)
        #expect(try out.image(at: 0) == data.image(at: 0))
        #expect(try out.image(at: 1) == data.image(at: 1).eroded())
    }

    /// About 30 % of images are inverted: their mean brightness jumps above 0.5.
    @Test func inversionRateIsAboutThirtyPercent() throws {
        let black = try DigitDataset(name: "black", images: Tensor(zeros: [1000, 256]), labels: Array(repeating: 0, count: 1000), side: 16)
        var policy = AugmentationPolicy.none
        policy.inversionProbability = 0.3
        let out = try Augmenter(policy: policy).augment(black, seed: 2)
        let inverted = (0..<1000).filter { out.images[$0, 0] == 1 }.count
        #expect((240...360).contains(inverted))
    }
}

@Suite struct CorruptionTests {
    @Test func namesAndDeterminism() throws {
        #expect(Corruption.allCases.map(\.name) == ["rotate", "invert", "noise", "shrink", "thin"])
        let data = try syntheticDataset(perClass: [20, 20], side: 16, seed: 4)
        for corruption in Corruption.allCases {
            let a = corruption.apply(to: data, seed: 1), b = corruption.apply(to: data, seed: 1)
            #expect(a == b, "\(corruption.name) is deterministic")
            #expect(a.labels == data.labels && a.name == "synthetic/\(corruption.name)")
            #expect(a.images != data.images)
            #expect(a.images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
        for corruption in [Corruption.rotate, .noise, .shrink] {
            #expect(corruption.apply(to: data, seed: 1).images != corruption.apply(to: data, seed: 2).images)
        }
    }

    @Test func deterministicCorruptionsMatchTheirOps() throws {
        let data = try syntheticDataset(perClass: [3], side: 16, seed: 5)
        let image = try data.image(at: 1)
        #expect(try Corruption.invert.apply(to: data, seed: 0).image(at: 1) == image.inverted())
        #expect(try Corruption.thin.apply(to: data, seed: 0).image(at: 1) == image.eroded())
    }

    /// The rotation angle has magnitude in [25°, 45°]: a single off-centre dot moves by an
    /// arc of that angle.
    @Test func rotationAngleIsInRange() throws {
        var pixels = [Float](repeating: 0, count: 256 * 40)
        for i in 0..<40 { pixels[i * 256 + 7 * 16 + 15] = 1 }  // dot at (x 7.5, y −0.5) from the centre
        let dots = try DigitDataset(name: "dots", images: Tensor(shape: [40, 256], scalars: pixels),
                                    labels: Array(repeating: 0, count: 40), side: 16)
        let rotated = Corruption.rotate.apply(to: dots, seed: 9)
        var signs = Set<Bool>()
        for i in 0..<40 {
            let image = try rotated.image(at: i)
            var (mx, my, mass): (Float, Float, Float) = (0, 0, 0)
            for r in 0..<16 {
                for c in 0..<16 {
                    let v = image[r, c]
                    mx += v * (Float(c) - 7.5)
                    my += v * (Float(r) - 7.5)
                    mass += v
                }
            }
            let angle = (atan2(Double(-my / mass), Double(mx / mass)) - atan2(0.5, 7.5)) * 180 / Double.pi
            #expect((24...46).contains(abs(angle)), "angle \(angle)")
            signs.insert(angle > 0)
        }
        #expect(signs.count == 2, "both directions occur")
    }
}
