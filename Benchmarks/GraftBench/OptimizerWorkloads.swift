import GradientNoiseExample
import GraftOptim
import GraftTensor

/// One optimizer configuration to time: a recipe in one parameter group over every tensor
/// of a layout, stepped with fixed gradients.
///
/// `bytesPerParameter` is the *byte model*: the bytes per parameter a fused implementation
/// must move per step (reads plus writes of float32 buffers, no write-allocate), which turns
/// a step time into an achieved bandwidth. It describes the algorithm, not Graft's code: a
/// kernel that makes extra passes moves more bytes than the model counts, so its "GB/s"
/// falls below what the memory system delivers. The README's table spells each model out.
struct OptimizerWorkload {
    /// Short name used by `--filter` and in the JSON (`adam`, `digrap.learned.gradient`, …).
    var name: String
    /// What is timed.
    var summary: String
    /// The byte model, bytes per parameter per step.
    var bytesPerParameter: Int
    /// How the byte model is made up.
    var byteModel: String
    /// Objectives per step (K > 1: `step(objectives:)` with PCGrad).
    var objectives: Int = 1
    /// Whether the recipe reads anchors (explicit anchors are then passed to the optimizer).
    var usesAnchors: Bool = false
    /// The C floor this workload is compared with (the same step as plain fused C loops), if any.
    var floor: CFloor.Kind?
    /// Builds the group for the layout.
    var makeGroup: () throws -> ParameterGroup

    static let lr: Schedule = 1e-3

    static func group(_ t: some GradientTransform) throws -> ParameterGroup {
        try ParameterGroup("all", selecting: .all, transform: t)
    }

    static func all() -> [OptimizerWorkload] {
        var list: [OptimizerWorkload] = [
            OptimizerWorkload(name: "sgd", summary: "SGD, lr 1e-2", bytesPerParameter: 12,
                              byteModel: "θ r+w, g r", floor: .sgd, makeGroup: { try group(Recipes.sgd(learningRate: 1e-2)) }),
            OptimizerWorkload(name: "momentum", summary: "SGD momentum 0.9", bytesPerParameter: 20,
                              byteModel: "θ r+w, g r, b r+w", floor: .momentum,
                              makeGroup: { try group(Recipes.sgd(learningRate: 1e-2, momentum: 0.9)) }),
            OptimizerWorkload(name: "nesterov", summary: "SGD Nesterov momentum 0.9", bytesPerParameter: 20,
                              byteModel: "θ r+w, g r, b r+w", floor: .nesterov,
                              makeGroup: { try group(Recipes.sgd(learningRate: 1e-2, momentum: 0.9, nesterov: true)) }),
            OptimizerWorkload(name: "adam", summary: "Adam (PyTorch defaults)", bytesPerParameter: 28,
                              byteModel: "θ r+w, g r, m r+w, v r+w", floor: .adam,
                              makeGroup: { try group(Recipes.adam(learningRate: lr)) }),
            OptimizerWorkload(name: "adamw", summary: "AdamW, weight decay 1e-2", bytesPerParameter: 28,
                              byteModel: "θ r+w, g r, m r+w, v r+w", floor: .adamw,
                              makeGroup: { try group(Recipes.adamW(learningRate: lr, weightDecay: 1e-2)) }),
            OptimizerWorkload(name: "l2sp", summary: "L2-SP α 1e-2 β 1e-2 → SGD momentum 0.9", bytesPerParameter: 24,
                              byteModel: "θ r+w, g r, θ0 r, b r+w", usesAnchors: true, floor: .l2sp,
                              makeGroup: { try group(Recipes.l2sp(learningRate: 1e-2, alpha: 1e-2, beta: 1e-2, base: .sgd(momentum: 0.9))) }),
        ]
        for placement in [ProjectionPlacement.gradient, .update] {
            for learned in [true, false] {
                let bytes: Int, model: String
                switch (placement, learned) {
                case (.gradient, true):
                    bytes = 52; model = "pass 1: g, θ, θ0, p r (16); pass 2: g r, θ r+w, θ0 r, p w, m r+w, v r+w (36)"
                case (.gradient, false):
                    bytes = 44; model = "pass 1: g, θ, θ0 r (12); pass 2: g r, θ r+w, θ0 r, m r+w, v r+w (32)"
                case (.update, true):
                    bytes = 56; model = "pass 1: g, θ, θ0, p r, m r+w, v r+w (32); pass 2: θ r+w, θ0, m, v r, p w (24)"
                case (.update, false):
                    bytes = 48; model = "pass 1: g, θ, θ0 r, m r+w, v r+w (28); pass 2: θ r+w, θ0, m, v r (20)"
                }
                let omega: DirectionalProjection.Omega = learned ? .learned(mu: 0.5) : .fixed(1)
                list.append(OptimizerWorkload(
                    name: "digrap.\(learned ? "learned" : "fixed").\(placement.rawValue)",
                    summary: "DiGraP ω \(learned ? "learned (μ 0.5)" : "fixed 1"), \(placement.rawValue) placement, + Adam",
                    bytesPerParameter: bytes, byteModel: model, usesAnchors: true,
                    floor: placement == .gradient ? (learned ? .digrap : .digrapFixed) : (learned ? .digrapUpdate : .digrapFixedUpdate),
                    makeGroup: { try group(Recipes.digrap(learningRate: lr, omega: omega, placement: placement)) }))
            }
        }
        for k in [2, 4] {
            for granularity in [PCGrad.Granularity.global, .tensor] {
                list.append(OptimizerWorkload(
                    name: "pcgrad\(k).\(granularity.rawValue)",
                    summary: "PCGrad K = \(k), \(granularity.rawValue), + Adam",
                    bytesPerParameter: 8 * k + 24,
                    byteModel: "pass 1: \(k) g r for the Gram matrix (\(4 * k)); pass 2: \(k) g r, θ r+w, m r+w, v r+w (\(4 * k + 24))",
                    objectives: k,
                    floor: k == 2 ? (granularity == .global ? .pcgrad2Global : .pcgrad2Tensor)
                                  : (granularity == .global ? .pcgrad4Global : .pcgrad4Tensor),
                    makeGroup: {
                        let r = try Recipes.pcgrad(learningRate: lr, granularity: granularity, base: .adam())
                        return try ParameterGroup("all", selecting: .all, aggregator: r.aggregator, transform: r.transform)
                    }))
            }
        }
        list += [
            OptimizerWorkload(name: "ftp", summary: "FTP (k 1, μ 1e-2) after Adam", bytesPerParameter: 48,
                              byteModel: "pass 1: g, ĉ_{t−1}, θ, θ0 r, m r+w, v r+w, ĉ w (36); pass 2: θ w, θ0, ĉ r (12)",
                              usesAnchors: true, floor: .ftp, makeGroup: { try group(Recipes.ftp(learningRate: lr)) }),
            OptimizerWorkload(name: "spd", summary: "SPD (λ 1) after Adam", bytesPerParameter: 48,
                              byteModel: "pass 1: g, θ, θ0 r, m r+w, v r+w (28); pass 2: θ r+w, θ0, m, v r (20)",
                              usesAnchors: true, floor: .spd, makeGroup: { try group(Recipes.spd(learningRate: lr, lambda: 1)) }),
            OptimizerWorkload(name: "clip", summary: "clip by global norm 1 → SGD", bytesPerParameter: 16,
                              byteModel: "pass 1: g r (4); pass 2: θ r+w, g r (12)", floor: .clip,
                              makeGroup: {
                                  try group(chain {
                                      try ClipByGlobalNorm(maxNorm: 1)
                                      try ScaleByLearningRate(1e-2)
                                  })
                              }),
            // The CustomTransform example's own elementwise transform, fused with Adam and the
            // learning rate (compare with `adam`: the difference is the noise's cost per element).
            OptimizerWorkload(name: "custom.noise-adam", summary: "GradientNoise (example, η 0.01) → Adam → lr",
                              bytesPerParameter: 28, byteModel: "θ r+w, g r, m r+w, v r+w", floor: .adam,
                              makeGroup: {
                                  try group(chain {
                                      try GradientNoise(eta: 0.01, seed: 7).named("noise")
                                      try ScaleByAdam().named("adam")
                                      try ScaleByLearningRate(lr)
                                  })
                              }),
        ]
        return list
    }

    /// An optimizer over fresh parameters of `data`, and the closure that takes one step.
    func prepare(_ data: LayoutData) throws -> (optimizer: Optimizer, parameters: [NamedParameter], step: () throws -> Void) {
        let parameters = data.makeParameters()
        let optimizer = try Optimizer(parameters: parameters, groups: [try makeGroup()],
                                      anchors: usesAnchors ? data.anchorsByPath : [:])
        if objectives == 1 {
            return (optimizer, parameters, { try optimizer.step() })
        }
        let objectives = data.objectives(self.objectives)
        return (optimizer, parameters, { try optimizer.step(objectives: objectives) })
    }

    /// Telemetry worth printing after a run (how often projections fired).
    func telemetry(_ optimizer: Optimizer, _ data: LayoutData) -> [String: Double] {
        let steps = Double(optimizer.stepCount)
        guard steps > 0 else { return [:] }
        if name.hasPrefix("custom") { return ["fused": optimizer.isFused(group: "all") == true ? 1 : 0] }
        let anchored = data.layout.tensors.filter(\.anchored)
        if name.hasPrefix("digrap") {
            var projected = 0.0, omega = 0.0
            for spec in anchored {
                let t = optimizer.telemetry(for: spec.path)
                projected += t["projected_steps"] ?? 0
                omega += t["omega"] ?? 0
            }
            return ["projected_share": projected / (steps * Double(anchored.count)), "mean_omega": omega / Double(anchored.count)]
        }
        if name.hasPrefix("pcgrad") {
            let t = optimizer.telemetry(for: data.layout.tensors[0].path)
            return ["conflicts_last_step": t["last_projections"] ?? 0]
        }
        if name == "spd" {
            var decayed = 0.0
            for spec in anchored { decayed += optimizer.telemetry(for: spec.path)["decayed_steps"] ?? 0 }
            return ["decayed_share": decayed / (steps * Double(anchored.count))]
        }
        return [:]
    }
}
