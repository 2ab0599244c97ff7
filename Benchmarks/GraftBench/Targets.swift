/// One target of issue 12 (or 13) as checked by a run.
struct TargetResult: Codable, Sendable {
    /// What is measured, e.g. `Adam, 1e6 mixed`.
    var what: String
    /// Graft's figure and the reference's, as printed.
    var graft: String
    var reference: String
    /// The measured ratio (Graft over reference), or the measured value for absolute targets.
    var value: Double
    /// The bound: met when value ≤ bound.
    var bound: Double
    /// How the bound reads (`≤ 1.30× floor`, `< 50 ns/tensor`).
    var target: String
    var met: Bool
}
