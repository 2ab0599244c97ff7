/// A recipe object of a trace (`{"method": "digrap", "lr": 0.001, "mu": 0.5}`), parsed
/// strictly and turned into Graft's aggregator and transform chain.
public struct TraceRecipe {
    /// The recipe's aggregator (PCGrad for `pcgrad`, the sum otherwise).
    public let aggregator: AnyGradientAggregator
    /// The recipe's chain.
    public let transform: AnyGradientTransform
    /// The method name.
    public let method: String
    /// Whether the recipe reads each step's `provided_gradient` (DiGraP or a
    /// `directional_projection` with `hypergradient_source` `"provided"`).
    public var usesProvidedGradient: Bool { transform.usesProvidedGradient }

    /// The transform names accepted in a `chain` recipe's `transforms` list.
    public static let chainTransformNames = ["add_decayed_weights", "anchor_decay", "adam", "momentum", "scale",
                                             "scale_by_learning_rate", "clip_by_global_norm", "directional_projection",
                                             "trainable_projection", "selective_projection_decay", "identity",
                                             "rmsprop", "adagrad", "radam", "nadam", "lion", "trust_ratio", "masked"]

    init(_ value: JSONValue?, at location: String, isBase: Bool, baseLearningRate: Float? = nil) throws {
        var r = try JSONObjectReader(value, at: location)
        let method = try r.string("method")
        self.method = method
        let lr: Float
        if isBase {
            if r.has("lr") { throw TraceError(r.at("lr"), "a base recipe takes the outer recipe's lr") }
            lr = baseLearningRate ?? 0
        } else if TraceRecipe.combinatorMethods.contains(method) {
            if r.has("lr") { throw TraceError(r.at("lr"), "a \(method) recipe has no lr of its own: its inner recipes carry theirs") }
            lr = 0
        } else {
            lr = try r.float("lr")
        }
        func built<T>(_ make: () throws -> T) throws -> T {
            do { return try make() } catch let e as OptimizerError { throw TraceError(location, "\(e)") }
        }
        let schedule = Schedule.constant(lr)
        var aggregator = AnyGradientAggregator(SumAggregator())
        switch method {
        case _ where TraceRecipe.stepRuleMethods.contains(method):
            let rule = try TraceRecipe.stepRule(method, &r)
            transform = try built { try rule.transform(learningRate: schedule) }
        case "l2sp":
            let alpha = try r.float("alpha")
            let beta = try r.optionalFloat("beta", default: 0)
            let rule = try TraceRecipe.base(&r)
            transform = AnyGradientTransform(try built { try Recipes.l2sp(learningRate: schedule, alpha: alpha, beta: beta, base: rule) })
        case "digrap":
            let omega: DirectionalProjection.Omega
            let kappa = try r.optionalFloat("kappa", default: 1)
            if r.has("omega") {
                omega = .fixed(try r.float("omega"))
                for key in ["mu", "kappa"] where r.has(key) {
                    throw TraceError(r.at(key), "is ignored with a fixed omega: remove it, or remove omega to learn ω")
                }
            } else {
                omega = .learned(mu: try r.float("mu"), kappa: kappa)
            }
            let hyper = try TraceRecipe.choice(&r, "hypergradient", DirectionalProjection.Hypergradient.self, default: .rows)
            let placement = try TraceRecipe.choice(&r, "placement", ProjectionPlacement.self, default: .gradient)
            let source = try TraceRecipe.choice(&r, "hypergradient_source", DirectionalProjection.HypergradientSource.self, default: .training)
            let (b1, b2) = try TraceRecipe.betas(&r)
            let eps = try r.optionalFloat("eps", default: 1e-8)
            transform = AnyGradientTransform(try built {
                try Recipes.digrap(learningRate: schedule, omega: omega, hypergradient: hyper, placement: placement, source: source,
                                   beta1: b1, beta2: b2, epsilon: eps)
            })
        case "pcgrad":
            let reduction = try TraceRecipe.choice(&r, "reduction", PCGrad.Reduction.self, default: .sum)
            let granularity = try TraceRecipe.choice(&r, "granularity", PCGrad.Granularity.self, default: .global)
            let orderName = try r.optionalString("order") ?? "fixed"
            let order: PCGrad.Order
            switch orderName {
            case "fixed":
                order = .fixed
            case "shuffled":
                let seed = try r.number("seed")
                guard seed >= 0, seed == seed.rounded(), seed < 0x1p63 else { throw TraceError(r.at("seed"), "expected a whole number ≥ 0") }
                order = .shuffled(seed: UInt64(seed))
            default:
                throw TraceError(r.at("order"), "expected \"fixed\" or \"shuffled\", got \"\(orderName)\"")
            }
            let rule = try TraceRecipe.base(&r)
            let recipe = try built { try Recipes.pcgrad(learningRate: schedule, granularity: granularity, reduction: reduction, order: order, base: rule) }
            aggregator = AnyGradientAggregator(recipe.aggregator)
            transform = recipe.transform
        case "ftp":
            let k = try r.optionalFloat("k", default: 1)
            let mu = try r.optionalFloat("mu", default: 1e-2)
            let rule = try TraceRecipe.base(&r)
            transform = AnyGradientTransform(try built { try Recipes.ftp(learningRate: schedule, k: k, mu: mu, base: rule) })
        case "spd":
            let lambda = try r.float("lambda")
            let (b1, b2) = try TraceRecipe.betas(&r)
            let eps = try r.optionalFloat("eps", default: 1e-8)
            transform = AnyGradientTransform(try built { try Recipes.spd(learningRate: schedule, lambda: lambda, beta1: b1, beta2: b2, epsilon: eps) })
        case "adafactor":
            let decay = try r.optionalFloat("beta2_decay", default: -0.8)
            let eps1 = try r.optionalFloat("eps1", default: Float.ulpOfOne)
            let eps2 = try r.optionalFloat("eps2", default: 1e-3)
            let d = try r.optionalFloat("d", default: 1)
            let wd = try r.optionalFloat("weight_decay", default: 0)
            transform = AnyGradientTransform(try built {
                try Recipes.adafactor(learningRate: schedule, beta2Decay: decay, epsilon1: eps1, epsilon2: eps2, clipThreshold: d,
                                      weightDecay: wd)
            })
        case "muon":
            let momentum = try r.optionalFloat("momentum", default: 0.95)
            let nesterov = try r.optionalBool("nesterov", default: true)
            let steps = try r.optionalFloat("ns_steps", default: 5)
            guard steps == steps.rounded(), steps >= 1, steps < 100 else { throw TraceError(r.at("ns_steps"), "expected a whole number in 1 ..< 100") }
            let wd = try r.optionalFloat("weight_decay", default: 0.1)
            let scale = try r.optionalFloat("adam_lr_scale", default: 1)
            let (b1, b2) = try TraceRecipe.betas(&r, key: "adam_betas")
            let eps = try r.optionalFloat("adam_eps", default: 1e-8)
            transform = AnyGradientTransform(try built {
                try Recipes.muon(learningRate: schedule, momentum: momentum, nesterov: nesterov, steps: Int(steps), weightDecay: wd,
                                 adamLearningRateScale: scale, adamBeta1: b1, adamBeta2: b2, adamEpsilon: eps)
            })
        case _ where TraceRecipe.combinatorMethods.contains(method):
            (aggregator, transform) = try TraceRecipe.combinator(method, &r)
        case "chain":
            let items = try r.array("transforms")
            var members: [AnyGradientTransform] = []
            for (i, item) in items.enumerated() {
                members.append(try TraceRecipe.chainMember(item, at: r.at("transforms[\(i)]"), learningRate: schedule))
            }
            transform = AnyGradientTransform(SequenceTransform(members))
        default:
            throw TraceError(r.at("method"), "unknown method \"\(method)\" (\((TraceRecipe.stepRuleMethods + ["l2sp", "digrap", "pcgrad", "ftp", "spd", "adafactor", "muon", "chain"] + TraceRecipe.combinatorMethods).joined(separator: ", ")))")
        }
        if isBase && !TraceRecipe.stepRuleMethods.contains(method) {
            throw TraceError(r.at("method"), "a base recipe must be a step rule (\(TraceRecipe.stepRuleMethods.joined(separator: ", ")))")
        }
        self.aggregator = aggregator
        try r.rejectUnknownKeys()
    }

    /// The methods that are step rules (and may serve as a `base`).
    public static let stepRuleMethods = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "radam", "nadam", "lion", "lamb"]

    static func betas(_ r: inout JSONObjectReader, key: String = "betas", default d: (Float, Float) = (0.9, 0.999)) throws -> (Float, Float) {
        guard let v = r.value(key) else { return d }
        let b = try JSONObjectReader.floats(v, at: r.at(key))
        guard b.count == 2 else { throw TraceError(r.at(key), "expected two numbers") }
        return (b[0], b[1])
    }

    static func choice<T: RawRepresentable>(_ r: inout JSONObjectReader, _ key: String, _ type: T.Type, default d: T) throws -> T
    where T.RawValue == String {
        guard let s = try r.optionalString(key) else { return d }
        guard let v = T(rawValue: s) else { throw TraceError(r.at(key), "unexpected value \"\(s)\"") }
        return v
    }

    static func stepRule(_ method: String, _ r: inout JSONObjectReader) throws -> StepRule {
        switch method {
        case "sgd":
            return .sgd(momentum: try r.optionalFloat("momentum", default: 0), dampening: try r.optionalFloat("dampening", default: 0),
                        nesterov: try r.optionalBool("nesterov", default: false), weightDecay: try r.optionalFloat("weight_decay", default: 0))
        case "adam":
            let (b1, b2) = try betas(&r)
            return .adam(beta1: b1, beta2: b2, epsilon: try r.optionalFloat("eps", default: 1e-8),
                         weightDecay: try r.optionalFloat("weight_decay", default: 0), amsgrad: try r.optionalBool("amsgrad", default: false))
        case "adamw":
            let (b1, b2) = try betas(&r)
            return .adamW(beta1: b1, beta2: b2, epsilon: try r.optionalFloat("eps", default: 1e-8),
                          weightDecay: try r.optionalFloat("weight_decay", default: 0.01), amsgrad: try r.optionalBool("amsgrad", default: false))
        case "rmsprop":
            return .rmsprop(alpha: try r.optionalFloat("alpha", default: 0.99), epsilon: try r.optionalFloat("eps", default: 1e-8),
                            weightDecay: try r.optionalFloat("weight_decay", default: 0),
                            momentum: try r.optionalFloat("momentum", default: 0), centered: try r.optionalBool("centered", default: false))
        case "adagrad":
            return .adagrad(learningRateDecay: try r.optionalFloat("lr_decay", default: 0),
                            weightDecay: try r.optionalFloat("weight_decay", default: 0),
                            initialAccumulator: try r.optionalFloat("initial_accumulator_value", default: 0),
                            epsilon: try r.optionalFloat("eps", default: 1e-10))
        case "radam":
            let (b1, b2) = try betas(&r)
            return .radam(beta1: b1, beta2: b2, epsilon: try r.optionalFloat("eps", default: 1e-8),
                          weightDecay: try r.optionalFloat("weight_decay", default: 0),
                          decoupledWeightDecay: try r.optionalBool("decoupled_weight_decay", default: false))
        case "nadam":
            let (b1, b2) = try betas(&r)
            return .nadam(beta1: b1, beta2: b2, epsilon: try r.optionalFloat("eps", default: 1e-8),
                          weightDecay: try r.optionalFloat("weight_decay", default: 0),
                          momentumDecay: try r.optionalFloat("momentum_decay", default: 4e-3),
                          decoupledWeightDecay: try r.optionalBool("decoupled_weight_decay", default: false))
        case "lion":
            let (b1, b2) = try betas(&r, default: (0.9, 0.99))
            return .lion(beta1: b1, beta2: b2, weightDecay: try r.optionalFloat("weight_decay", default: 0))
        case "lamb":
            let (b1, b2) = try betas(&r)
            return .lamb(beta1: b1, beta2: b2, epsilon: try r.optionalFloat("eps", default: 1e-6),
                         weightDecay: try r.optionalFloat("weight_decay", default: 0))
        default:
            throw TraceError(r.at("method"), "not a step rule: \"\(method)\"")
        }
    }

    static func base(_ r: inout JSONObjectReader) throws -> StepRule {
        guard let v = r.value("base") else { throw TraceError(r.at("base"), "required key is missing") }
        var b = try JSONObjectReader(v, at: r.at("base"))
        let method = try b.string("method")
        guard stepRuleMethods.contains(method) else {
            throw TraceError(b.at("method"), "a base recipe must be a step rule (\(stepRuleMethods.joined(separator: ", ")))")
        }
        if b.has("lr") { throw TraceError(b.at("lr"), "a base recipe takes the outer recipe's lr") }
        let rule = try stepRule(method, &b)
        try b.rejectUnknownKeys()
        return rule
    }

    static func chainMember(_ value: JSONValue, at location: String, learningRate: Schedule) throws -> AnyGradientTransform {
        var t = try JSONObjectReader(value, at: location)
        let name = try t.string("transform")
        func built<T: GradientTransform>(_ make: () throws -> T) throws -> AnyGradientTransform {
            do { return AnyGradientTransform(try make()) } catch let e as OptimizerError { throw TraceError(location, "\(e)") }
        }
        let member: AnyGradientTransform
        switch name {
        case "identity": member = AnyGradientTransform(Identity())
        case "add_decayed_weights":
            let wd = try t.optionalFloat("weight_decay", default: 0)
            member = try built { try AddDecayedWeights(.constant(wd)) }
        case "anchor_decay":
            let a = try t.float("alpha"), b = try t.optionalFloat("beta", default: 0)
            member = try built { try AnchorDecay(alpha: a, beta: b) }
        case "adam":
            let (b1, b2) = try betas(&t)
            let eps = try t.optionalFloat("eps", default: 1e-8), ams = try t.optionalBool("amsgrad", default: false)
            member = try built { try ScaleByAdam(beta1: b1, beta2: b2, epsilon: eps, amsgrad: ams) }
        case "rmsprop":
            let alpha = try t.optionalFloat("alpha", default: 0.99), eps = try t.optionalFloat("eps", default: 1e-8)
            let m = try t.optionalFloat("momentum", default: 0), centered = try t.optionalBool("centered", default: false)
            member = try built { try ScaleByRMS(alpha: alpha, epsilon: eps, momentum: m, centered: centered) }
        case "adagrad":
            let decay = try t.optionalFloat("lr_decay", default: 0), s0 = try t.optionalFloat("initial_accumulator_value", default: 0)
            let eps = try t.optionalFloat("eps", default: 1e-10)
            member = try built { try ScaleByAdagrad(learningRateDecay: decay, initialAccumulator: s0, epsilon: eps) }
        case "radam":
            let (b1, b2) = try betas(&t)
            let eps = try t.optionalFloat("eps", default: 1e-8)
            member = try built { try ScaleByRAdam(beta1: b1, beta2: b2, epsilon: eps) }
        case "nadam":
            let (b1, b2) = try betas(&t)
            let eps = try t.optionalFloat("eps", default: 1e-8), psi = try t.optionalFloat("momentum_decay", default: 4e-3)
            member = try built { try ScaleByNAdam(beta1: b1, beta2: b2, epsilon: eps, momentumDecay: psi) }
        case "lion":
            let (b1, b2) = try betas(&t, default: (0.9, 0.99))
            member = try built { try ScaleByLion(beta1: b1, beta2: b2) }
        case "trust_ratio":
            let c = try t.optionalFloat("trust_coefficient", default: 1), n = try t.optionalFloat("min_norm", default: 0)
            let eps = try t.optionalFloat("eps", default: 0)
            member = try built { try ScaleByTrustRatio(trustCoefficient: c, minNorm: n, epsilon: eps) }
        case "momentum":
            let m = try t.float("momentum"), d = try t.optionalFloat("dampening", default: 0)
            let n = try t.optionalBool("nesterov", default: false)
            member = try built { try Momentum(momentum: m, dampening: d, nesterov: n) }
        case "scale":
            let f = try t.float("factor")
            member = try built { try Scale(f) }
        case "scale_by_learning_rate":
            let lr = t.has("lr") ? Schedule.constant(try t.float("lr")) : learningRate
            member = try built { try ScaleByLearningRate(lr) }
        case "clip_by_global_norm":
            let m = try t.float("max_norm")
            member = try built { try ClipByGlobalNorm(maxNorm: m) }
        case "directional_projection":
            let omega: DirectionalProjection.Omega
            if t.has("omega") { omega = .fixed(try t.float("omega")) }
            else {
                omega = .learned(mu: try t.float("mu"), kappa: try t.optionalFloat("kappa", default: 1),
                                 initial: try t.optionalFloat("initial_omega", default: 0))
            }
            let hyper = try choice(&t, "hypergradient", DirectionalProjection.Hypergradient.self, default: .rows)
            let source = try choice(&t, "hypergradient_source", DirectionalProjection.HypergradientSource.self, default: .training)
            member = try built { try DirectionalProjection(omega: omega, hypergradient: hyper, source: source) }
        case "trainable_projection":
            let k = try t.optionalFloat("k", default: 1), mu = try t.optionalFloat("mu", default: 1e-2)
            member = try built { try TrainableProjection(k: k, mu: mu) }
        case "selective_projection_decay":
            let l = try t.float("lambda")
            member = try built { try SelectiveProjectionDecay(lambda: l) }
        case "masked":
            member = try maskedMember(&t, at: location, learningRate: learningRate)
        default:
            throw TraceError(t.at("transform"), "unknown transform \"\(name)\" (\(chainTransformNames.joined(separator: ", ")))")
        }
        try t.rejectUnknownKeys()
        return member
    }
}
