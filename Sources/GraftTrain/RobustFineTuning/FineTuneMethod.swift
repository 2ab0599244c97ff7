/// The fine-tuning methods the robust fine-tuning comparison runs, each built only from
/// Graft's public API (see `RobustFineTuneExperiment`).
public enum FineTuneMethod: String, CaseIterable, Sendable, Codable {
    /// The pre-trained model with its own pre-trained head, not fine-tuned.
    case zeroShot = "zero-shot"
    /// Linear probe: a new head trained on the frozen backbone.
    case linearProbe = "lp"
    /// Plain fine-tuning of every parameter (new head), Adam.
    case fineTune = "ft"
    /// LP then FT from the probed head (Kumar et al., 2022).
    case lpft = "lp-ft"
    /// L2-SP with α = 0.1 (Li et al., 2018) over Adam.
    case l2spSmall = "l2sp-0.1"
    /// L2-SP with α = 1 over Adam.
    case l2spLarge = "l2sp-1"
    /// WiSE-FT: the LP-FT weights averaged with the pre-trained (and probed-head) weights, a = 0.5 (Wortsman et al., 2022).
    case wiseFT = "wise-ft"
    /// DiGraP as in the paper: gradient placement, ω learned from the training gradient,
    /// μ chosen on the ID validation split from {0.01, 0.5, 10}.
    case digrap = "digrap"
    /// DiGraP with ω fixed at 1, gradient placement.
    case digrapFixedGradient = "digrap-w1-grad"
    /// DiGraP with ω fixed at 1, update placement (Graft extension).
    case digrapFixedUpdate = "digrap-w1-update"
    /// DiGraP with update placement and ω learned from a validation-batch hypergradient (Graft extension).
    case digrapValidation = "digrap-val-update"
    /// DiGraP with update placement, ω learned (from 0) from the gradient of a validation batch
    /// under the pre-training augmentations (`ShiftedValidationSource`; Graft extension, issue 19).
    case digrapShiftUpdate = "digrap-shift-update"
    /// As `digrapShiftUpdate` with the paper's gradient placement.
    case digrapShiftGradient = "digrap-shift-grad"
    /// DiGraP with update placement, ω learned by the paper's rule (training-gradient
    /// hypergradient) but started at 1 instead of 0 (Graft extension, issue 19).
    case digrapLearnedFromOne = "digrap-w1-learned"
    /// Both: update placement, ω started at 1 and learned from the shifted validation batch.
    case digrapLearnedFromOneShift = "digrap-w1-shift"
    /// FTP over Adam (Tian et al., 2023).
    case ftp = "ftp"
    /// SPD / AdamSPD with λ = 0.5 (Tian et al., 2024).
    case spd = "spd"

    /// A short human label for tables and plots.
    public var label: String {
        switch self {
        case .zeroShot: return "Zero-shot (pre-trained head)"
        case .linearProbe: return "LP"
        case .fineTune: return "FT"
        case .lpft: return "LP-FT"
        case .l2spSmall: return "L2-SP (α 0.1)"
        case .l2spLarge: return "L2-SP (α 1)"
        case .wiseFT: return "WiSE-FT (a 0.5)"
        case .digrap: return "DiGraP (paper: learned ω)"
        case .digrapFixedGradient: return "DiGraP ω=1, gradient"
        case .digrapFixedUpdate: return "DiGraP ω=1, update"
        case .digrapValidation: return "DiGraP val-ω, update"
        case .digrapShiftUpdate: return "DiGraP shift-ω, update"
        case .digrapShiftGradient: return "DiGraP shift-ω, gradient"
        case .digrapLearnedFromOne: return "DiGraP ω from 1, update"
        case .digrapLearnedFromOneShift: return "DiGraP ω from 1, shift-ω, update"
        case .ftp: return "FTP"
        case .spd: return "SPD (λ 0.5)"
        }
    }

    /// Parses a comma-separated list of method ids (`all` selects every method).
    public static func parseList(_ text: String) throws -> [FineTuneMethod] {
        if text == "all" { return allCases }
        var out: [FineTuneMethod] = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            guard let m = FineTuneMethod(rawValue: item) else {
                throw DataError.invalidArgument("unknown method \"\(item)\"; known: \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !out.contains(m) { out.append(m) }
        }
        guard !out.isEmpty else { throw DataError.invalidArgument("no method selected") }
        return out
    }
}

import Foundation
