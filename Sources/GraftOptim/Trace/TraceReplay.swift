import Foundation
import GraftTensor

/// Replays a `GradientTrace`: builds the parameters, groups and recipes, applies every step's
/// gradients, and returns the final parameters with telemetry (`graft-trace-result/1`).
public struct TraceReplay {
    /// Final parameter values in trace order.
    public let parameters: [(path: String, value: Tensor)]
    /// Telemetry by path (parameters whose transforms report some).
    public let telemetry: [String: [String: Double]]

    /// Replays `trace`. Throws `TraceError` naming the group or step on any inconsistency,
    /// and naming the step and parameter when a step leaves a parameter (or, after the last
    /// step, a telemetry value) non-finite; nothing is returned partially.
    public init(_ trace: GradientTrace) throws {
        let run = try TraceRun(parameters: trace.parameters, groups: trace.groups)
        for (i, step) in trace.steps.enumerated() { try run.apply(step, index: i) }
        (parameters, telemetry) = try run.finish()
    }

    /// Parses and replays a trace read from `descriptor` (a file, a pipe, standard input) as a
    /// stream: each step is applied as soon as it is read and then dropped, so memory stays at
    /// the parameters and optimizer state plus one step, whatever the number of steps. Errors
    /// are those of `GradientTrace(data:)` and `init(_:)`; nothing is returned partially.
    public init(streamingFrom descriptor: Int32) throws {
        try self.init(input: JSONByteInput(descriptor: descriptor))
    }

    /// Parses and replays a trace held in memory, through the same streaming reader.
    public init(data: Data) throws {
        try self.init(input: JSONByteInput(bytes: [UInt8](data)))
    }

    private init(input: JSONByteInput) throws {
        var run: TraceRun?
        _ = try TraceStreamReader.read(input, header: { run = try TraceRun(parameters: $0.parameters, groups: $0.groups) },
                                       step: { i, step in try run!.apply(step, index: i) })
        (parameters, telemetry) = try run!.finish()
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
