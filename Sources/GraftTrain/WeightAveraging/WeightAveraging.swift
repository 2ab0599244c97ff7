import GraftNN
import GraftTensor

/// Averages of models' weights, as named tensors (path → value): WiSE-FT interpolation
/// between a zero-shot (or pre-trained) and a fine-tuned model, and model soups (Wortsman et
/// al., 2022), uniform or greedy.
///
/// Every function first checks that all weight sets hold the same paths with the same shapes
/// (a typed `WeightAveragingError` names the path, both weight sets and both shapes) and
/// only then computes. Inputs are never modified. Read a model's weights with
/// `namedTensors()` (or `Classifier.weights()`) and put the result back with `load(_:)`:
/// ```swift
/// import GraftNN
/// import GraftTrain
///
/// func wiseFT(zeroShot: Sequential, fineTuned: Sequential) throws {
///     let mixed = try WeightAveraging.interpolate(zeroShot: zeroShot.namedTensors(),
///                                                 fineTuned: fineTuned.namedTensors(), alpha: 0.5)
///     try fineTuned.load(mixed)
/// }
/// ```
public enum WeightAveraging {
    /// WiSE-FT's interpolation θ(α) = (1 − α) · θ_zero-shot + α · θ_fine-tuned, elementwise in
    /// float32 (each product rounded, then the sum), for every path.
    ///
    /// α = 0 returns `zeroShot` and α = 1 returns `fineTuned` bit for bit (their tensors, not
    /// recomputed: (1 − 0) · x + 0 · y would turn −0 into +0 and NaN · 0 into NaN). α outside
    /// [0, 1] extrapolates.
    /// - Throws: `WeightAveragingError.nonFiniteAlpha`, `.missingPath` (in either direction;
    ///   weight set 0 is `zeroShot`, 1 is `fineTuned`) or `.shapeMismatch`.
    public static func interpolate(zeroShot: [String: Tensor], fineTuned: [String: Tensor],
                                   alpha: Float) throws -> [String: Tensor] {
        guard alpha.isFinite else { throw WeightAveragingError.nonFiniteAlpha(alpha) }
        try checkCompatible([zeroShot, fineTuned])
        if alpha == 0 { return zeroShot }
        if alpha == 1 { return fineTuned }
        let a = 1 - alpha, b = alpha
        var result: [String: Tensor] = [:]
        result.reserveCapacity(zeroShot.count)
        for (path, z) in zeroShot {
            var mixed = fineTuned[path]!
            z.withUnsafeBufferPointer { zb in
                mixed.withUnsafeMutableBufferPointer { mb in
                    for i in 0..<mb.count { mb[i] = a * zb[i] + b * mb[i] }
                }
            }
            result[path] = mixed
        }
        return result
    }

    /// WiSE-FT between two models' current weights (see `interpolate(zeroShot:fineTuned:alpha:)`).
    public static func interpolate(zeroShot: some Layer, fineTuned: some Layer, alpha: Float) throws -> [String: Tensor] {
        try interpolate(zeroShot: zeroShot.namedTensors(), fineTuned: fineTuned.namedTensors(), alpha: alpha)
    }

    /// The uniform soup: the elementwise mean (1/N) Σₖ θₖ of N weight sets, for every path.
    ///
    /// Each element is summed in `Double` in the order the sets are given, divided by N and
    /// rounded once to float32, so the mean of identical sets is that set exactly and the
    /// result does not depend on how large N is relative to float32's precision.
    /// - Throws: `WeightAveragingError.noModels`, `.missingPath` or `.shapeMismatch` (weight
    ///   sets numbered in the order given).
    public static func uniformSoup(_ models: [[String: Tensor]]) throws -> [String: Tensor] {
        try checkCompatible(models)
        if models.count == 1 { return models[0] }
        let n = Double(models.count)
        var result: [String: Tensor] = [:]
        result.reserveCapacity(models[0].count)
        for (path, first) in models[0] {
            var sums = [Double](repeating: 0, count: first.count)
            for model in models {
                model[path]!.withUnsafeBufferPointer { xb in
                    for i in 0..<sums.count { sums[i] += Double(xb[i]) }
                }
            }
            var mean = first
            mean.withUnsafeMutableBufferPointer { mb in
                for i in 0..<mb.count { mb[i] = Float(sums[i] / n) }
            }
            result[path] = mean
        }
        return result
    }

    /// The uniform soup of models' current weights.
    public static func uniformSoup(_ models: [some Layer]) throws -> [String: Tensor] {
        try uniformSoup(models.map { $0.namedTensors() })
    }

    /// Greedy soup (Wortsman et al., 2022, recipe 1): the candidates are sorted by their own
    /// validation score, best first (ties keep the given order); the soup starts with the best
    /// and each next candidate is added when the uniform soup of the members and it scores at
    /// least as well as the soup without it (the score must not drop), else it is left out.
    ///
    /// `validationScore` maps weights to a score where higher is better (e.g. validation
    /// accuracy); it is called once per candidate and once per later candidate tried, N + N − 1
    /// times in all.
    /// - Throws: `WeightAveragingError.noModels`, `.missingPath`, `.shapeMismatch`,
    ///   `.nonFiniteScore`, or what `validationScore` throws.
    public static func greedySoup(_ candidates: [[String: Tensor]],
                                  validationScore: ([String: Tensor]) throws -> Double) throws -> GreedySoup {
        try checkCompatible(candidates)
        var individual: [Double] = []
        for (i, candidate) in candidates.enumerated() {
            let score = try validationScore(candidate)
            guard score.isFinite else { throw WeightAveragingError.nonFiniteScore(candidate: i, members: [i], score: score) }
            individual.append(score)
        }
        let order = candidates.indices.sorted { individual[$0] > individual[$1] || (individual[$0] == individual[$1] && $0 < $1) }
        var members = [order[0]]
        var weights = candidates[order[0]]
        var score = individual[order[0]]
        var trials: [GreedySoup.Trial] = []
        for candidate in order.dropFirst() {
            let tried = members + [candidate]
            let soup = try uniformSoup(tried.map { candidates[$0] })
            let triedScore = try validationScore(soup)
            guard triedScore.isFinite else { throw WeightAveragingError.nonFiniteScore(candidate: nil, members: tried, score: triedScore) }
            let accepted = triedScore >= score
            trials.append(GreedySoup.Trial(candidate: candidate, score: triedScore, accepted: accepted))
            if accepted {
                members = tried
                weights = soup
                score = triedScore
            }
        }
        return GreedySoup(weights: weights, members: members, score: score, individualScores: individual,
                          order: order, trials: trials)
    }

    /// Checks that every weight set has the paths of the first and the same shapes, and no
    /// other path.
    static func checkCompatible(_ models: [[String: Tensor]]) throws {
        guard let reference = models.first else { throw WeightAveragingError.noModels }
        for (m, model) in models.enumerated().dropFirst() {
            for path in reference.keys.sorted() {
                guard let tensor = model[path] else { throw WeightAveragingError.missingPath(path: path, model: m, reference: 0) }
                let expected = reference[path]!.shape
                guard tensor.shape == expected else {
                    throw WeightAveragingError.shapeMismatch(path: path, model: m, shape: tensor.shape, reference: 0, referenceShape: expected)
                }
            }
            if model.count != reference.count, let extra = model.keys.sorted().first(where: { reference[$0] == nil }) {
                throw WeightAveragingError.missingPath(path: extra, model: 0, reference: m)
            }
        }
    }
}

/// The result of `WeightAveraging.greedySoup`: the soup's weights and how it was chosen.
public struct GreedySoup: Sendable {
    /// One candidate tried after the first member.
    public struct Trial: Sendable, Equatable {
        /// The candidate's index (in the order the candidates were given).
        public let candidate: Int
        /// The validation score of the soup of the members so far and this candidate.
        public let score: Double
        /// Whether it was kept (`score` ≥ the soup's score without it).
        public let accepted: Bool
    }

    /// The soup: the uniform average of `members`.
    public let weights: [String: Tensor]
    /// The candidates in the soup (indices in the order given), in the order they were added.
    public let members: [Int]
    /// The soup's validation score.
    public let score: Double
    /// Each candidate's own validation score (indexed as the candidates were given).
    public let individualScores: [Double]
    /// The candidates sorted by their own score, best first: the order they were tried in.
    public let order: [Int]
    /// Every candidate after the first, in the order tried.
    public let trials: [Trial]
}
