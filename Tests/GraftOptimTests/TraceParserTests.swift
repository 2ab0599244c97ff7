import Foundation
import Testing
import GraftOptim
import GraftTensor

/// Hostile `graft-trace/1` inputs: each is rejected with a `TraceError` whose location names
/// the place in the file (the `graft replay` CLI prints exactly that message and exits 1).
@Suite("Trace parser")
struct TraceParserTests {
    /// A small valid trace touching every section; each case breaks one thing in it.
    static let valid = """
        {"format": "graft-trace/1", "description": "parser test",
         "parameters": [
          {"path": "w", "shape": [2, 2], "value": [1, 2, 3, 4]},
          {"path": "lora", "shape": [2], "value": [0.5, -0.5], "anchor": "zero"},
          {"path": "b", "shape": [2], "value": [0.5, -0.5], "anchor": "none"},
          {"path": "e", "shape": [1], "value": [2], "anchor": [1]}
         ],
         "groups": [
          {"name": "main", "select": ["w", "e"], "recipe": {"method": "l2sp", "lr": 0.1, "alpha": 0.01, "base": {"method": "sgd", "momentum": 0.9}}},
          {"name": "rest", "select": ["*"], "recipe": {"method": "chain", "lr": 0.1, "transforms": [
             {"transform": "clip_by_global_norm", "max_norm": 1}, {"transform": "adam"}, {"transform": "scale_by_learning_rate"}]}}
         ],
         "steps": [
          {"gradients": [{"w": [1, 1, 1, 1], "b": [1, -1], "lora": [0, 1], "e": [1]}]},
          {"gradients": [{"w": [0, 1, 0, 1]}, {"b": [2, 2]}], "lr_scale": 0.5}
         ]}
        """

    static func root() -> Any { try! JSONSerialization.jsonObject(with: Data(valid.utf8)) }

    /// Returns `value` with the element at `path` (keys and indices) replaced by `new`, or removed when `new` is nil.
    static func setting(_ value: Any, _ path: ArraySlice<Substring>, _ new: Any?) -> Any {
        guard let head = path.first else { return new as Any }
        if var object = value as? [String: Any] {
            let key = String(head)
            if path.count == 1 { object[key] = new } else { object[key] = setting(object[key] as Any, path.dropFirst(), new) }
            return object
        }
        if let index = Int(head), var array = value as? [Any] {
            array[index] = setting(array[index], path.dropFirst(), new)
            return array
        }
        fatalError("bad path \(path)")
    }

    struct Case: Sendable, CustomStringConvertible {
        let name: String
        /// The expected error location (exact) and a fragment of the message.
        let location: String
        let message: String
        /// Edits of the valid trace: a dotted path (`groups.0.recipe.lr`) and the new value as JSON
        /// text (`nil` removes the key).
        let edits: [(path: String, json: String?)]
        let raw: String?
        var description: String { name }

        init(_ name: String, at location: String, _ message: String, _ edits: [(path: String, json: String?)] = [], raw: String? = nil) {
            self.name = name
            self.location = location
            self.message = message
            self.edits = edits
            self.raw = raw
        }

        func data() throws -> Data {
            if let raw { return Data(raw.utf8) }
            var r = TraceParserTests.root()
            for e in edits {
                let value = try e.json.map { try JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }
                r = TraceParserTests.setting(r, e.path.split(separator: ".")[...], value)
            }
            return try JSONSerialization.data(withJSONObject: r)
        }
    }

    static let l2sp = "groups.0.recipe"
    static let chainRecipe = "groups.1.recipe"

    /// Rejected by `GradientTrace(data:)`.
    static let parseCases: [Case] = [
        Case("bad JSON", at: "", "not valid JSON", raw: "{\"format\": \"graft-trace/1\", "),
        Case("not an object", at: "", "expected an object", raw: "[1, 2]"),
        Case("wrong format", at: "format", "graft-trace/2", [("format", #""graft-trace/2""#)]),
        Case("missing format", at: "format", "required key is missing", [("format", nil)]),
        Case("unknown top-level key", at: "extra", "unknown key", [("extra", "1")]),
        Case("unknown key in a parameter", at: "parameters[1].colour", "unknown key", [("parameters.1.colour", #""red""#)]),
        Case("unknown key in a group", at: "groups[1].lr", "unknown key", [("groups.1.lr", "0.1")]),
        Case("unknown key in a recipe", at: "groups[0].recipe.momentun", "unknown key", [(l2sp + ".momentun", "0.9")]),
        Case("unknown key in a base", at: "groups[0].recipe.base.nesterow", "unknown key", [(l2sp + ".base.nesterow", "true")]),
        Case("unknown key in a chain member", at: "groups[1].recipe.transforms[1].beta1", "unknown key",
             [(chainRecipe + ".transforms.1.beta1", "0.9")]),
        Case("unknown chain transform", at: "groups[1].recipe.transforms[0].transform", "clip_by_global_norm",
             [(chainRecipe + ".transforms.0.transform", #""clip_by_norm""#)]),
        Case("unknown key in a step", at: "steps[1].lr_scal", "unknown key", [("steps.1.lr_scal", "0.5")]),
        Case("value count mismatch", at: "parameters[0].value", "needs 4 numbers, got 3", [("parameters.0.value", "[1, 2, 3]")]),
        Case("gradient count mismatch", at: "steps[1].gradients[0][\"w\"]", "needs 4 numbers, got 5",
             [("steps.1.gradients.0.w", "[1, 2, 3, 4, 5]")]),
        Case("explicit anchor count mismatch", at: "parameters[3].anchor", "needs 1 numbers, got 2", [("parameters.3.anchor", "[1, 2]")]),
        Case("unknown anchor kind", at: "parameters[2].anchor", "expected", [("parameters.2.anchor", #""pretrained""#)]),
        Case("negative dimension", at: "parameters[0].shape[0]", "whole number", [("parameters.0.shape", "[-2, -2]")]),
        Case("fractional dimension", at: "parameters[0].shape[1]", "1.5", [("parameters.0.shape", "[2, 1.5]")]),
        Case("dimension beyond Int32", at: "parameters[0].shape[0]", "whole number", [("parameters.0.shape", "[4294967296, 1]")]),
        Case("element count overflow", at: "parameters[0].shape", "overflow",
             [("parameters.0.shape", "[2147483647, 2147483647, 2147483647]")]),
        Case("huge shape without data", at: "parameters[0].value", "got 4", [("parameters.0.shape", "[2147483647, 2147483647]")]),
        Case("non-numeric dimension", at: "parameters[0].shape[0]", "expected a number", [("parameters.0.shape", #"["2", 2]"#)]),
        Case("boolean as a number", at: "parameters[0].value[2]", "expected a number", [("parameters.0.value", "[1, 2, true, 4]")]),
        Case("duplicate path", at: "parameters[2].path", "duplicate path", [("parameters.2.path", #""lora""#)]),
        Case("empty path", at: "parameters[0].path", "empty path", [("parameters.0.path", #""""#)]),
        Case("no parameters", at: "parameters", "at least one", [("parameters", "[]")]),
        Case("no groups", at: "groups", "at least one", [("groups", "[]")]),
        Case("empty select", at: "groups[0].select", "at least one", [("groups.0.select", "[]")]),
        Case("select not strings", at: "groups[0].select[1]", "expected a string", [("groups.0.select", #"["w", 3]"#)]),
        Case("missing group name", at: "groups[1].name", "required key is missing", [("groups.1.name", nil)]),
        Case("unknown path in gradients", at: "steps[0].gradients[0][\"v\"]", "unknown parameter path", [("steps.0.gradients.0.v", "[1]")]),
        Case("no objectives", at: "steps[0].gradients", "at least one objective", [("steps.0.gradients", "[]")]),
        Case("negative lr_scale", at: "steps[1].lr_scale", "≥ 0", [("steps.1.lr_scale", "-0.5")]),
        Case("missing lr", at: "groups[1].recipe.lr", "required key is missing", [(chainRecipe + ".lr", nil)]),
        Case("string lr", at: "groups[0].recipe.lr", "expected a number", [(l2sp + ".lr", #""0.1""#)]),
        Case("negative lr", at: "groups[0].recipe", "lr", [(l2sp + ".lr", "-0.1")]),
        Case("a base with lr", at: "groups[0].recipe.base.lr", "outer recipe's lr", [(l2sp + ".base.lr", "0.1")]),
        Case("a base that is not a step rule", at: "groups[0].recipe.base.method", "must be a step rule (sgd, adam, adamw, rmsprop, adagrad, radam, nadam, lion, lamb)",
             [(l2sp + ".base", #"{"method": "digrap", "mu": 1}"#)]),
        Case("missing base", at: "groups[0].recipe.base", "required key is missing", [(l2sp + ".base", nil)]),
        Case("missing alpha", at: "groups[0].recipe.alpha", "required key is missing", [(l2sp + ".alpha", nil)]),
        Case("unknown method", at: "groups[0].recipe.method", "unknown method \"adadelta\"", [(l2sp, #"{"method": "adadelta", "lr": 0.1}"#)]),
        Case("invalid base hyperparameter", at: "groups[0].recipe", "momentum", [(l2sp + ".base.momentum", "-0.9")]),
        Case("nesterov not a boolean", at: "groups[0].recipe.base.nesterov", "true or false", [(l2sp + ".base.nesterov", "1")]),
        Case("betas of the wrong length", at: "groups[0].recipe.betas", "two numbers", [(l2sp, #"{"method": "adam", "lr": 0.1, "betas": [0.9]}"#)]),
        Case("invalid beta", at: "groups[0].recipe", "betas[1]", [(l2sp, #"{"method": "adamw", "lr": 0.1, "betas": [0.9, 1.0]}"#)]),
        Case("digrap without mu", at: "groups[0].recipe.mu", "required key is missing", [(l2sp, #"{"method": "digrap", "lr": 0.1}"#)]),
        Case("digrap bad placement", at: "groups[0].recipe.placement", "middle",
             [(l2sp, #"{"method": "digrap", "lr": 0.1, "mu": 1, "placement": "middle"}"#)]),
        Case("digrap bad hypergradient", at: "groups[0].recipe.hypergradient", "cols",
             [(l2sp, #"{"method": "digrap", "lr": 0.1, "mu": 1, "hypergradient": "cols"}"#)]),
        Case("digrap negative omega", at: "groups[0].recipe", "omega", [(l2sp, #"{"method": "digrap", "lr": 0.1, "omega": -1}"#)]),
        Case("pcgrad bad order", at: "groups[0].recipe.order", "random",
             [(l2sp, #"{"method": "pcgrad", "lr": 0.1, "order": "random", "base": {"method": "sgd"}}"#)]),
        Case("pcgrad fractional seed", at: "groups[0].recipe.seed", "whole number",
             [(l2sp, #"{"method": "pcgrad", "lr": 0.1, "order": "shuffled", "seed": 1.5, "base": {"method": "sgd"}}"#)]),
        Case("pcgrad missing seed", at: "groups[0].recipe.seed", "required key is missing",
             [(l2sp, #"{"method": "pcgrad", "lr": 0.1, "order": "shuffled", "base": {"method": "sgd"}}"#)]),
        Case("ftp invalid k", at: "groups[0].recipe", "k", [(l2sp, #"{"method": "ftp", "lr": 0.1, "k": 2, "base": {"method": "adam"}}"#)]),
        Case("spd without lambda", at: "groups[0].recipe.lambda", "required key is missing", [(l2sp, #"{"method": "spd", "lr": 0.1}"#)]),
        Case("rmsprop invalid alpha", at: "groups[0].recipe", "alpha", [(l2sp, #"{"method": "rmsprop", "lr": 0.1, "alpha": 1.5}"#)]),
        Case("adagrad negative lr_decay", at: "groups[0].recipe", "lr_decay", [(l2sp, #"{"method": "adagrad", "lr": 0.1, "lr_decay": -1}"#)]),
        Case("nadam negative momentum_decay", at: "groups[0].recipe", "momentum_decay",
             [(l2sp, #"{"method": "nadam", "lr": 0.1, "momentum_decay": -0.1}"#)]),
        Case("radam decoupled not a boolean", at: "groups[0].recipe.decoupled_weight_decay", "true or false",
             [(l2sp, #"{"method": "radam", "lr": 0.1, "decoupled_weight_decay": 1}"#)]),
        Case("lion takes no eps", at: "groups[0].recipe.eps", "unknown key", [(l2sp, #"{"method": "lion", "lr": 0.1, "eps": 1e-8}"#)]),
        Case("lion base with lr", at: "groups[0].recipe.base.lr", "outer recipe's lr",
             [(l2sp + ".base", #"{"method": "lion", "lr": 0.1}"#)]),
        Case("muon fractional ns_steps", at: "groups[0].recipe.ns_steps", "whole number",
             [(l2sp, #"{"method": "muon", "lr": 0.1, "ns_steps": 2.5}"#)]),
        Case("adafactor d below 1", at: "groups[0].recipe", "d", [(l2sp, #"{"method": "adafactor", "lr": 0.1, "d": 0.5}"#)]),
        Case("invalid chain member hyperparameter", at: "groups[1].recipe.transforms[0]", "max_norm",
             [(chainRecipe + ".transforms.0.max_norm", "0")]),
        Case("chain member missing its key", at: "groups[1].recipe.transforms[0].max_norm", "required key is missing",
             [(chainRecipe + ".transforms.0.max_norm", nil)]),
        Case("chain member not an object", at: "groups[1].recipe.transforms[2]", "expected an object",
             [(chainRecipe + ".transforms.2", #""scale_by_learning_rate""#)]),
    ]

    /// Parsed fine, rejected by `TraceReplay` (groups and steps are checked against each other).
    static let replayCases: [Case] = [
        Case("a parameter no group selects", at: "groups", "\"b\" is selected by no group", [("groups.1.select", #"["lora"]"#)]),
        Case("duplicate group names", at: "groups", "'main'", [("groups.1.name", #""main""#)]),
        Case("a group that selects nothing new", at: "groups", "'rest'", [("groups.0.select", #"["*"]"#)]),
        Case("a step missing provided_gradient", at: "steps[1]", "provided_gradient",
             [(l2sp, #"{"method": "digrap", "lr": 0.1, "mu": 1, "hypergradient_source": "provided"}"#),
              ("steps.0.provided_gradient", #"{"w": [0, 0, 0, 0]}"#)]),
        Case("provided_gradient needed from the first step", at: "steps[0]", "provided_gradient",
             [(l2sp, #"{"method": "digrap", "lr": 0.1, "omega": 0.5, "hypergradient_source": "provided"}"#)]),
    ]

    static let parseNames = parseCases.map(\.name)
    static let replayNames = replayCases.map(\.name)

    @Test func theBaseTraceIsValid() throws {
        let trace = try GradientTrace(data: Data(Self.valid.utf8))
        #expect(trace.parameters.map(\.path) == ["w", "lora", "b", "e"])
        #expect(trace.parameters.map(\.anchor) == [.initial, .zero, .none, .initial])
        #expect(trace.parameters[3].explicitAnchor == tensor([1], [1]))
        #expect(trace.groups.map(\.recipe.method) == ["l2sp", "chain"])
        #expect(trace.steps.count == 2 && trace.steps[1].objectives.count == 2 && trace.steps[1].learningRateScale == 0.5)
        #expect(trace.description == "parser test")
        let replay = try TraceReplay(trace)
        #expect(replay.parameters.map(\.path) == ["w", "lora", "b", "e"])
        #expect(replay.parameters.allSatisfy { $0.value.isFinite })
        // The explicit anchor of "e" pulls it toward 1 through L2-SP; "b" missed one objective (zero gradient).
        #expect(replay.json().hasPrefix("{\"format\": \"graft-trace-result/1\""))
    }

    @Test("malformed trace rejected with its location", arguments: parseNames)
    func parseError(_ name: String) throws {
        let c = Self.parseCases.first { $0.name == name }!
        let data = try c.data()
        do {
            _ = try GradientTrace(data: data)
            Issue.record("\(name): accepted")
        } catch let e as TraceError {
            #expect(e.location == c.location, "\(name): location '\(e.location)' (\(e))")
            #expect(e.description.contains(c.message), "\(name): '\(e)' lacks '\(c.message)'")
            if !c.location.isEmpty { #expect(e.description.hasPrefix(c.location + ": ")) }
        }
    }

    @Test("inconsistent trace rejected on replay with its location", arguments: replayNames)
    func replayError(_ name: String) throws {
        let c = Self.replayCases.first { $0.name == name }!
        let trace = try GradientTrace(data: try c.data())
        do {
            _ = try TraceReplay(trace)
            Issue.record("\(name): accepted")
        } catch let e as TraceError {
            #expect(e.location == c.location, "\(name): location '\(e.location)' (\(e))")
            #expect(e.description.contains(c.message), "\(name): '\(e)' lacks '\(c.message)'")
        }
    }

    /// Every transform name of the `chain` recipe parses, and an unknown one lists them all.
    @Test func chainTransformNamesAllParse() throws {
        let members: [String: String] = [
            "add_decayed_weights": #"{"transform": "add_decayed_weights", "weight_decay": 0.01}"#,
            "anchor_decay": #"{"transform": "anchor_decay", "alpha": 0.1, "beta": 0.01}"#,
            "adam": #"{"transform": "adam", "betas": [0.9, 0.99], "eps": 1e-6, "amsgrad": true}"#,
            "momentum": #"{"transform": "momentum", "momentum": 0.9, "dampening": 0, "nesterov": true}"#,
            "scale": #"{"transform": "scale", "factor": 0.5}"#,
            "scale_by_learning_rate": #"{"transform": "scale_by_learning_rate", "lr": 0.01}"#,
            "clip_by_global_norm": #"{"transform": "clip_by_global_norm", "max_norm": 1}"#,
            "directional_projection": #"{"transform": "directional_projection", "mu": 0.5, "kappa": 1, "hypergradient": "flat", "hypergradient_source": "training"}"#,
            "trainable_projection": #"{"transform": "trainable_projection", "k": 0.5, "mu": 0.01}"#,
            "selective_projection_decay": #"{"transform": "selective_projection_decay", "lambda": 0.1}"#,
            "identity": #"{"transform": "identity"}"#,
            "rmsprop": #"{"transform": "rmsprop", "alpha": 0.9, "eps": 1e-6, "momentum": 0.5, "centered": true}"#,
            "adagrad": #"{"transform": "adagrad", "lr_decay": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-10}"#,
            "radam": #"{"transform": "radam", "betas": [0.9, 0.99], "eps": 1e-8}"#,
            "nadam": #"{"transform": "nadam", "betas": [0.9, 0.99], "eps": 1e-8, "momentum_decay": 0.004}"#,
            "lion": #"{"transform": "lion", "betas": [0.9, 0.99]}"#,
            "trust_ratio": #"{"transform": "trust_ratio", "trust_coefficient": 0.5, "min_norm": 0, "eps": 0}"#,
            "masked": #"{"transform": "masked", "select": ["*"], "rank_at_least": 1, "rank_at_most": 3, "transforms": [{"transform": "add_decayed_weights", "weight_decay": 0.01}, {"transform": "momentum", "momentum": 0.5}]}"#,
        ]
        #expect(Set(members.keys) == Set(TraceRecipe.chainTransformNames))
        let list = TraceRecipe.chainTransformNames.map { members[$0]! }.joined(separator: ", ")
        let text = Self.valid.replacingOccurrences(of: #"{"transform": "clip_by_global_norm", "max_norm": 1}, {"transform": "adam"}, {"transform": "scale_by_learning_rate"}"#,
                                                   with: list + #", {"transform": "directional_projection", "omega": 1}"#)
        #expect(text != Self.valid)
        let replay = try TraceReplay(try GradientTrace(data: Data(text.utf8)))
        #expect(replay.parameters.allSatisfy { $0.value.isFinite })
        #expect(replay.telemetry["lora"]?["omega"] != nil, "the chain's directional projection reports ω for the zero-anchored tensor")
    }

    /// `lr_scale` multiplies every group's learning rate at that step (how schedules are recorded).
    @Test func learningRateScaleMultipliesEveryGroup() throws {
        func replay(_ scale: Double, lr: Double) throws -> [Float] {
            let text = """
                {"format": "graft-trace/1", "parameters": [{"path": "a", "shape": [2], "value": [0, 0]}, {"path": "b", "shape": [1], "value": [0]}],
                 "groups": [{"name": "a", "select": ["a"], "recipe": {"method": "sgd", "lr": \(lr)}},
                            {"name": "b", "select": ["b"], "recipe": {"method": "sgd", "lr": \(2 * lr)}}],
                 "steps": [{"gradients": [{"a": [1, -2], "b": [1]}], "lr_scale": \(scale)}]}
                """
            return try TraceReplay(try GradientTrace(data: Data(text.utf8))).parameters.flatMap(\.value.scalars)
        }
        #expect(try replay(0.5, lr: 0.25) == [-0.125, 0.25, -0.25])
        #expect(try replay(1, lr: 0.125) == replay(0.5, lr: 0.25))
    }
}
