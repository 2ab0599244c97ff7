import GraftTensor

/// What a step does when a gradient holds a NaN or an infinity.
public enum NonFinitePolicy: Sendable, Equatable {
    /// Throw `OptimizerError.nonFiniteGradient` before anything changes (the default).
    case `throw`
    /// Skip the step for every group whose gradients are not all finite (nothing of that group
    /// changes, its step count does not advance) and count it in `skippedSteps`.
    case skipStep
}

/// Owns parameter groups, their chains, states and anchors, and steps them.
///
/// Parameters are assigned to the first group that selects them (then to `defaultGroup`);
/// parameters with `isTrainable == false` are never updated and keep no state. Each step
/// checks every input first (paths, shapes, finiteness) and only then updates, so a
/// thrown error leaves parameters and state exactly as they were.
public final class Optimizer {
    /// Every parameter given to the optimizer, in order.
    public let parameters: [NamedParameter]
    /// The non-finite gradient policy.
    public let nonFinitePolicy: NonFinitePolicy
    let runtimes: [GroupRuntime]
    private let indexByPath: [String: Int]
    /// Group name and index within it, per parameter (`nil`: frozen or untrainable).
    private let placement: [(group: Int, index: Int)?]

    /// The number of `step` calls that updated at least one group.
    public private(set) var stepCount = 0
    /// Steps skipped by the `.skipStep` policy (per call, counted once).
    public private(set) var skippedSteps = 0

    /// Builds an optimizer.
    /// - Parameters:
    ///   - parameters: the model's parameters with their paths.
    ///   - groups: groups in priority order (first match wins).
    ///   - defaultGroup: the group of parameters no other group selects; without it such a
    ///     trainable parameter is an error.
    ///   - anchors: explicit anchors θ0 by path, overriding the snapshot of `.initial` anchors.
    ///   - nonFinitePolicy: what to do with NaN / Inf gradients.
    /// - Throws: duplicate paths or group names, groups that select nothing or only parameters
    ///   taken earlier, unassigned parameters, mis-shaped explicit anchors.
    public init(parameters: [NamedParameter], groups: [ParameterGroup], defaultGroup: ParameterGroup? = nil,
                anchors explicitAnchors: [String: Tensor] = [:], nonFinitePolicy: NonFinitePolicy = .throw) throws {
        self.parameters = parameters
        self.nonFinitePolicy = nonFinitePolicy
        var indexByPath: [String: Int] = [:]
        for (i, p) in parameters.enumerated() {
            guard indexByPath.updateValue(i, forKey: p.path) == nil else { throw OptimizerError.duplicateParameter(path: p.path) }
        }
        for path in explicitAnchors.keys where indexByPath[path] == nil { throw OptimizerError.unknownPath(path: path) }
        self.indexByPath = indexByPath
        let allGroups = groups + (defaultGroup.map { [$0] } ?? [])
        var seen = Set<String>()
        for g in allGroups where !seen.insert(g.name).inserted { throw OptimizerError.duplicateGroup(group: g.name) }

        let infos = parameters.map {
            ParameterInfo(path: $0.path, shape: $0.parameter.shape, anchor: $0.parameter.anchor, isTrainable: $0.parameter.isTrainable)
        }
        var assignment = [Int?](repeating: nil, count: parameters.count)
        for (gi, g) in allGroups.enumerated() {
            var matchedAny = false, firstOwner: Int?
            for i in parameters.indices where infos[i].isTrainable && g.matches(infos[i]) {
                matchedAny = true
                if let owner = assignment[i] { firstOwner = firstOwner ?? owner } else { assignment[i] = gi }
            }
            let took = assignment.contains(gi)
            let isDefault = defaultGroup != nil && gi == allGroups.count - 1
            if !took && !isDefault {
                if matchedAny, let owner = firstOwner { throw OptimizerError.shadowedGroup(group: g.name, by: allGroups[owner].name) }
                throw OptimizerError.emptyGroup(group: g.name)
            }
        }
        for i in parameters.indices where infos[i].isTrainable && assignment[i] == nil {
            throw OptimizerError.unassignedParameter(path: parameters[i].path)
        }

        var runtimes: [GroupRuntime] = []
        var placement = [(group: Int, index: Int)?](repeating: nil, count: parameters.count)
        for (gi, g) in allGroups.enumerated() {
            guard let transform = g.transform else { continue }
            let members = parameters.indices.filter { assignment[$0] == gi }
            guard !members.isEmpty else { continue }
            var anchors: [Tensor?] = []
            for i in members {
                let p = parameters[i]
                if let explicit = explicitAnchors[p.path] {
                    guard explicit.shape == p.parameter.shape else {
                        throw OptimizerError.shapeMismatch(path: p.path, expected: p.parameter.shape, actual: explicit.shape)
                    }
                    anchors.append(explicit)
                } else if transform.usesAnchors && p.parameter.anchor == .initial {
                    anchors.append(p.parameter.value)  // shares storage until the parameter is next updated
                } else {
                    anchors.append(nil)
                }
            }
            for (k, i) in members.enumerated() { placement[i] = (runtimes.count, k) }
            runtimes.append(GroupRuntime(group: g, transform: transform, indices: members, infos: members.map { infos[$0] }, anchors: anchors))
        }
        self.runtimes = runtimes
        self.placement = placement
        // Make every anchor snapshot its own storage now, so a later in-place update of the
        // parameter never touches it (and the copy happens once, at construction).
        for rt in runtimes { for k in rt.anchors.indices where rt.anchors[k] != nil { _ = rt.anchors[k]!.unsafeMutableStorage() } }
    }

    func restoreCounters(stepCount: Int, skippedSteps: Int) {
        self.stepCount = stepCount
        self.skippedSteps = skippedSteps
    }

    /// The names of the groups that have a transform, in priority order.
    public var groupNames: [String] { runtimes.map(\.group.name) }

    /// The group a parameter belongs to (`nil` when frozen or untrainable).
    public func group(of path: String) -> String? {
        guard let i = indexByPath[path], let place = placement[i] else { return nil }
        return runtimes[place.group].group.name
    }

    /// The anchor θ0 of a parameter: the snapshot or explicit tensor, zeros for a zero anchor,
    /// `nil` without one (or when its group's transform uses no anchors).
    public func anchor(for path: String) -> Tensor? {
        guard let i = indexByPath[path], let place = placement[i] else { return nil }
        let rt = runtimes[place.group]
        if let a = rt.anchors[place.index] { return a }
        return rt.infos[place.index].anchor == .zero && rt.transform.usesAnchors ? Tensor(zeros: rt.infos[place.index].shape) : nil
    }

    /// The state of the chain member named `member` for a parameter (cast it to the member's
    /// `TensorState`), or `nil`.
    public func state(of member: String, for path: String) -> (any Sendable)? {
        try? requireState(of: member, for: path)
    }

    /// The state of a named chain member for a parameter, or a typed error: `unknownPath` for
    /// a path that is not an updated parameter, `unknownMember` for a name the chain lacks.
    public func requireState(of member: String, for path: String) throws -> any Sendable {
        guard let i = indexByPath[path], let place = placement[i] else { throw OptimizerError.unknownPath(path: path) }
        let rt = runtimes[place.group]
        guard let m = rt.memberIndex(named: member),
              let state = rt.members[m].inspect(rt.storages[m].view(place.index), rt.infos[place.index]) else {
            throw OptimizerError.unknownMember(name: member)
        }
        return state
    }

    /// Typed form of `state(of:for:)`.
    public func state<S>(of member: String, for path: String, as type: S.Type) -> S? {
        state(of: member, for: path) as? S
    }

    /// Telemetry of a parameter from its group's aggregator and every chain member.
    public func telemetry(for path: String) -> [String: Double] {
        guard let i = indexByPath[path], let place = placement[i] else { return [:] }
        let rt = runtimes[place.group]
        var out = rt.group.aggregator.telemetry(rt.aggregatorState, index: place.index)
        for (m, member) in rt.members.enumerated() {
            out.merge(member.telemetry(rt.storages[m].view(place.index), rt.infos[place.index])) { _, b in b }
        }
        return out
    }

    /// The step count t of a group (steps it has taken).
    public func stepCount(ofGroup name: String) -> Int? { runtimes.first { $0.group.name == name }?.step }

    /// Whether a group's whole chain runs as one fused kernel (`nil` for an unknown group).
    public func isFused(group name: String) -> Bool? { runtimes.first { $0.group.name == name }.map { $0.kernel != nil } }

    /// Groups of at least this many elements spread their kernels over every thread
    /// (default `GroupStep.parallelThreshold`; tests lower it to exercise the parallel path).
    public var parallelThreshold = GroupStep.parallelThreshold {
        didSet { for rt in runtimes { rt.kernelPlan = nil } }
    }

    // MARK: Stepping

    /// One step with each parameter's own `gradient` (one objective).
    public func step(learningRateScale: Float = 1, providedGradients: [String: Tensor]? = nil) throws {
        try checkParameterShapes()
        for p in parameters where p.parameter.gradient.shape != p.parameter.shape {
            throw OptimizerError.shapeMismatch(path: p.path, expected: p.parameter.shape, actual: p.parameter.gradient.shape)
        }
        let objective: [[UnsafeBufferPointer<Float>?]] = [parameters.map { $0.parameter.gradient.unsafeStorage() }]
        try withExtendedLifetime(providedGradients) {
            try run(objectives: objective, provided: try resolveProvided(providedGradients), learningRateScale: learningRateScale)
        }
    }

    /// One step from K objective gradients by path. A path missing from an objective has a
    /// zero gradient; a path the optimizer does not know, or a mis-shaped tensor, throws.
    public func step(objectives: [[String: Tensor]], learningRateScale: Float = 1,
                     providedGradients: [String: Tensor]? = nil) throws {
        guard !objectives.isEmpty else { throw OptimizerError.noObjectives }
        try checkParameterShapes()
        let resolved = try objectives.map(resolve)
        try withExtendedLifetime(objectives) {
            try withExtendedLifetime(providedGradients) {
                try run(objectives: resolved, provided: try resolveProvided(providedGradients), learningRateScale: learningRateScale)
            }
        }
    }

    /// A parameter whose value was replaced by a tensor of another shape after the optimizer
    /// was built is refused (its state and plan were made for the registered shape).
    private func checkParameterShapes() throws {
        for rt in runtimes {
            for (k, i) in rt.indices.enumerated() where parameters[i].parameter.value.shape != rt.infos[k].shape {
                throw OptimizerError.shapeMismatch(path: rt.infos[k].path, expected: rt.infos[k].shape,
                                                   actual: parameters[i].parameter.value.shape)
            }
        }
    }

    private func resolveProvided(_ provided: [String: Tensor]?) throws -> [UnsafeBufferPointer<Float>?]? {
        try provided.map(resolve)
    }

    /// The gradient of each parameter (in parameter order, `nil` when absent) after checking
    /// shapes; a path no parameter has throws `unknownPath` (the first in sorted order).
    private func resolve(_ gradients: [String: Tensor]) throws -> [UnsafeBufferPointer<Float>?] {
        var row = [UnsafeBufferPointer<Float>?](repeating: nil, count: parameters.count)
        var matched = 0
        for (i, p) in parameters.enumerated() {
            guard let g = gradients[p.path] else { continue }
            guard g.shape == p.parameter.shape else {
                throw OptimizerError.shapeMismatch(path: p.path, expected: p.parameter.shape, actual: g.shape)
            }
            row[i] = g.unsafeStorage()
            matched += 1
        }
        if matched != gradients.count, let unknown = gradients.keys.filter({ indexByPath[$0] == nil }).min() {
            throw OptimizerError.unknownPath(path: unknown)
        }
        return row
    }

    private func run(objectives: [[UnsafeBufferPointer<Float>?]], provided: [UnsafeBufferPointer<Float>?]?,
                     learningRateScale: Float) throws {
        guard learningRateScale.isFinite, learningRateScale >= 0 else {
            throw OptimizerError.invalidHyperparameter(key: "lr_scale", value: "\(learningRateScale)", allowed: "[0, ∞)")
        }
        // 1. Check everything before changing anything (one parallel read of every input).
        var skip = [Bool](repeating: false, count: runtimes.count)
        for (gi, rt) in runtimes.enumerated() {
            if rt.transform.usesProvidedGradient && provided == nil {
                throw OptimizerError.missingProvidedGradient(group: rt.group.name, step: rt.step + 1)
            }
            var buffers: [(UnsafeBufferPointer<Float>, Int)] = []
            for i in rt.indices {
                for row in objectives { if let g = row[i] { buffers.append((g, i)) } }
                if let g = provided?[i] { buffers.append((g, i)) }
            }
            if let bad = FiniteCheck.firstNonFinite(buffers, parallelThreshold: parallelThreshold) {
                if nonFinitePolicy == .throw {
                    throw OptimizerError.nonFiniteGradient(path: parameters[bad].path, group: rt.group.name, step: rt.step + 1)
                }
                skip[gi] = true
            }
        }
        if skip.contains(true) { skippedSteps += 1 }
        // 2. Update each group; a new θ that is not finite (from finite inputs) is reported.
        var nonFinite: (path: String, group: String, step: Int)?
        for (gi, rt) in runtimes.enumerated() where !skip[gi] {
            if let k = stepGroup(rt, objectives: objectives, provided: provided, learningRateScale: learningRateScale), nonFinite == nil {
                nonFinite = (rt.infos[k].path, rt.group.name, rt.step)
            }
        }
        if skip.contains(false) { stepCount += 1 }
        if let nonFinite { throw OptimizerError.nonFiniteUpdate(path: nonFinite.path, group: nonFinite.group, step: nonFinite.step) }
    }

    /// Steps one group; returns the index of a member whose new value is not finite.
    private func stepGroup(_ rt: GroupRuntime, objectives: [[UnsafeBufferPointer<Float>?]],
                           provided: [UnsafeBufferPointer<Float>?]?, learningRateScale: Float) -> Int? {
        let t = rt.step + 1
        let info = StepInfo(step: t, learningRateScale: learningRateScale)
        let raw = aggregate(rt, objectives: objectives, info: info)
        defer { rt.step = t }
        if let kernel = rt.kernel {
            // One pass per reduction, then one elementwise pass that reads g and writes θ.
            if rt.kernelPlan?.threads != Parallel.threads {
                rt.kernelPlan = KernelPlan(parameters: rt.infos, runner: kernel, threads: Parallel.threads, parallelThreshold: parallelThreshold)
            }
            let plan = rt.kernelPlan!
            rt.kernelTensors.removeAll(keepingCapacity: true)
            rt.inputs.removeAll(keepingCapacity: true)
            rt.outputs.removeAll(keepingCapacity: true)
            for (k, i) in rt.indices.enumerated() {
                let value = parameters[i].parameter.value.unsafeMutableStorage()
                let base = value.baseAddress ?? rt.emptyBuffer
                let g = raw[k].baseAddress ?? UnsafePointer(rt.emptyBuffer)
                rt.kernelTensors.append(KernelTensor(index: k, count: value.count, rows: plan.rows[k], segmentsPerRow: plan.segmentsPerRow[k],
                                                     rank: rt.ranks[k], value: UnsafePointer(base),
                                                     anchor: rt.anchors[k]?.unsafeStorage().baseAddress,
                                                     hasAnchor: rt.anchored[k], gradient: g,
                                                     providedGradient: provided.map { ($0[i] ?? zeroBuffer(rt, k)).baseAddress ?? g },
                                                     scratch: plan.scratch.map { $0 + plan.scratchOffsets[k] }))
                rt.inputs.append(g)
                rt.outputs.append(base)
            }
            let workers = max(1, plan.pieces.count)
            rt.flags.initialize(repeating: .max, count: workers)
            kernel.run(KernelRun(step: info, tensors: rt.kernelTensors, inputs: rt.inputs, outputs: rt.outputs, addsToValue: true,
                                 plan: plan, state: rt.groupState, nonFiniteOutput: rt.flags))
            let bad = (0..<workers).map { rt.flags[$0] }.min()!
            return bad == .max ? nil : bad
        }
        // Unfused: u ← g, every member over the group, θ ← θ + u.
        if rt.updates.isEmpty { rt.updates = rt.infos.map { Tensor(zeros: $0.shape) } }
        let values = rt.indices.map { parameters[$0].parameter.value.unsafeMutableStorage() }
        var slots: [TensorSlot] = []
        slots.reserveCapacity(rt.indices.count)
        for (k, i) in rt.indices.enumerated() {
            let u = rt.updates[k].unsafeMutableStorage()
            if let src = raw[k].baseAddress, let dst = u.baseAddress { dst.update(from: src, count: u.count) }
            let providedG: UnsafeBufferPointer<Float>? = provided.map { $0[i] ?? zeroBuffer(rt, k) }
            slots.append(TensorSlot(index: k, info: rt.infos[k], value: UnsafeBufferPointer(values[k]),
                                    anchorValues: rt.anchors[k]?.unsafeStorage(), gradient: raw[k], providedGradient: providedG,
                                    update: u, splitsAcrossCores: u.count >= GroupStep.largeTensorThreshold))
        }
        let group = GroupStep(info: info, slots: slots, parallelThreshold: parallelThreshold)
        rt.transform.update(group, state: rt.groupState)
        var bad: Int?
        for (k, slot) in slots.enumerated() {
            guard let th = values[k].baseAddress, let u = slot.update.baseAddress else { continue }
            var check: Float = 0
            for j in 0..<slot.count { th[j] += u[j]; check += th[j] - th[j] }
            if !(check == 0) && bad == nil { bad = k }
        }
        return bad
    }

    /// The group's aggregated raw gradient per member (the objective's own buffers when there
    /// is one objective and the plain sum).
    private func aggregate(_ rt: GroupRuntime, objectives: [[UnsafeBufferPointer<Float>?]], info: StepInfo) -> [UnsafeBufferPointer<Float>] {
        if objectives.count == 1 && rt.group.aggregator.isSum {
            return rt.indices.enumerated().map { k, i in objectives[0][i] ?? zeroBuffer(rt, k) }
        }
        var perObjective: [[UnsafeBufferPointer<Float>]] = []
        for row in objectives {
            perObjective.append(rt.indices.enumerated().map { k, i in row[i] ?? zeroBuffer(rt, k) })
        }
        if rt.aggregates.isEmpty { rt.aggregates = rt.infos.map { Tensor(zeros: $0.shape) } }
        let outs = rt.aggregates.indices.map { rt.aggregates[$0].unsafeMutableStorage() }
        rt.group.aggregator.aggregate(perObjective, into: outs, state: &rt.aggregatorState, step: info)
        return outs.map { UnsafeBufferPointer($0) }
    }

    private func zeroBuffer(_ rt: GroupRuntime, _ k: Int) -> UnsafeBufferPointer<Float> {
        if rt.zeros[k] == nil { rt.zeros[k] = Tensor(zeros: rt.infos[k].shape) }
        return rt.zeros[k]!.unsafeStorage()
    }
}
