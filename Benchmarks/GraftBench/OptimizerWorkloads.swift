import GraftBenchmarking
import GradientNoiseExample
import GraftOptim
import GraftTensor

/// One optimizer configuration to time: a recipe in one parameter group over every tensor
/// of a layout, stepped with fixed gradients.
///
/// `model` is the *byte model* (GraftBenchmarking's ``ByteModel``, the built-in rules' models):
/// the bytes per parameter a fused implementation must move per step, which turns a step time
/// into an achieved bandwidth. The README's table spells each model out. Each workload is timed
/// as a GraftBenchmarking ``TransformBenchmark`` (``benchmark(_:threads:floorNs:)``).
struct OptimizerWorkload {
    /// Short name used by `--filter` and in the JSON (`adam`, `digrap.learned.gradient`, …).
    var name: String
    /// What is timed.
    var summary: String
    /// The byte model.
    var model: ByteModel
    /// Objectives per step (K > 1: `step(objectives:)` with PCGrad).
    var objectives: Int = 1
    /// Whether the recipe reads anchors (explicit anchors are then passed to the optimizer).
    var usesAnchors: Bool = false
    /// The C floor this workload is compared with (the same step as plain fused C loops), if any.
    var floor: CFloor.Kind?
    /// The optimizer's non-finite policy (`.unchecked`: no scan of g before the step, as PyTorch).
    var nonFinitePolicy: NonFinitePolicy = .throw
    /// Builds the group for the layout.
    var makeGroup: () throws -> ParameterGroup

    static let lr: Schedule = 1e-3

    static func group(_ t: some GradientTransform) throws -> ParameterGroup {
        try ParameterGroup("all", selecting: .all, transform: t)
    }

    static func all() -> [OptimizerWorkload] {
        var list: [OptimizerWorkload] = [
            OptimizerWorkload(name: "sgd", summary: "SGD, lr 1e-2", model: .sgd, floor: .sgd, makeGroup: { try group(Recipes.sgd(learningRate: 1e-2)) }),
            OptimizerWorkload(name: "momentum", summary: "SGD momentum 0.9", model: .momentum, floor: .momentum,
                              makeGroup: { try group(Recipes.sgd(learningRate: 1e-2, momentum: 0.9)) }),
            OptimizerWorkload(name: "nesterov", summary: "SGD Nesterov momentum 0.9", model: .momentum, floor: .nesterov,
                              makeGroup: { try group(Recipes.sgd(learningRate: 1e-2, momentum: 0.9, nesterov: true)) }),
            OptimizerWorkload(name: "adam", summary: "Adam (PyTorch defaults)", model: .adam, floor: .adam,
                              makeGroup: { try group(Recipes.adam(learningRate: lr)) }),
            OptimizerWorkload(name: "adam.unchecked", summary: "Adam (PyTorch defaults), NonFinitePolicy.unchecked: no gradient scan",
                              model: .adam, floor: .adam, nonFinitePolicy: .unchecked,
                              makeGroup: { try group(Recipes.adam(learningRate: lr)) }),
            OptimizerWorkload(name: "adamw", summary: "AdamW, weight decay 1e-2", model: .adam, floor: .adamw,
                              makeGroup: { try group(Recipes.adamW(learningRate: lr, weightDecay: 1e-2)) }),
            OptimizerWorkload(name: "l2sp", summary: "L2-SP α 1e-2 β 1e-2 → SGD momentum 0.9", model: .l2spMomentum, usesAnchors: true, floor: .l2sp,
                              makeGroup: { try group(Recipes.l2sp(learningRate: 1e-2, alpha: 1e-2, beta: 1e-2, base: .sgd(momentum: 0.9))) }),
        ]
        for placement in [ProjectionPlacement.gradient, .update] {
            for learned in [true, false] {
                let omega: DirectionalProjection.Omega = learned ? .learned(mu: 0.5) : .fixed(1)
                list.append(OptimizerWorkload(
                    name: "digrap.\(learned ? "learned" : "fixed").\(placement.rawValue)",
                    summary: "DiGraP ω \(learned ? "learned (μ 0.5)" : "fixed 1"), \(placement.rawValue) placement, + Adam",
                    model: .digrap(learnedOmega: learned, updatePlacement: placement == .update), usesAnchors: true,
                    floor: placement == .gradient ? (learned ? .digrap : .digrapFixed) : (learned ? .digrapUpdate : .digrapFixedUpdate),
                    makeGroup: { try group(Recipes.digrap(learningRate: lr, omega: omega, placement: placement)) }))
            }
        }
        for k in [2, 4] {
            for granularity in [PCGrad.Granularity.global, .tensor] {
                list.append(OptimizerWorkload(
                    name: "pcgrad\(k).\(granularity.rawValue)",
                    summary: "PCGrad K = \(k), \(granularity.rawValue), + Adam",
                    model: .pcgrad(objectives: k),
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
            OptimizerWorkload(name: "ftp", summary: "FTP (k 1, μ 1e-2) after Adam", model: .ftp,
                              usesAnchors: true, floor: .ftp, makeGroup: { try group(Recipes.ftp(learningRate: lr)) }),
            OptimizerWorkload(name: "spd", summary: "SPD (λ 1) after Adam", model: .spd,
                              usesAnchors: true, floor: .spd, makeGroup: { try group(Recipes.spd(learningRate: lr, lambda: 1)) }),
            // The step rules of issue 14 (all fused: one loop over θ, g and the rule's state).
            OptimizerWorkload(name: "rmsprop", summary: "RMSprop (PyTorch defaults)", model: .rmsprop, makeGroup: { try group(Recipes.rmsprop(learningRate: lr)) }),
            OptimizerWorkload(name: "rmsprop.centered.momentum", summary: "RMSprop centered, momentum 0.9", model: .rmspropCenteredMomentum,
                              makeGroup: { try group(Recipes.rmsprop(learningRate: lr, momentum: 0.9, centered: true)) }),
            OptimizerWorkload(name: "adagrad", summary: "Adagrad (PyTorch defaults)", model: .adagrad, makeGroup: { try group(Recipes.adagrad(learningRate: 1e-2)) }),
            OptimizerWorkload(name: "radam", summary: "RAdam (PyTorch defaults)", model: .adam, makeGroup: { try group(Recipes.radam(learningRate: lr)) }),
            OptimizerWorkload(name: "nadam", summary: "NAdam (PyTorch defaults)", model: .adam, makeGroup: { try group(Recipes.nadam(learningRate: lr)) }),
            OptimizerWorkload(name: "lion", summary: "Lion, weight decay 1e-1", model: .lion,
                              makeGroup: { try group(Recipes.lion(learningRate: 1e-4, weightDecay: 0.1)) }),
            OptimizerWorkload(name: "lamb", summary: "LAMB (optax defaults), weight decay 1e-2", model: .lamb,
                              makeGroup: { try group(Recipes.lamb(learningRate: lr, weightDecay: 1e-2)) }),
            OptimizerWorkload(name: "clip", summary: "clip by global norm 1 → SGD", model: .clipSGD, floor: .clip,
                              makeGroup: {
                                  try group(chain {
                                      try ClipByGlobalNorm(maxNorm: 1)
                                      try ScaleByLearningRate(1e-2)
                                  })
                              }),
            // Combinators and scheduled hyperparameters (issue 14), each one fused kernel.
            OptimizerWorkload(name: "masked.adamw", summary: "Adam → weight decay 1e-2 on rank ≥ 2 only (Masked) → lr", model: .adam, floor: .adam,
                              makeGroup: {
                                  try group(chain {
                                      try ScaleByAdam()
                                      try Masked(.rank(atLeast: 2), AddDecayedWeights(1e-2))
                                      try ScaleByLearningRate(lr)
                                  })
                              }),
            OptimizerWorkload(name: "stepcond.adam", summary: "StepConditioned: SGD for 3 steps, then Adam (timed on Adam)", model: .adam, floor: .adam,
                              makeGroup: { try group(StepConditioned(switchingAfter: 3, first: Recipes.sgd(learningRate: 1e-2), then: Recipes.adam(learningRate: lr))) }),
            OptimizerWorkload(name: "multisteps4.adam", summary: "MultiSteps(every: 4) around Adam", model: .multiSteps4Adam,
                              makeGroup: { try group(MultiSteps(every: 4, Recipes.adam(learningRate: lr))) }),
            OptimizerWorkload(name: "lookahead5.adam", summary: "Lookahead(k 5, α 0.5) around Adam", model: .lookaheadAdam,
                              makeGroup: { try group(Lookahead(syncPeriod: 5, slowStepSize: 0.5, Recipes.adam(learningRate: lr))) }),
            OptimizerWorkload(name: "adam.ema", summary: "Adam with a ParameterEMA (β 0.999, debiased)", model: .adamEMA,
                              makeGroup: { try group(ParameterEMA(decay: 0.999, Recipes.adam(learningRate: lr))) }),
            OptimizerWorkload(name: "adam.sched-beta1", summary: "Adam with β1 on a cosine schedule (0.95 → 0.85)", model: .adam, floor: .adam,
                              makeGroup: {
                                  try group(chain {
                                      try ScaleByAdam(beta1: Schedule(.cosine(initial: 0.95, totalSteps: 10_000, final: 0.85)))
                                      try ScaleByLearningRate(lr)
                                  })
                              }),
            // The CustomTransform example's own elementwise transform, fused with Adam and the
            // learning rate (compare with `adam`: the difference is the noise's cost per element).
            OptimizerWorkload(name: "custom.noise-adam", summary: "GradientNoise (example, η 0.01) → Adam → lr",
                              model: .adam, floor: .adam,
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

    /// The workload as a GraftBenchmarking benchmark on `layout`, with the floors measured so far
    /// (its own C floor and the C Adam floor give the ×floor and ×adamFloor columns).
    func benchmark(_ layout: Layout, threads: Int, floorNs: [CFloor.Kind: Double] = [:]) -> TransformBenchmark {
        var b = TransformBenchmark(name: name, summary: summary, layout: layout, threads: threads, bytesPerParameter: model,
                                   objectives: objectives, usesAnchors: usesAnchors,
                                   floor: floor.flatMap { f in floorNs[f].map { FloorReference(name: f.rawValue, nsPerParameter: $0) } },
                                   makeGroup: makeGroup)
        b.adamFloorNsPerParameter = floorNs[.adam]
        b.nonFinitePolicy = nonFinitePolicy
        b.telemetry = { telemetry($0, $1) }
        return b
    }

    /// Times the workload on `data` as one optimizer row. A workload with a C floor is timed
    /// interleaved with a fresh instance of that floor (its own buffers, both alive at once) through
    /// GraftBenchmarking's paired run, so its ×floor compares the same moments of this shared
    /// machine (README "Floors"); `floorNs` (the standalone floor rows) then gives only ×adamFloor.
    /// A workload without a floor is timed on its own.
    func run(on data: LayoutData, threads: Int, floorNs: [CFloor.Kind: Double], policy: TimingPolicy,
             bandwidth: [MemoryProbeResult]) throws -> OptimizerResult {
        let bench = benchmark(data.layout, threads: threads, floorNs: floorNs)
        guard let floor else { return try bench.run(on: data, policy: policy, bandwidth: bandwidth).row }
        let kernels = CFloor(kind: floor, data: data, threads: threads)
        return try bench.run(on: data, pairedWithFloor: floor.rawValue, floorStep: kernels.run, policy: policy, bandwidth: bandwidth).row
    }

    /// An optimizer over fresh parameters of `data`, and the closure that takes one step.
    func prepare(_ data: LayoutData) throws -> (optimizer: Optimizer, parameters: [NamedParameter], step: () throws -> Void) {
        let p = try benchmark(data.layout, threads: Parallel.threads).prepare(data)
        return (p.optimizer, p.parameters, p.step)
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

extension ByteModel {
    /// MultiSteps(every: 4) around Adam, averaged over 4 calls: 3 accumulate (θ r+w, g r,
    /// acc r+w = 20 B), 1 applies (+ m, v r+w = 36 B).
    static let multiSteps4Adam = (try? ByteModel(bytesPerParameter: 24, description: "θ r+w, g r, acc r+w; m, v r+w every 4th call")) ?? .adam
    /// Lookahead around Adam: Adam's 28 B and the slow copy read every step (its write on every
    /// 5th step left out).
    static let lookaheadAdam = (try? ByteModel(bytesPerParameter: 32, description: "θ r+w, g r, m r+w, v r+w, slow r")) ?? .adam
    /// Adam and its parameter average: 28 B + ema r+w.
    static let adamEMA = (try? ByteModel(bytesPerParameter: 36, description: "θ r+w, g r, m r+w, v r+w, ema r+w")) ?? .adam
}
