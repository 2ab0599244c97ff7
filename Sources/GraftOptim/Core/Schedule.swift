#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A hyperparameter value as a function of the step count `t` (1 at the first step).
///
/// Any numeric knob of a transform that is typed `Schedule` can be scheduled; a float
/// literal is a constant schedule (`lr: 1e-3`). Each schedule evaluates at `e = t − 1`,
/// the number of completed steps, so the first step uses the initial value, as PyTorch's
/// `lr_scheduler`s do when `scheduler.step()` follows `optimizer.step()`.
/// Parameters are validated when the schedule is built.
public struct Schedule: Sendable, Equatable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The schedule families.
    public enum Kind: Sendable, Equatable {
        case constant(Float)
        /// `initial · factor^⌊e / every⌋` (PyTorch `StepLR`).
        case step(initial: Float, factor: Float, every: Int)
        /// Linear from `peak / warmupSteps` … `peak` over the first `warmupSteps` steps, then `peak`.
        case linearWarmup(peak: Float, warmupSteps: Int)
        /// `final + (initial − final) · (1 + cos(π · min(e, total) / total)) / 2` (PyTorch `CosineAnnealingLR`).
        case cosine(initial: Float, totalSteps: Int, final: Float)
        /// Linear warm-up to `peak` over `warmupSteps`, then cosine decay to `final` at `totalSteps`
        /// (the schedule of the DiGraP paper's VQA runs).
        case warmupCosine(peak: Float, warmupSteps: Int, totalSteps: Int, final: Float)
        /// PyTorch `OneCycleLR` (cosine annealing, two phases): from `peak / divFactor` up to `peak`
        /// over `pctStart · totalSteps`, then down to `peak / (divFactor · finalDivFactor)`.
        case oneCycle(peak: Float, totalSteps: Int, pctStart: Float, divFactor: Float, finalDivFactor: Float)
        /// A function of the step `t` (1 at the first step) with a name (see `Schedule.custom(name:_:)`).
        case custom(CustomSchedule)
    }

    /// Which family and its parameters.
    public let kind: Kind

    /// A constant schedule from a literal (`1e-3`).
    public init(floatLiteral value: Double) { kind = .constant(Float(value)) }
    /// A constant schedule from an integer literal.
    public init(integerLiteral value: Int) { kind = .constant(Float(value)) }

    /// A constant value.
    public static func constant(_ v: Float) -> Schedule { Schedule(unchecked: .constant(v)) }

    private init(unchecked kind: Kind) { self.kind = kind }

    /// Builds a validated schedule; `key` names the knob in error messages.
    public init(_ kind: Kind, key: String = "schedule") throws {
        switch kind {
        case let .constant(v): try Check.finite(key, v)
        case let .step(initial, factor, every):
            try Check.finite("\(key).initial", initial); try Check.nonNegative("\(key).factor", factor)
            try Check.positiveInt("\(key).every", every)
        case let .linearWarmup(peak, warmup):
            try Check.finite("\(key).peak", peak); try Check.positiveInt("\(key).warmupSteps", warmup)
        case let .cosine(initial, total, final):
            try Check.finite("\(key).initial", initial); try Check.finite("\(key).final", final)
            try Check.positiveInt("\(key).totalSteps", total)
        case let .warmupCosine(peak, warmup, total, final):
            try Check.finite("\(key).peak", peak); try Check.finite("\(key).final", final)
            guard warmup >= 0 else { throw OptimizerError.invalidHyperparameter(key: "\(key).warmupSteps", value: "\(warmup)", allowed: "an integer ≥ 0") }
            guard total > warmup else {
                throw OptimizerError.invalidHyperparameter(key: "\(key).totalSteps", value: "\(total)", allowed: "> warmupSteps (\(warmup))")
            }
        case let .oneCycle(peak, total, pct, div, finalDiv):
            try Check.finite("\(key).peak", peak); try Check.positiveInt("\(key).totalSteps", total)
            guard pct.isFinite, pct > 0, pct < 1 else {
                throw OptimizerError.invalidHyperparameter(key: "\(key).pctStart", value: "\(pct)", allowed: "(0, 1)")
            }
            try Check.positive("\(key).divFactor", div); try Check.positive("\(key).finalDivFactor", finalDiv)
        case let .custom(f):
            try Check.customName(key, f.name)
            for t in Schedule.sampleSteps { try Check.finite("\(key)(t=\(t))", f.function(t)) }
        }
        self.kind = kind
    }

    /// The value at step `t` (1-based).
    public func value(at t: Int) -> Float {
        let e = max(0, t - 1)
        switch kind {
        case let .constant(v): return v
        case let .step(initial, factor, every):
            return initial * Float(pow(Double(factor), Double(e / every)))
        case let .linearWarmup(peak, warmup):
            return e >= warmup ? peak : peak * Float(e + 1) / Float(warmup)
        case let .cosine(initial, total, final):
            let p = Double(min(e, total)) / Double(total)
            return final + (initial - final) * Float((1 + cos(Double.pi * p)) / 2)
        case let .warmupCosine(peak, warmup, total, final):
            if e < warmup { return peak * Float(e + 1) / Float(warmup) }
            let p = Double(min(e - warmup, total - warmup)) / Double(total - warmup)
            return final + (peak - final) * Float((1 + cos(Double.pi * p)) / 2)
        case let .oneCycle(peak, total, pct, div, finalDiv):
            let initial = Double(peak) / Double(div)
            let minimum = initial / Double(finalDiv)
            let upEnd = Double(pct) * Double(total) - 1
            let downEnd = Double(total) - 1
            let x = Double(min(e, total - 1))
            func anneal(_ a: Double, _ b: Double, _ p: Double) -> Double { b + (a - b) / 2 * (1 + cos(Double.pi * p)) }
            if x <= upEnd { return Float(anneal(initial, Double(peak), upEnd > 0 ? x / upEnd : 1)) }
            return Float(anneal(Double(peak), minimum, (x - upEnd) / (downEnd - upEnd)))
        case let .custom(f):
            return f.function(t)
        }
    }

    /// Whether `value(at:)` is negative at some step t ≥ 1. Exact, unlike sampling a few steps:
    /// each family stays between the values it names (step factors and one-cycle divisors are
    /// validated positive or zero).
    var canBeNegative: Bool {
        switch kind {
        case let .constant(v): return v < 0
        case let .step(initial, _, _): return initial < 0
        case let .linearWarmup(peak, _): return peak < 0
        case let .cosine(initial, _, final): return initial < 0 || final < 0
        case let .warmupCosine(peak, _, _, final): return peak < 0 || final < 0
        case let .oneCycle(peak, _, _, _, _): return peak < 0
        case .custom: return Schedule.sampleSteps.contains { value(at: $0) < 0 }
        }
    }

    /// Whether the schedule is a constant.
    public var isConstant: Bool { if case .constant = kind { return true } else { return false } }

    public var description: String {
        if case let .constant(v) = kind { return "\(v)" }
        if case let .custom(f) = kind { return "custom(\"\(f.name)\")" }
        return "\(kind)"
    }
}
