import Foundation
import Testing
import GraftOptim
import GraftTensor

/// `Schedule.value(at:)` against torch.optim.lr_scheduler, recorded by
/// `Tools/fixtures/record_pytorch.py` into `Tests/Fixtures/pytorch/schedules.json`.
///
/// Step indexing: Graft's `value(at: t)` with t = 1 is the learning rate of the *first*
/// optimizer step, i.e. torch's `optimizer.param_groups[0]["lr"]` before any
/// `scheduler.step()` (torch's loop calls `scheduler.step()` after `optimizer.step()`), so
/// `lr[t − 1]` of the fixture is compared with `value(at: t)`.
@Suite("Schedules")
struct ScheduleTests {
    struct Recorded: Sendable, CustomStringConvertible {
        let name: String
        let torch: String
        let kind: Schedule.Kind
        let paritySteps: Int
        let lr: [Double]
        var description: String { name }
    }

    static let recorded: [Recorded] = {
        guard let data = try? fixtureData("pytorch", "schedules.json"),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let items = root["schedules"] as? [[String: Any]] else { return [] }
        return items.compactMap { item in
            guard let name = item["name"] as? String, let g = item["graft"] as? [String: Any],
                  let lr = item["lr"] as? [NSNumber], let parity = item["paritySteps"] as? Int,
                  let kind = kind(g) else { return nil }
            return Recorded(name: name, torch: item["torch"] as? String ?? "", kind: kind, paritySteps: parity,
                            lr: lr.map(\.doubleValue))
        }
    }()

    static func kind(_ g: [String: Any]) -> Schedule.Kind? {
        func f(_ k: String) -> Float? { (g[k] as? NSNumber).map { Float(truncating: $0) } }
        func i(_ k: String) -> Int? { (g[k] as? NSNumber)?.intValue }
        switch g["kind"] as? String {
        case "cosine":
            guard let a = f("initial"), let n = i("totalSteps"), let b = f("final") else { return nil }
            return .cosine(initial: a, totalSteps: n, final: b)
        case "step":
            guard let a = f("initial"), let r = f("factor"), let n = i("every") else { return nil }
            return .step(initial: a, factor: r, every: n)
        case "oneCycle":
            guard let p = f("peak"), let n = i("totalSteps"), let s = f("pctStart"), let d = f("divFactor"),
                  let fd = f("finalDivFactor") else { return nil }
            return .oneCycle(peak: p, totalSteps: n, pctStart: s, divFactor: d, finalDivFactor: fd)
        case "linearWarmup":
            guard let p = f("peak"), let w = i("warmupSteps") else { return nil }
            return .linearWarmup(peak: p, warmupSteps: w)
        case "warmupCosine":
            guard let p = f("peak"), let w = i("warmupSteps"), let n = i("totalSteps"), let b = f("final") else { return nil }
            return .warmupCosine(peak: p, warmupSteps: w, totalSteps: n, final: b)
        default:
            return nil
        }
    }

    @Test func fixtureHasEveryFamily() {
        #expect(Self.recorded.count == 7)
        let names = Set(Self.recorded.map(\.name))
        #expect(names.isSuperset(of: ["cosine", "step", "onecycle", "linear_warmup", "warmup_cosine"]))
    }

    @Test("matches torch.optim.lr_scheduler", arguments: recorded)
    func matchesTorch(_ r: Recorded) throws {
        let schedule = try Schedule(r.kind, key: "lr")
        for t in 1...r.paritySteps {
            let got = Double(schedule.value(at: t)), want = r.lr[t - 1]
            #expect(withinParity(got, want), "\(r.name) (\(r.torch)) at t = \(t): Graft \(got), torch \(want)")
        }
    }

    /// Past `totalSteps`, torch's `CosineAnnealingLR` is periodic (it rises again toward the
    /// initial value); Graft deliberately holds `final`. The fixture records both.
    @Test func cosineHoldsFinalPastTheEndWhereTorchRisesAgain() throws {
        let r = try #require(Self.recorded.first { $0.name == "cosine_past_end" })
        let schedule = try Schedule(r.kind)
        guard case let .cosine(_, total, final) = r.kind else { Issue.record("wrong kind"); return }
        #expect(r.lr.count > total + 2)
        for t in (total + 2)...r.lr.count {
            #expect(schedule.value(at: t) == final)
            #expect(r.lr[t - 1] > Double(final) + 1e-3, "torch's value at t = \(t) was expected to rise again")
        }
    }

    /// The step-indexing convention: t = 1 is the initial value, so `value(at: 1)` of every family
    /// is its starting point (and `t ≤ 0` clamps to it).
    @Test func firstStepUsesTheInitialValue() throws {
        #expect(try Schedule(.cosine(initial: 0.3, totalSteps: 5, final: 0)).value(at: 1) == 0.3)
        #expect(try Schedule(.step(initial: 0.3, factor: 0.1, every: 1)).value(at: 1) == 0.3)
        #expect(try Schedule(.step(initial: 0.3, factor: 0.1, every: 1)).value(at: 2) == Float(0.3) * Float(0.1))
        #expect(try Schedule(.linearWarmup(peak: 1, warmupSteps: 4)).value(at: 1) == 0.25)
        #expect(try Schedule(.linearWarmup(peak: 1, warmupSteps: 4)).value(at: 4) == 1)
        #expect(try Schedule(.linearWarmup(peak: 1, warmupSteps: 4)).value(at: 0) == 0.25)
        #expect(abs(try Schedule(.oneCycle(peak: 1, totalSteps: 10, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4)).value(at: 1) - 0.04) < 1e-7)
        let s: Schedule = 0.5
        #expect(s.isConstant && s.value(at: 1_000) == 0.5)
    }

    /// The schedule reaches the optimizer: a scheduled `ScaleByLearningRate` scales step t by
    /// `value(at: t)` (t counted per group, from 1).
    @Test func scheduledLearningRateDrivesSteps() throws {
        let lr = try Schedule(.step(initial: 0.5, factor: 0.1, every: 1))
        let p = named("w", tensor([2], [0, 0]))
        let optimizer = try Optimizer(parameters: [p], groups: [ParameterGroup("g", selecting: .all, transform: ScaleByLearningRate(lr))])
        var expected: [Float] = [0, 0]
        for t in 1...3 {
            try optimizer.step(objectives: [["w": tensor([2], [1, -2])]])
            let a = lr.value(at: t)
            expected = [expected[0] - a * 1, expected[1] - a * -2]
            #expect(p.parameter.value.scalars == expected, "t = \(t)")
        }
        // A step's lr_scale multiplies the scheduled value.
        try optimizer.step(objectives: [["w": tensor([2], [1, 1])]], learningRateScale: 0.5)
        #expect(maxDifference(p.parameter.value.scalars, [expected[0] - 0.5 * lr.value(at: 4), expected[1] - 0.5 * lr.value(at: 4)]) == 0)
    }
}
