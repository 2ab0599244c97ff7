import GraftTensor

/// What a step does when a gradient holds a NaN or an infinity.
public enum NonFinitePolicy: Sendable, Equatable {
    /// Throw `OptimizerError.nonFiniteGradient` before anything changes (the default).
    case `throw`
    /// Skip the step for every group whose gradients are not all finite (nothing of that group
    /// changes, its step count does not advance) and count it in `skippedSteps`.
    case skipStep
    /// Look for nothing before the step: the gradients are not scanned, so a NaN or an infinity
    /// reaches θ and the state of its tensor, as in PyTorch's optimizers. The step loop still
    /// tests every new θ (at no cost: the value is in a register), so when a non-finite gradient
    /// makes a new θ non-finite — it does for every built-in step rule: SGD, momentum, Adam and
    /// their relatives turn a NaN or ±∞ gradient into a NaN or ±∞ θ — the step throws
    /// `OptimizerError.nonFiniteUpdate` naming the first such tensor, *after* the change. Only for
    /// callers who already know their gradients are finite (an upstream check, a loss scaler):
    /// it saves the scan, one read of every gradient, about 4 of Adam's 28 bytes per parameter
    /// (≈ 14 % of its memory traffic once the state no longer fits in cache).
    case unchecked
}

/// Owns parameter groups, their chains, states and anchors, and steps them.
///
/// Parameters are assigned to the first group that selects them (then to `defaultGroup`);
/// parameters with `isTrainable == false` are never updated and keep no state. Each step
/// checks every input first (paths, shapes, finiteness) and only then updates, so a
/// thrown error leaves parameters and state exactly as they were (finiteness is not checked
/// first under `NonFinitePolicy.unchecked`, by request).
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
    /// The trained values set aside by `loadAveragedParameters()` (parameter index → value).
    var parameterBackup: [Int: Tensor]?
    /// Steps skipped by the `.skipStep` policy (per call, counted once).
    public private(set) var skippedSteps = 0
    /// What a step does with a parameter that has no gradient (groups may override it).
    public let missingGradients: MissingGradientPolicy

    /// Builds an optimizer.
    /// - Parameters:
    ///   - parameters: the model's parameters with their paths.
    ///   - groups: groups in priority order (first match wins).
    ///   - defaultGroup: the group of parameters no other group selects; without it such a
    ///     trainable parameter is an error.
    ///   - anchors: explicit anchors θ0 by path, overriding the snapshot of `.initial` anchors.
    ///   - nonFinitePolicy: what to do with NaN / Inf gradients.
    ///   - missingGradients: what to do with a parameter that has no gradient this step
    ///     (`.zero`, the default: step it with g = 0, so weight decay and momentum still move
    ///     it; `.skip`: PyTorch's `grad is None`, it and its state stay untouched). A group's
    ///     own `missingGradients` overrides it.
    /// - Throws: duplicate paths or group names, groups that select nothing or only parameters
    ///   taken earlier, unassigned parameters, mis-shaped explicit anchors.
    public init(parameters: [NamedParameter], groups: [ParameterGroup], defaultGroup: ParameterGroup? = nil,
                anchors explicitAnchors: [String: Tensor] = [:], nonFinitePolicy: NonFinitePolicy = .throw,
                missingGradients: MissingGradientPolicy = .zero) throws {
        self.parameters = parameters
        self.nonFinitePolicy = nonFinitePolicy
        self.missingGradients = missingGradients
        var indexByPath: [String: Int] = [:]
        for (i, p) in parameters.enumerated() {
            guard indexByPath.updateValue(i, forKey: p.path) == nil else { throw OptimizerError.duplicateParameter(path: p.path) }
        }
        for path in explicitAnchors.keys where indexByPath[path] == nil { throw OptimizerError.unknownPath(path: path) }
        self.indexByPath = indexByPath
        let allGroups = groups + (defaultGroup.map { [$0] } ?? [])
        var seen = Set<String>()
        for g in allGroups where !seen.insert(g.name).inserted { throw OptimizerError.duplicateGroup(group: g.name) }
        for g in allGroups {
            var names = Set<String>()
            for name in g.transform?.memberNames ?? [] where !names.insert(name).inserted {
                throw OptimizerError.duplicateMember(name: name, group: g.name)
            }
        }

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
                let frozen = parameters.indices.filter { !infos[$0].isTrainable && g.matches(infos[$0]) }
                if !frozen.isEmpty { throw OptimizerError.onlyFrozenParameters(group: g.name, paths: frozen.map { parameters[$0].path }) }
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
            runtimes.append(GroupRuntime(group: g, transform: transform, indices: members, parameters: members.map { parameters[$0].parameter },
                                         infos: members.map { infos[$0] }, anchors: anchors))
        }
        // (Each runtime gave every anchor its own storage: a later in-place update of the
        // parameter never touches it, and the copy happens once, at construction.)
        self.runtimes = runtimes
        self.placement = placement
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

    /// Takes the anchors θ0 again from the parameters' current values (or from `explicit`
    /// tensors by path): call it after loading pre-trained weights into the parameters of an
    /// optimizer built before the load, which otherwise anchors to the values it saw when it
    /// was built. Only anchors the optimizer stores change (parameters with an `.initial` or
    /// explicit anchor in groups whose chain uses anchors); zero anchors stay zero. Call it
    /// before the first step: state that refers to θ0 (DiGraP's previous direction) is kept.
    /// - Throws: `unknownPath` for an explicit path the optimizer does not know,
    ///   `shapeMismatch` for an explicit tensor of the wrong shape. Nothing changes then.
    public func retakeAnchors(_ explicit: [String: Tensor] = [:]) throws {
        for (path, tensor) in explicit {
            guard let i = indexByPath[path] else { throw OptimizerError.unknownPath(path: path) }
            let shape = parameters[i].parameter.shape
            guard tensor.shape == shape else { throw OptimizerError.shapeMismatch(path: path, expected: shape, actual: tensor.shape) }
        }
        for rt in runtimes where rt.transform.usesAnchors {
            for (k, i) in rt.indices.enumerated() {
                let p = parameters[i]
                if let tensor = explicit[p.path] {
                    rt.setAnchor(k, tensor)
                } else if rt.anchors[k] != nil {
                    rt.setAnchor(k, p.parameter.value)  // its own storage, never shared with the parameter
                }
            }
        }
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

    /// Telemetry of a parameter, or a typed error: `unknownPath` for a path that is not an
    /// updated parameter (where `telemetry(for:)` returns `[:]`, which a typo cannot be told from).
    public func requireTelemetry(for path: String) throws -> [String: Double] {
        guard let i = indexByPath[path], placement[i] != nil else { throw OptimizerError.unknownPath(path: path) }
        return telemetry(for: path)
    }

    /// A listing of every group, member and state tensor with shapes and bytes (PyTorch's
    /// `state_dict()` seen as a table): print it, or read `groups`.
    public func stateDescription() -> OptimizerStateDescription {
        OptimizerStateDescription(groups: runtimes.map { rt in
            let members = rt.members.enumerated().map { m, member in
                OptimizerStateDescription.Member(name: member.name, kind: member.kind, entries: rt.infos.enumerated().compactMap { k, info in
                    let layout = member.stateLayout(for: info)
                    guard !layout.tensors.isEmpty || !layout.scalars.isEmpty else { return nil }
                    return OptimizerStateDescription.Entry(path: info.path, tensors: layout.tensors.map { ($0.name, $0.shape) },
                                                           scalars: layout.scalars)
                })
            }
            let anchorBytes = rt.anchors.reduce(0) { $0 + ($1?.count ?? 0) * 4 }
            return OptimizerStateDescription.Group(name: rt.group.name, step: rt.step, parameters: rt.infos.map(\.path),
                                                   members: members, anchorBytes: anchorBytes)
        })
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

    /// Where a step's raw gradients come from.
    private enum Source {
        /// Each parameter's own `gradient`, already in each runtime's `gradients`.
        case own
        /// K objectives by parameter index (`nil`: the objective has no gradient for it).
        case objectives([[UnsafeBufferPointer<Float>?]])
    }

    /// One step with each parameter's own `gradient` (one objective).
    ///
    /// A parameter with `hasGradient == false` (never written since it was made or since
    /// `clearGradient()`) is stepped with a zero gradient under the `.zero` missing-gradient
    /// policy (the default) and left untouched, state included, under `.skip`.
    public func step(learningRateScale: Float = 1, providedGradients: [String: Tensor]? = nil) throws {
        try bindBuffers(gradients: true)
        try withExtendedLifetime(providedGradients) {
            try run(.own, provided: try resolveProvided(providedGradients), learningRateScale: learningRateScale)
        }
    }

    /// One step from K objective gradients by path. A path missing from an objective has a
    /// zero gradient there; a path missing from every objective has no gradient (stepped with
    /// zero under the `.zero` missing-gradient policy, untouched under `.skip`); a path the
    /// optimizer does not know, or a mis-shaped tensor, throws.
    public func step(objectives: [[String: Tensor]], learningRateScale: Float = 1,
                     providedGradients: [String: Tensor]? = nil) throws {
        guard !objectives.isEmpty else { throw OptimizerError.noObjectives }
        try bindBuffers(gradients: false)
        let resolved = try objectives.map(resolve)
        try withExtendedLifetime(objectives) {
            try withExtendedLifetime(providedGradients) {
                try run(.objectives(resolved), provided: try resolveProvided(providedGradients), learningRateScale: learningRateScale)
            }
        }
    }

    /// Binds every group's θ buffers (and, with `gradients`, each parameter's own gradient) for
    /// this step, checking shapes first: a `value` replaced by a tensor of another shape after
    /// the optimizer was built (its state and plan were made for the registered shape), or a
    /// gradient whose shape is not the value's, throws before anything changes.
    private func bindBuffers(gradients: Bool) throws {
        for rt in runtimes {
            let parameters = rt.parameters, unretained = rt.unretainedParameters, infos = rt.infos, shapes = rt.shapes
            try rt.values.withUnsafeMutableBufferPointer { values in
                try rt.gradients.withUnsafeMutableBufferPointer { grads in
                    for k in parameters.indices {
                        let b = unretained[k]._withUnsafeGuaranteedRef { $0.stepBuffers(registeredShape: shapes[k]) }
                        switch b.status {
                        case .ok:
                            values[k] = b.value
                            if gradients { grads[k] = b.gradient }
                        case .valueShapeChanged:
                            throw OptimizerError.shapeMismatch(path: infos[k].path, expected: infos[k].shape, actual: parameters[k].value.shape)
                        case .gradientShapeMismatch:
                            if gradients {
                                throw OptimizerError.shapeMismatch(path: infos[k].path, expected: infos[k].shape,
                                                                   actual: parameters[k].gradient.shape)
                            }
                            values[k] = parameters[k].value.unsafeMutableStorage()
                        }
                    }
                }
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

    /// The group's tensors (indices in the group) that have no gradient this step, when its
    /// missing-gradient policy is `.skip` (empty otherwise).
    private func missingTensors(_ rt: GroupRuntime, _ source: Source) -> [Int] {
        guard (rt.group.missingGradients ?? missingGradients) == .skip else { return [] }
        switch source {
        case .own:
            return rt.parameters.indices.filter { !rt.parameters[$0].hasGradient }
        case .objectives(let rows):
            return rt.indices.indices.filter { k in rows.allSatisfy { $0[rt.indices[k]] == nil } }
        }
    }

    private func run(_ source: Source, provided: [UnsafeBufferPointer<Float>?]?, learningRateScale: Float) throws {
        guard learningRateScale.isFinite, learningRateScale >= 0 else {
            throw OptimizerError.invalidHyperparameter(key: "lr_scale", value: "\(learningRateScale)", allowed: "[0, ∞)")
        }
        if parameterBackup != nil { throw OptimizerError.averagedParametersLoaded }
        // 1. Check everything before changing anything (one parallel read of every input).
        var skip = [Bool](repeating: false, count: runtimes.count)
        var missing = [[Int]](repeating: [], count: runtimes.count)
        var skippedNonFinite = false
        for (gi, rt) in runtimes.enumerated() {
            if rt.transform.usesProvidedGradient && provided == nil {
                throw OptimizerError.missingProvidedGradient(group: rt.group.name, step: rt.step + 1)
            }
            missing[gi] = missingTensors(rt, source)
            if missing[gi].count == rt.infos.count { skip[gi] = true; continue }  // nothing to do: t does not advance
            let bad: Int?
            switch source {
            case _ where nonFinitePolicy == .unchecked:
                bad = nil
            case .own where provided == nil:
                bad = rt.gradients.withUnsafeBufferPointer { g in
                    FiniteCheck.firstNonFinite(count: g.count, parallelThreshold: parallelThreshold) { g[$0] }
                }.map { rt.indices[$0] }
            default:
                var buffers: [(UnsafeBufferPointer<Float>, Int)] = []
                buffers.reserveCapacity(rt.indices.count * 2)
                for (k, i) in rt.indices.enumerated() {
                    switch source {
                    case .own: buffers.append((rt.gradients[k], i))
                    case .objectives(let rows): for row in rows { if let g = row[i] { buffers.append((g, i)) } }
                    }
                    if let g = provided?[i] { buffers.append((g, i)) }
                }
                bad = FiniteCheck.firstNonFinite(count: buffers.count, parallelThreshold: parallelThreshold) { buffers[$0].0 }
                    .map { buffers[$0].1 }
            }
            if let bad {
                if nonFinitePolicy == .throw {
                    throw OptimizerError.nonFiniteGradient(path: parameters[bad].path, group: rt.group.name, step: rt.step + 1)
                }
                skip[gi] = true
                skippedNonFinite = true
            }
        }
        if skippedNonFinite { skippedSteps += 1 }
        // 2. Update each group; a new θ that is not finite (from finite inputs) is reported.
        var nonFinite: (path: String, group: String, step: Int)?
        var stepped = false
        for (gi, rt) in runtimes.enumerated() where !skip[gi] {
            stepped = true
            let bad = withUntouched(rt, missing[gi]) {
                stepGroup(rt, source: source, provided: provided, learningRateScale: learningRateScale)
            }
            if let k = bad, nonFinite == nil { nonFinite = (rt.infos[k].path, rt.group.name, rt.step) }
        }
        if stepped { stepCount += 1 }
        if let nonFinite { throw OptimizerError.nonFiniteUpdate(path: nonFinite.path, group: nonFinite.group, step: nonFinite.step) }
    }

    /// Runs `body` (a group step) and then puts back θ and every member's state of the tensors
    /// in `untouched` (those without a gradient under `.skip`), so they end exactly as they
    /// were; a non-finite result of such a tensor is not reported.
    private func withUntouched(_ rt: GroupRuntime, _ untouched: [Int], _ body: () -> Int?) -> Int? {
        guard !untouched.isEmpty else { return body() }
        var saved: [(value: [Float], tensors: [[Float]], scalars: [[Double]])] = []
        for k in untouched {
            let views = rt.storages.map { $0.view(k) }
            saved.append((Array(rt.parameters[k].value.unsafeStorage()),
                          views.map { v in (0..<v.tensorCount).flatMap { Array(v.tensorBuffer($0)) } },
                          views.map { v in (0..<v.scalarCount).map { v[scalar: $0] } }))
        }
        let bad = body()
        for (s, k) in zip(saved, untouched) {
            rt.parameters[k].value.withUnsafeMutableBufferPointer { v in _ = v.update(from: s.value) }
            for (m, storage) in rt.storages.enumerated() {
                let v = storage.view(k)
                var offset = 0
                for j in 0..<v.tensorCount {
                    let b = v.tensorBuffer(j)
                    for e in 0..<b.count { b[e] = s.tensors[m][offset + e] }
                    offset += b.count
                }
                for j in 0..<v.scalarCount { v[scalar: j] = s.scalars[m][j] }
            }
        }
        let skipped = Set(untouched)
        return bad.flatMap { skipped.contains($0) ? nil : $0 }
    }

    /// Steps one group; returns the index of a member whose new value is not finite.
    private func stepGroup(_ rt: GroupRuntime, source: Source, provided: [UnsafeBufferPointer<Float>?]?,
                           learningRateScale: Float) -> Int? {
        let t = rt.step + 1
        let info = StepInfo(step: t, learningRateScale: learningRateScale)
        let raw = aggregate(rt, source: source, info: info)
        defer { rt.step = t }
        if let kernel = rt.kernel {
            // One pass per reduction, then one elementwise pass that reads g and writes θ.
            if rt.kernelPlan?.threads != Parallel.threads {
                rt.kernelPlan = KernelPlan(parameters: rt.infos, runner: kernel, threads: Parallel.threads, parallelThreshold: parallelThreshold)
            }
            let plan = rt.kernelPlan!
            let n = rt.infos.count
            if rt.kernelTensors.count != n {
                let e = rt.emptyBuffer
                rt.kernelTensors = [KernelTensor](repeating: KernelTensor(index: 0, count: 0, rows: 1, segmentsPerRow: 0, rank: 1, value: e, anchor: nil,
                                                                          hasAnchor: false, gradient: e, providedGradient: nil, scratch: nil), count: n)
                rt.inputs = [UnsafePointer<Float>](repeating: UnsafePointer(e), count: n)
                rt.outputs = [UnsafeMutablePointer<Float>](repeating: e, count: n)
            }
            // Everything read per tensor, in locals (one retain per step, not per tensor).
            let values = rt.values, rows = plan.rows, segmentsPerRow = plan.segmentsPerRow, ranks = rt.ranks
            let anchored = rt.anchored, anchors = rt.anchorPointers, offsets = plan.scratchOffsets, scratch = plan.scratch
            let indices = rt.indices, empty = rt.emptyBuffer
            rt.kernelTensors.withUnsafeMutableBufferPointer { tensors in
                rt.inputs.withUnsafeMutableBufferPointer { inputs in
                    rt.outputs.withUnsafeMutableBufferPointer { outputs in
                        for k in 0..<n {
                            let value = values[k]
                            let base = value.baseAddress ?? empty
                            let g = raw[k].baseAddress ?? UnsafePointer(empty)
                            tensors[k] = KernelTensor(index: k, count: value.count, rows: rows[k], segmentsPerRow: segmentsPerRow[k],
                                                      rank: ranks[k], value: UnsafePointer(base), anchor: anchors[k],
                                                      hasAnchor: anchored[k], gradient: g,
                                                      providedGradient: provided.map { ($0[indices[k]] ?? zeroBuffer(rt, k)).baseAddress ?? g },
                                                      scratch: scratch.map { $0 + offsets[k] })
                            inputs[k] = g
                            outputs[k] = base
                        }
                    }
                }
            }
            let workers = max(1, plan.pieces.count)
            rt.flags.initialize(repeating: .max, count: workers)
            kernel.run(KernelRun(step: info, tensors: rt.kernelTensors, inputs: rt.inputs, outputs: rt.outputs, addsToValue: true,
                                 plan: plan, state: rt.groupState, nonFiniteOutput: rt.flags))
            var bad = Int.max
            for w in 0..<workers { bad = min(bad, rt.flags[w]) }
            return bad == .max ? nil : bad
        }
        // Unfused: u ← g, every member over the group, θ ← θ + u.
        if rt.updates.isEmpty { rt.updates = rt.infos.map { Tensor(zeros: $0.shape) } }
        let values = rt.values
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
    private func aggregate(_ rt: GroupRuntime, source: Source, info: StepInfo) -> [UnsafeBufferPointer<Float>] {
        let perObjective: [[UnsafeBufferPointer<Float>]]
        switch source {
        case .own:
            if rt.group.aggregator.isSum { return rt.gradients }
            perObjective = [rt.gradients]
        case .objectives(let rows):
            if rows.count == 1 && rt.group.aggregator.isSum {
                return rt.indices.enumerated().map { k, i in rows[0][i] ?? zeroBuffer(rt, k) }
            }
            perObjective = rows.map { row in rt.indices.enumerated().map { k, i in row[i] ?? zeroBuffer(rt, k) } }
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
