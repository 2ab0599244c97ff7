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
                                             "trainable_projection", "selective_projection_decay", "identity"]

    init(_ value: JSONValue?, at location: String, isBase: Bool, baseLearningRate: Float? = nil) throws {
        var r = try JSONObjectReader(value, at: location)
        let method = try r.string("method")
        self.method = method
        let lr: Float
        if isBase {
            if r.has("lr") { throw TraceError(r.at("lr"), "a base recipe takes the outer recipe's lr") }
            lr = baseLearningRate ?? 0
        } else {
            lr = try r.float("lr")
        }
        func built<T>(_ make: () throws -> T) throws -> T {
            do { return try make() } catch let e as OptimizerError { throw TraceError(location, "\(e)") }
        }
        let schedule = Schedule.constant(lr)
        var aggregator = AnyGradientAggregator(SumAggregator())
        switch method {
        case "sgd", "adam", "adamw":
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
        case "chain":
            let items = try r.array("transforms")
            var members: [AnyGradientTransform] = []
            for (i, item) in items.enumerated() {
                members.append(try TraceRecipe.chainMember(item, at: r.at("transforms[\(i)]"), learningRate: schedule))
            }
            transform = AnyGradientTransform(SequenceTransform(members))
        default:
            throw TraceError(r.at("method"), "unknown method \"\(method)\" (sgd, adam, adamw, l2sp, digrap, pcgrad, ftp, spd, chain)")
        }
        if isBase && !["sgd", "adam", "adamw"].contains(method) {
            throw TraceError(r.at("method"), "a base recipe must be sgd, adam or adamw")
        }
        self.aggregator = aggregator
        try r.rejectUnknownKeys()
    }

    static func betas(_ r: inout JSONObjectReader) throws -> (Float, Float) {
        guard let v = r.value("betas") else { return (0.9, 0.999) }
        let b = try JSONObjectReader.floats(v, at: r.at("betas"))
        guard b.count == 2 else { throw TraceError(r.at("betas"), "expected two numbers") }
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
        default:
            let (b1, b2) = try betas(&r)
            return .adamW(beta1: b1, beta2: b2, epsilon: try r.optionalFloat("eps", default: 1e-8),
                          weightDecay: try r.optionalFloat("weight_decay", default: 0.01), amsgrad: try r.optionalBool("amsgrad", default: false))
        }
    }

    static func base(_ r: inout JSONObjectReader) throws -> StepRule {
        guard let v = r.value("base") else { throw TraceError(r.at("base"), "required key is missing") }
        var b = try JSONObjectReader(v, at: r.at("base"))
        let method = try b.string("method")
        guard ["sgd", "adam", "adamw"].contains(method) else { throw TraceError(b.at("method"), "a base recipe must be sgd, adam or adamw") }
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
        default:
            throw TraceError(t.at("transform"), "unknown transform \"\(name)\" (\(chainTransformNames.joined(separator: ", ")))")
        }
        try t.rejectUnknownKeys()
        return member
    }
}
