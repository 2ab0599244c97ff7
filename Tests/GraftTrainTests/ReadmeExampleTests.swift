import Testing
import GraftNN
import GraftOptim
import GraftTensor

/// The README's "Composing optimizers" snippet, verbatim inside a test, so it keeps compiling
/// and doing what the README says.
@Suite struct ReadmeExampleTests {
    @Test func composingOptimizersSnippetRuns() throws {
        let model = try Sequential {
            try Sequential("body") {
                try Dense(4, 8, seed: 1)
                ReLU()
            }
            try Dense(8, 3, seed: 2).named("head")
        }
        model["head"]!.setAnchor(.none)
        // --- README snippet ---
        // DiGraP as the paper: projection on the raw gradient, then Adam, then the learning rate.
        let digrap = try chain {
            try DirectionalProjection(omega: .learned(mu: 0.5)).named("digrap")
            try ScaleByAdam().named("adam")
            try ScaleByLearningRate(Schedule(.warmupCosine(peak: 1e-3, warmupSteps: 100, totalSteps: 5_000, final: 0)))
        }
        // SGD with momentum and DiGraP projection before it (a Graft extension: the authors' code is Adam only).
        let sgdDigrap = try chain {
            try DirectionalProjection(omega: .fixed(1))
            try Momentum(momentum: 0.9)
            try ScaleByLearningRate(0.01)
        }
        let optimizer = try Optimizer(parameters: model.namedParameters(), groups: [
            ParameterGroup("backbone", selecting: .hasAnchor && .rank(2), transform: digrap),   // weight matrices
            ParameterGroup("biases", selecting: .suffix(".bias") && .hasAnchor, transform: try Recipes.adam(learningRate: 1e-3)),
        ], defaultGroup: ParameterGroup("head", selecting: .all, transform: try Recipes.adamW(learningRate: 1e-3)))

        try optimizer.step()                                    // one objective: each parameter's .gradient
        let omega = optimizer.state(of: "digrap", for: "body.0.weight", as: DirectionalProjection.TensorState.self)?.omega
        let telemetry = optimizer.telemetry(for: "body.0.weight")  // omega, cosine, projected_steps, hypergradient, …
        // --- end of snippet ---
        #expect(omega == 0)
        #expect(telemetry["omega"] == 0 && telemetry["projected_steps"] != nil)
        #expect(optimizer.group(of: "body.0.weight") == "backbone")
        #expect(optimizer.group(of: "body.0.bias") == "biases")
        #expect(optimizer.group(of: "head.weight") == "head" && optimizer.group(of: "head.bias") == "head")
        _ = sgdDigrap
    }
}
