/// The combinators in trace recipes: the methods `multi_steps`, `lookahead`, `parameter_ema`
/// and `step_conditioned` wrap whole recipes (each inner recipe with its own `lr`; the wrapper
/// has none), and the chain transform `masked` applies a list of chain transforms to the
/// selected tensors only.
///
/// | JSON | Swift |
/// |---|---|
/// | `{"method": "multi_steps", "every_k": 4, "inner": RECIPE}` | `MultiSteps(every: 4, recipe)` |
/// | `{"method": "lookahead", "sync_period": 5, "slow_step_size": 0.5, "inner": RECIPE}` | `Lookahead(syncPeriod: 5, slowStepSize: 0.5, recipe)` |
/// | `{"method": "parameter_ema", "decay": 0.99, "debias": true, "inner": RECIPE}` | `ParameterEMA(decay: 0.99, debias: true, recipe)` |
/// | `{"method": "step_conditioned", "switch_after": 100, "first": RECIPE, "then": RECIPE}` | `StepConditioned(switchingAfter: 100, first:, then:)` |
/// | `{"transform": "masked", "select": ["*.weight"], "rank_at_least": 2, "rank_at_most": 4, "transforms": [...]}` | `Masked(.glob(…) && .rank(atLeast: 2) && .rank(atMost: 4), …)` per listed transform |
///
/// `debias` defaults to true; `select` to every path (`["*"]`), and the rank bounds to none.
/// The inner recipes keep their aggregator (`multi_steps` of a `pcgrad` recipe aggregates with
/// PCGrad); `step_conditioned` needs the same kind of aggregator in both (the sum: no `pcgrad`).
extension TraceRecipe {
    /// The recipe methods that wrap other recipes.
    public static let combinatorMethods = ["multi_steps", "lookahead", "parameter_ema", "step_conditioned"]

    static func combinator(_ method: String, _ r: inout JSONObjectReader) throws -> (AnyGradientAggregator, AnyGradientTransform) {
        let location = r.location
        func built<T: GradientTransform>(_ make: () throws -> T) throws -> AnyGradientTransform {
            do { return AnyGradientTransform(try make()) } catch let e as OptimizerError { throw TraceError(location, "\(e)") }
        }
        func inner(_ key: String) throws -> TraceRecipe {
            guard let v = r.value(key) else { throw TraceError(r.at(key), "required key is missing") }
            return try TraceRecipe(v, at: r.at(key), isBase: false)
        }
        switch method {
        case "multi_steps":
            let k = try wholeNumber(&r, "every_k")
            let recipe = try inner("inner")
            return (recipe.aggregator, try built { try MultiSteps(every: k, recipe.transform) })
        case "lookahead":
            let k = try wholeNumber(&r, "sync_period")
            let alpha = try r.float("slow_step_size")
            let recipe = try inner("inner")
            return (recipe.aggregator, try built { try Lookahead(syncPeriod: k, slowStepSize: alpha, recipe.transform) })
        case "parameter_ema":
            let decay = try r.float("decay")
            let debias = try r.optionalBool("debias", default: true)
            let recipe = try inner("inner")
            return (recipe.aggregator, try built { try ParameterEMA(decay: decay, debias: debias, recipe.transform) })
        case "step_conditioned":
            let k = try wholeNumber(&r, "switch_after")
            let first = try inner("first"), then = try inner("then")
            for (key, recipe) in [("first", first), ("then", then)] where !recipe.aggregator.isSum {
                throw TraceError(r.at(key), "a step_conditioned member must aggregate by the sum (\(recipe.method) does not)")
            }
            return (first.aggregator, try built { try StepConditioned(switchingAfter: k, first: first.transform, then: then.transform) })
        default:
            throw TraceError(r.at("method"), "not a combinator: \"\(method)\"")
        }
    }

    /// A required whole number in 1 ..< 2³¹ (a step count or period).
    static func wholeNumber(_ r: inout JSONObjectReader, _ key: String) throws -> Int {
        let d = try r.number(key)
        guard d == d.rounded(), d >= 1, d < 0x1p31 else { throw TraceError(r.at(key), "expected a whole number ≥ 1, got \(formatNumber(d))") }
        return Int(d)
    }

    /// The `masked` chain transform: each listed transform wrapped in `Masked` with one selector.
    static func maskedMember(_ t: inout JSONObjectReader, at location: String, learningRate: Schedule) throws -> AnyGradientTransform {
        var selector = ParameterSelector.all
        if let v = t.value("select") {
            guard let items = v.array, !items.isEmpty else { throw TraceError(t.at("select"), "expected a non-empty array of paths or glob patterns") }
            var globs: [ParameterSelector] = []
            for (i, item) in items.enumerated() {
                guard let s = item.string else { throw TraceError(t.at("select[\(i)]"), "expected a string") }
                globs.append(.glob(s))
            }
            selector = globs.dropFirst().reduce(globs[0]) { $0 || $1 }
        }
        var low: Int?, high: Int?
        if t.has("rank_at_least") {
            let d = try t.number("rank_at_least")
            guard d == d.rounded(), d >= 0, d < 64 else { throw TraceError(t.at("rank_at_least"), "expected a whole number in 0 ..< 64") }
            low = Int(d)
            selector = selector && .rank(atLeast: Int(d))
        }
        if t.has("rank_at_most") {
            let d = try t.number("rank_at_most")
            guard d == d.rounded(), d >= 0, d < 64 else { throw TraceError(t.at("rank_at_most"), "expected a whole number in 0 ..< 64") }
            high = Int(d)
            selector = selector && .rank(atMost: Int(d))
        }
        if let low, let high, low > high {
            throw TraceError(t.at("rank_at_most"), "is below rank_at_least (\(high) < \(low)): the mask would select nothing")
        }
        let items = try t.array("transforms")
        guard !items.isEmpty else { throw TraceError(t.at("transforms"), "expected at least one transform") }
        var members: [AnyGradientTransform] = []
        for (i, item) in items.enumerated() {
            let at = t.at("transforms[\(i)]")
            let member = try chainMember(item, at: at, learningRate: learningRate)
            do {
                members.append(AnyGradientTransform(try Masked(selector, member)))
            } catch let e as OptimizerError {
                throw TraceError(at, "\(e)")
            }
        }
        return members.count == 1 ? members[0] : AnyGradientTransform(SequenceTransform(members))
    }
}
