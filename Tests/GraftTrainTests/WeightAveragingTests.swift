import GraftNN
import GraftTensor
import Testing
@testable import GraftTrain

@Suite("Weight averaging: WiSE-FT, uniform and greedy soups")
struct WeightAveragingTests {
    func weights(_ w: [Float], _ b: [Float]) -> [String: Tensor] {
        ["layer.weight": try! Tensor(shape: [2, 2], scalars: w), "layer.bias": Tensor(b)]
    }
    func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    @Test("WiSE-FT: exact values at α = 0.25 and 0.5")
    func interpolationValues() throws {
        let zero = weights([1, 2, -4, 0.5], [8])
        let fine = weights([3, 6, 4, -0.5], [-8])
        let quarter = try WeightAveraging.interpolate(zeroShot: zero, fineTuned: fine, alpha: 0.25)
        #expect(quarter["layer.weight"]!.scalars == [1.5, 3, -2, 0.25])
        #expect(quarter["layer.bias"]!.scalars == [4])
        #expect(quarter["layer.weight"]!.shape == [2, 2])
        let half = try WeightAveraging.interpolate(zeroShot: zero, fineTuned: fine, alpha: 0.5)
        #expect(half["layer.weight"]!.scalars == [2, 4, 0, 0])
        // Float32 rounding as written: (1 − α)·z rounded, α·f rounded, then the sum rounded.
        let a: Float = 0.3, z: Float = 0.1, f: Float = 0.7
        let odd = try WeightAveraging.interpolate(zeroShot: ["p": Tensor([z])], fineTuned: ["p": Tensor([f])], alpha: a)
        let expected: Float = (1 - a) * z + a * f
        #expect(bits(odd["p"]!) == [expected.bitPattern])
        // Extrapolation is allowed (α outside [0, 1]).
        let twice = try WeightAveraging.interpolate(zeroShot: zero, fineTuned: fine, alpha: 2)
        #expect(twice["layer.bias"]!.scalars == [-24])
        // The inputs are untouched.
        #expect(fine["layer.weight"]!.scalars == [3, 6, 4, -0.5])
    }

    @Test("WiSE-FT: α = 0 and α = 1 give the endpoints bit for bit (−0, NaN, tiny values)")
    func endpointsBitwise() throws {
        let zero = weights([-0.0, .leastNonzeroMagnitude, 1e-30, -3], [.nan])
        let fine = weights([.nan, 5, -0.0, .greatestFiniteMagnitude], [-0.0])
        let a0 = try WeightAveraging.interpolate(zeroShot: zero, fineTuned: fine, alpha: 0)
        let a1 = try WeightAveraging.interpolate(zeroShot: zero, fineTuned: fine, alpha: 1)
        for path in zero.keys {
            #expect(bits(a0[path]!) == bits(zero[path]!), "α = 0, \(path)")
            #expect(bits(a1[path]!) == bits(fine[path]!), "α = 1, \(path)")
        }
    }

    @Test("WiSE-FT between two models reads their current weights")
    func interpolationOfLayers() throws {
        let a = try Dense(3, 2, seed: 1), b = try Dense(3, 2, seed: 2)
        let mixed = try WeightAveraging.interpolate(zeroShot: a, fineTuned: b, alpha: 0.5)
        let direct = try WeightAveraging.interpolate(zeroShot: a.namedTensors(), fineTuned: b.namedTensors(), alpha: 0.5)
        #expect(mixed.keys.sorted() == ["bias", "weight"])
        for (path, t) in mixed { #expect(bits(t) == bits(direct[path]!)) }
        try a.load(mixed)
        #expect(bits(a.namedTensors()["weight"]!) == bits(mixed["weight"]!))
    }

    @Test("mismatched paths and shapes are refused with the path and both shapes")
    func mismatches() throws {
        let zero = weights([1, 2, 3, 4], [1])
        var missing = zero
        missing["layer.bias"] = nil
        #expect(throws: WeightAveragingError.missingPath(path: "layer.bias", model: 1, reference: 0)) {
            try WeightAveraging.interpolate(zeroShot: zero, fineTuned: missing, alpha: 0.5)
        }
        var extra = zero
        extra["head.weight"] = Tensor([1])
        #expect(throws: WeightAveragingError.missingPath(path: "head.weight", model: 0, reference: 1)) {
            try WeightAveraging.interpolate(zeroShot: zero, fineTuned: extra, alpha: 0.5)
        }
        var reshaped = zero
        reshaped["layer.weight"] = Tensor([1, 2, 3, 4])
        let error = WeightAveragingError.shapeMismatch(path: "layer.weight", model: 2, shape: [4], reference: 0, referenceShape: [2, 2])
        #expect(throws: error) { try WeightAveraging.uniformSoup([zero, zero, reshaped]) }
        #expect(error.description.contains("\"layer.weight\"") && error.description.contains("[4]") && error.description.contains("[2, 2]"))
        // Endpoints are checked too: α = 0 does not skip validation.
        #expect(throws: WeightAveragingError.self) { try WeightAveraging.interpolate(zeroShot: zero, fineTuned: reshaped, alpha: 0) }
        #expect(throws: WeightAveragingError.nonFiniteAlpha(.infinity)) {
            try WeightAveraging.interpolate(zeroShot: zero, fineTuned: zero, alpha: .infinity)
        }
        #expect(throws: WeightAveragingError.noModels) { try WeightAveraging.uniformSoup([[String: Tensor]]()) }
        #expect(throws: WeightAveragingError.noModels) { try WeightAveraging.greedySoup([]) { _ in 0 } }
    }

    @Test("uniform soup: the elementwise mean, summed in Double and rounded once")
    func uniformSoup() throws {
        let soup = try WeightAveraging.uniformSoup([weights([1, 2, 3, 4], [1]), weights([2, 4, 6, 8], [2]), weights([6, 0, 0, 0], [0])])
        #expect(soup["layer.weight"]!.scalars == [3, 2, 3, 4])
        #expect(soup["layer.bias"]!.scalars == [1])
        let xs: [Float] = [0.1, 0.2, 0.7]
        let rounded = try WeightAveraging.uniformSoup(xs.map { ["p": Tensor([$0])] })
        let expected = Float(xs.reduce(0.0) { $0 + Double($1) } / 3)
        #expect(bits(rounded["p"]!) == [expected.bitPattern])
        // One ingredient is itself, bit for bit; N copies of one set are that set.
        let one = weights([-0.0, 1e-30, 3, 4], [5])
        #expect(bits(try WeightAveraging.uniformSoup([one])["layer.weight"]!) == bits(one["layer.weight"]!))
        #expect(try WeightAveraging.uniformSoup([one, one, one])["layer.weight"]!.scalars == one["layer.weight"]!.scalars)
    }

    @Test("greedy soup: sorted by own score, kept while the soup's score does not drop")
    func greedySoup() throws {
        // Score of a one-number model w: −(w − 3)², best at 3.
        func score(_ w: [String: Tensor]) -> Double { let x = Double(w["w"]!.scalars[0]); return -(x - 3) * (x - 3) }
        let values: [Float] = [4, 0, 2, 10]
        var calls: [Float] = []
        let soup = try WeightAveraging.greedySoup(values.map { ["w": Tensor([$0])] }) { w in
            calls.append(w["w"]!.scalars[0])
            return score(w)
        }
        // Own scores −1, −9, −1, −49: order 0, 2 (tie, given order), 1, 3.
        #expect(soup.individualScores == [-1, -9, -1, -49])
        #expect(soup.order == [0, 2, 1, 3])
        // {4} scores −1; {4, 2} → 3 scores 0 (kept); {4, 2, 0} → 2 scores −1 (dropped); {4, 2, 10} → 16/3 (dropped).
        #expect(soup.members == [0, 2])
        #expect(soup.weights["w"]!.scalars == [3])
        #expect(soup.score == 0)
        #expect(soup.trials.map(\.candidate) == [2, 1, 3])
        #expect(soup.trials.map(\.accepted) == [true, false, false])
        #expect(calls == [4, 0, 2, 10, 3, 2, Float((4.0 + 2 + 10) / 3)])
    }

    @Test("greedy soup: an equal score keeps the candidate; a NaN score is refused")
    func greedySoupTiesAndNaN() throws {
        let candidates: [[String: Tensor]] = [["w": Tensor([2])], ["w": Tensor([4])]]
        let flat = try WeightAveraging.greedySoup(candidates) { _ in 1 }
        #expect(flat.members == [0, 1])
        #expect(flat.weights["w"]!.scalars == [3])
        let nan = #expect(throws: WeightAveragingError.self) {
            try WeightAveraging.greedySoup(candidates) { w in w["w"]!.scalars[0] == 3 ? .nan : 1 }
        }
        if case let .nonFiniteScore(candidate, members, score)? = nan {
            #expect(candidate == nil && members == [0, 1] && score.isNaN)
        } else {
            Issue.record("expected nonFiniteScore, got \(String(describing: nan))")
        }
        #expect(throws: WeightAveragingError.nonFiniteScore(candidate: 1, members: [1], score: -.infinity)) {
            try WeightAveraging.greedySoup(candidates) { w in w["w"]!.scalars[0] == 4 ? -.infinity : 1 }
        }
    }
}
