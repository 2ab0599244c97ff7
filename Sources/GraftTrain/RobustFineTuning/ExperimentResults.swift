/// One method's accuracies for one seed.
public struct MethodResult: Sendable, Codable, Equatable {
    /// The method.
    public let method: FineTuneMethod
    /// The seed.
    public let seed: UInt64
    /// Accuracy on the ID test split.
    public let idAccuracy: Double
    /// Accuracy on the ID validation split (used only for model selection).
    public let validationAccuracy: Double
    /// Accuracy on each OOD set, in the experiment's OOD order.
    public let oodAccuracies: [Double]
    /// DiGraP: the μ chosen on validation.
    public let chosenMu: Float?
    /// Wall-clock seconds per optimizer step of the reported run (fine-tuning only; for LP-FT
    /// the FT stage; with a provided hypergradient source it includes the extra forward and
    /// backward pass on the source's batch). `nil` for methods without their own training run.
    public var secondsPerStep: Double? = nil

    /// Whether the two results report the same accuracies and μ (timing ignored: it is
    /// wall-clock time and differs between identical runs).
    public func sameOutcome(as other: MethodResult) -> Bool {
        method == other.method && seed == other.seed && idAccuracy == other.idAccuracy
            && validationAccuracy == other.validationAccuracy && oodAccuracies == other.oodAccuracies && chosenMu == other.chosenMu
    }

    /// The mean of `oodAccuracies`.
    public var oodAverage: Double { oodAccuracies.isEmpty ? .nan : oodAccuracies.reduce(0, +) / Double(oodAccuracies.count) }
}

/// ω of one tensor over the steps of one run (DiGraP telemetry).
public struct OmegaTrace: Sendable, Codable, Equatable {
    /// The method.
    public let method: FineTuneMethod
    /// The seed.
    public let seed: UInt64
    /// The tensor's path.
    public let path: String
    /// ω after each step.
    public let omega: [Double]
    /// The hypergradient h of each step (positive: the new gradient still points along the
    /// last projected direction, which pushes ω down).
    public let hypergradient: [Double]
    /// Fraction of steps where the task gradient conflicted with θ − θ0 (d < 0).
    public let conflictFraction: Double
}

/// Everything one seed produced.
public struct SeedResult: Sendable, Codable, Equatable {
    /// The seed.
    public let seed: UInt64
    /// OOD set names, in order.
    public let oodNames: [String]
    /// One result per method, in run order.
    public let methods: [MethodResult]
    /// DiGraP's ω traces of the seed.
    public let omegaTraces: [OmegaTrace]
    /// Wall-clock seconds spent pre-training (0 when the cached weights were used).
    public let pretrainSeconds: Double
    /// Wall-clock seconds for the whole seed.
    public let totalSeconds: Double
}

/// Mean and sample standard deviation.
public struct MeanStd: Sendable, Codable, Equatable {
    /// The mean (NaN without values).
    public let mean: Double
    /// The sample standard deviation (0 for fewer than two values).
    public let std: Double
    /// The values.
    public let values: [Double]

    /// Summarises `values`.
    public init(_ values: [Double]) {
        self.values = values
        let n = Double(values.count)
        let m = values.isEmpty ? .nan : values.reduce(0, +) / n
        mean = m
        std = values.count < 2 ? 0 : (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot()
    }

    /// `96.3 ± 0.4` in percent (no ± for one value).
    public func percent(digits: Int = 1) -> String { formatted(scale: 100, digits: digits) }

    /// `mean ± std` of the values times `scale` with `digits` decimals (no ± for one value).
    public func formatted(scale: Double = 1, digits: Int = 1) -> String {
        let m = String(format: "%.\(digits)f", mean * scale)
        return values.count < 2 ? m : m + " ± " + String(format: "%.\(digits)f", std * scale)
    }
}

import Foundation
