import GraftTensor

/// One replay in progress: the optimizer built from a trace's parameters and groups, fed one
/// step at a time (`TraceReplay` drives it from a parsed trace or from a stream).
final class TraceRun {
    private let named: [NamedParameter]
    private let optimizer: Optimizer
    private var stepCount = 0

    /// Builds the parameters, groups and optimizer. Throws `TraceError` naming the group.
    init(parameters: [GradientTrace.TraceParameter], groups traceGroups: [GradientTrace.TraceGroup]) throws {
        named = parameters.map {
            NamedParameter(path: $0.path, parameter: Parameter($0.value, anchor: $0.anchor))
        }
        var groups: [ParameterGroup] = []
        for (i, g) in traceGroups.enumerated() {
            let selectors = g.select.map { ParameterSelector.glob($0) }
            do {
                groups.append(try ParameterGroup(g.name, selecting: selectors, aggregator: g.recipe.aggregator, transform: g.recipe.transform))
            } catch {
                throw TraceError("groups[\(i)]", "\(error)")
            }
        }
        var anchors: [String: Tensor] = [:]
        for p in parameters { if let a = p.explicitAnchor { anchors[p.path] = a } }
        do {
            optimizer = try Optimizer(parameters: named, groups: groups, anchors: anchors)
        } catch let e as OptimizerError {
            switch e {
            case let .unassignedParameter(path): throw TraceError("groups", "parameter \(jsonString(path)) is selected by no group")
            default: throw TraceError("groups", "\(e)")
            }
        }
    }

    /// Applies step `index`; throws when the optimizer refuses it or when it leaves a
    /// parameter non-finite (an update that overflows float32), naming the parameter.
    func apply(_ step: GradientTrace.TraceStep, index i: Int) throws {
        do {
            try optimizer.step(objectives: step.objectives, learningRateScale: step.learningRateScale, providedGradients: step.provided)
        } catch let e as OptimizerError {
            if case let .missingProvidedGradient(group, _) = e {
                throw TraceError("steps[\(i)]", "group \(jsonString(group)) uses hypergradient_source \"provided\" but the step has no provided_gradient")
            }
            throw TraceError("steps[\(i)]", "\(e)")
        }
        stepCount = i + 1
        for p in named {
            let finite = p.parameter.value.withUnsafeBufferPointer { Vector.allFinite($0) }
            guard finite else {
                let bad = p.parameter.value.scalars.firstIndex { !$0.isFinite } ?? 0
                throw TraceError("steps[\(i)]", "the step made parameter \(jsonString(p.path)) non-finite "
                                 + "(element \(bad) = \(p.parameter.value.scalars[bad])): the update overflows float32")
            }
        }
    }

    /// The final parameters and telemetry; throws when a telemetry value is not finite.
    func finish() throws -> (parameters: [(path: String, value: Tensor)], telemetry: [String: [String: Double]]) {
        var telemetry: [String: [String: Double]] = [:]
        for p in named {
            let t = optimizer.telemetry(for: p.path)
            for key in t.keys.sorted() where !t[key]!.isFinite {
                throw TraceError("steps[\(max(stepCount - 1, 0))]", "telemetry \(key) of parameter \(jsonString(p.path)) is \(t[key]!) after the last step")
            }
            if !t.isEmpty { telemetry[p.path] = t }
        }
        return (named.map { ($0.path, $0.parameter.value) }, telemetry)
    }
}
