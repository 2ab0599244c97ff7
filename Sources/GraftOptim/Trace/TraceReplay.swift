import Foundation
import GraftTensor

/// Replays a `GradientTrace`: builds the parameters, groups and recipes, applies every step's
/// gradients, and returns the final parameters with telemetry (`graft-trace-result/1`).
public struct TraceReplay {
    /// Final parameter values in trace order.
    public let parameters: [(path: String, value: Tensor)]
    /// Telemetry by path (parameters whose transforms report some).
    public let telemetry: [String: [String: Double]]

    /// Replays `trace`. Throws `TraceError` naming the group or step on any inconsistency;
    /// nothing is returned partially.
    public init(_ trace: GradientTrace) throws {
        let named = trace.parameters.map {
            NamedParameter(path: $0.path, parameter: Parameter($0.value, anchor: $0.anchor))
        }
        var groups: [ParameterGroup] = []
        for (i, g) in trace.groups.enumerated() {
            let selectors = g.select.map { ParameterSelector.glob($0) }
            do {
                groups.append(try ParameterGroup(g.name, selecting: selectors, aggregator: g.recipe.aggregator, transform: g.recipe.transform))
            } catch {
                throw TraceError("groups[\(i)]", "\(error)")
            }
        }
        var anchors: [String: Tensor] = [:]
        for p in trace.parameters { if let a = p.explicitAnchor { anchors[p.path] = a } }
        let optimizer: Optimizer
        do {
            optimizer = try Optimizer(parameters: named, groups: groups, anchors: anchors)
        } catch let e as OptimizerError {
            switch e {
            case let .unassignedParameter(path): throw TraceError("groups", "parameter \"\(path)\" is selected by no group")
            default: throw TraceError("groups", "\(e)")
            }
        }
        for (i, step) in trace.steps.enumerated() {
            do {
                try optimizer.step(objectives: step.objectives, learningRateScale: step.learningRateScale, providedGradients: step.provided)
            } catch let e as OptimizerError {
                if case let .missingProvidedGradient(group, _) = e {
                    throw TraceError("steps[\(i)]", "group \"\(group)\" uses hypergradient_source \"provided\" but the step has no provided_gradient")
                }
                throw TraceError("steps[\(i)]", "\(e)")
            }
        }
        parameters = named.map { ($0.path, $0.parameter.value) }
        var telemetry: [String: [String: Double]] = [:]
        for p in named {
            let t = optimizer.telemetry(for: p.path)
            if !t.isEmpty { telemetry[p.path] = t }
        }
        self.telemetry = telemetry
    }

    /// The result as `graft-trace-result/1` JSON, numbers with 9 significant digits (enough to
    /// round-trip a float32).
    public func json() -> String {
        var out = "{\"format\": \"graft-trace-result/1\",\n \"parameters\": {"
        out += parameters.enumerated().map { i, p in
            "\n  \(jsonString(p.path)): [" + p.value.scalars.map(formatFloat).joined(separator: ",") + "]"
        }.joined(separator: ",")
        out += "},\n \"telemetry\": {"
        out += parameters.compactMap { p -> String? in
            guard let t = telemetry[p.path] else { return nil }
            let fields = t.keys.sorted().map { "\(jsonString($0)): \(formatNumber(t[$0]!))" }.joined(separator: ", ")
            return "\n  \(jsonString(p.path)): {\(fields)}"
        }.joined(separator: ",")
        out += "}}\n"
        return out
    }
}

func formatFloat(_ x: Float) -> String {
    if x == 0 { return x.sign == .minus ? "-0" : "0" }
    return String(format: "%.9g", Double(x))
}

func formatNumber(_ x: Double) -> String {
    if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
    return String(format: "%.9g", x)
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for ch in s.unicodeScalars {
        switch ch {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default:
            if ch.value < 0x20 { out += String(format: "\\u%04x", ch.value) } else { out.unicodeScalars.append(ch) }
        }
    }
    return out + "\""
}
