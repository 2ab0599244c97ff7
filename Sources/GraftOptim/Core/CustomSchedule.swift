/// A schedule given as a function, with a name that identifies it in snapshots.
///
/// `Schedule.custom(name:_:)` makes one. The function receives the step count t (1 at the
/// first step, the same t a transform's `prepare` sees) and is evaluated once per group step,
/// never per element. Two custom schedules are equal when their names are: a closure cannot
/// be compared, so the name stands for it. A member whose knob follows a custom schedule
/// records `custom:<name>` in its snapshot configuration (key `<knob>_schedule`), so a
/// snapshot is refused (`RestoreError.chainMismatch`, naming the member) by an optimizer
/// whose schedule for that knob has another name or is not custom.
public struct CustomSchedule: Sendable, Equatable, CustomStringConvertible {
    /// The schedule's name (recorded in snapshots).
    public let name: String
    /// The value at step t (1-based).
    public let function: @Sendable (Int) -> Float

    /// A named schedule.
    public init(name: String, _ function: @escaping @Sendable (Int) -> Float) {
        self.name = name
        self.function = function
    }

    public static func == (a: CustomSchedule, b: CustomSchedule) -> Bool { a.name == b.name }
    public var description: String { "custom(\"\(name)\")" }
}

extension Schedule {
    /// A named schedule given by a function of the step t (1 at the first step):
    /// ```swift
    /// import GraftOptim
    ///
    /// let beta1 = try Schedule.custom(name: "beta1-ramp") { t in min(0.95, 0.85 + 0.01 * Float(t - 1)) }
    /// let adam = try ScaleByAdam(beta1: beta1)
    /// ```
    /// Construction checks the name (non-empty) and that the function is finite at a few
    /// sample steps (t = 1, 2, 10, 100, 1 000, 10 000, 100 000); a transform checks its own range
    /// (β in [0, 1), λ ≥ 0, …) at the same steps. Values at other steps are not checked: keep the
    /// function inside the knob's range.
    /// - Throws: `OptimizerError.invalidHyperparameter` for an empty name or a non-finite sample.
    public static func custom(name: String, _ function: @escaping @Sendable (Int) -> Float) throws -> Schedule {
        try Schedule(.custom(CustomSchedule(name: name, function)), key: name.isEmpty ? "schedule" : name)
    }

    /// The steps at which schedules are sampled when a transform validates a scheduled knob.
    static let sampleSteps = [1, 2, 10, 100, 1_000, 10_000, 100_000]

    /// `custom:<name>` for a custom schedule (what snapshots record), `nil` for the built-in families.
    public var snapshotTag: String? {
        if case let .custom(f) = kind { return "custom:\(f.name)" }
        return nil
    }

    /// Checks `check` at every sample step (and the values the family names): how a transform
    /// validates a scheduled knob at construction.
    func validate(_ key: String, _ check: (String, Float) throws -> Void) throws {
        if case let .constant(v) = kind { try check(key, v); return }
        for t in Schedule.sampleSteps { try check("\(key)(t=\(t))", value(at: t)) }
        switch kind {
        case let .step(initial, _, _): try check("\(key).initial", initial)
        case let .linearWarmup(peak, _): try check("\(key).peak", peak)
        case let .cosine(initial, _, final): try check("\(key).initial", initial); try check("\(key).final", final)
        case let .warmupCosine(peak, _, _, final): try check("\(key).peak", peak); try check("\(key).final", final)
        case let .oneCycle(peak, _, _, _, _): try check("\(key).peak", peak)
        case .constant, .custom: break
        }
    }
}

extension Dictionary where Key == String, Value == String {
    /// This configuration with `<knob>_schedule = custom:<name>` for each custom schedule.
    func recordingSchedules(_ knobs: [(String, Schedule)]) -> [String: String] {
        var c = self
        for (knob, s) in knobs { if let tag = s.snapshotTag { c["\(knob)_schedule"] = tag } }
        return c
    }
}
