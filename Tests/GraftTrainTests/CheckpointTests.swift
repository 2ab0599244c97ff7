import Foundation
import Testing
import GraftOptim
import GraftSafetensors
import GraftTensor
@testable import GraftTrain

/// Resume and crash-safety of whole training states (issue: reliability).
@Suite struct CheckpointTests {
    /// A small model: anchored body, a zero-anchored adapter, an unanchored head.
    static func parameters() -> [NamedParameter] {
        var g = SeededGenerator(seed: 11)
        return [("body.weight", [4, 3], AnchorKind.initial), ("body.bias", [4], .initial),
                ("adapter.a", [2, 3], .zero), ("head.weight", [2, 4], .none)].map { path, shape, anchor in
            NamedParameter(path: path, parameter: Parameter(Tensor.randomNormal(shape: shape, generator: &g), anchor: anchor))
        }
    }

    /// Deterministic gradients that depend on the step and on the current values (so a wrong
    /// restore changes everything after it): objective k of step t.
    static func gradients(_ params: [NamedParameter], step t: Int, objectives: Int) -> [[String: Tensor]] {
        (0..<objectives).map { k in
            var g = SeededGenerator(seed: UInt64(t * 31 + k))
            var out: [String: Tensor] = [:]
            for p in params {
                var noise = Tensor.randomNormal(shape: p.parameter.shape, generator: &g)
                try! noise.addScaled(p.parameter.value, by: k == 0 ? 0.3 : -0.2)
                out[p.path] = noise
            }
            return out
        }
    }

    static let recipes: [(String, Int, @Sendable () throws -> ParameterGroup)] = [
        ("adam", 1, { try ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: 0.01)) }),
        ("digrap-learned", 1, { try ParameterGroup("all", selecting: .all, transform: try Recipes.digrap(learningRate: 0.01, omega: .learned(mu: 0.5))) }),
        ("pcgrad-shuffled", 3, {
            let r = try Recipes.pcgrad(learningRate: 0.05, granularity: .tensor, order: .shuffled(seed: 5), base: .sgd(momentum: 0.9))
            return try ParameterGroup("all", selecting: .all, aggregator: r.aggregator, transform: r.transform)
        }),
        ("ftp", 1, { try ParameterGroup("all", selecting: .all, transform: try Recipes.ftp(learningRate: 0.01, base: .adam())) }),
    ]

    @Test(arguments: recipes.indices)
    func resumeIsBitIdentical(_ which: Int) throws {
        let (name, k, makeGroup) = Self.recipes[which]
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let url = dir.file("\(name).ckpt")
        let n = 6

        // Run A: 2n steps straight through, checkpointing after n.
        let paramsA = Self.parameters()
        let optA = try Optimizer(parameters: paramsA, groups: [try makeGroup()])
        for t in 1...n { try optA.step(objectives: Self.gradients(paramsA, step: t, objectives: k)) }
        try TrainingCheckpoint(parameters: paramsA, optimizer: optA, metadata: ["step": "\(n)"]).write(to: url)
        for t in (n + 1)...(2 * n) { try optA.step(objectives: Self.gradients(paramsA, step: t, objectives: k)) }

        // Run B: a fresh model and optimizer, restored from the file, then n steps.
        let paramsB = Self.parameters()
        let optB = try Optimizer(parameters: paramsB, groups: [try makeGroup()])
        let checkpoint = try TrainingCheckpoint.read(from: url)
        #expect(checkpoint.metadata["step"] == "\(n)")
        try checkpoint.restore(into: paramsB, optimizer: optB)
        for t in (n + 1)...(2 * n) { try optB.step(objectives: Self.gradients(paramsB, step: t, objectives: k)) }

        for (a, b) in zip(paramsA, paramsB) {
            #expect(a.parameter.value.scalars.map(\.bitPattern) == b.parameter.value.scalars.map(\.bitPattern), "\(name): \(a.path)")
        }
        #expect(try optA.snapshot() == optB.snapshot(), "\(name): optimizer state")
        // And the run without the restore really differs (the test can fail).
        let paramsC = Self.parameters()
        let optC = try Optimizer(parameters: paramsC, groups: [try makeGroup()])
        for t in (n + 1)...(2 * n) { try optC.step(objectives: Self.gradients(paramsC, step: t, objectives: k)) }
        #expect(paramsC[0].parameter.value != paramsA[0].parameter.value)
    }

    @Test func interruptedWritesLeaveThePreviousCheckpointLoadable() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let url = dir.file("train.ckpt")
        let params = Self.parameters()
        let opt = try Optimizer(parameters: params, groups: [try Self.recipes[1].2()])
        try opt.step(objectives: Self.gradients(params, step: 1, objectives: 1))
        let first = try TrainingCheckpoint(parameters: params, optimizer: opt)
        try first.write(to: url)
        try opt.step(objectives: Self.gradients(params, step: 2, objectives: 1))
        let next = try TrainingCheckpoint(parameters: params, optimizer: opt).archive().encoded()
        // A crash at random points of the next write: the temporary file holds a prefix and
        // the rename never happened.
        var g = SeededGenerator(seed: 1)
        for _ in 0..<20 {
            let cut = g.next(below: next.count)
            try Data(next[0..<cut]).write(to: dir.file(".train.ckpt.tmp-crash"))
            #expect(try TrainingCheckpoint.read(from: url) == first)
            // A file that did get replaced by a truncated copy is refused, not half-loaded.
            #expect(throws: ArchiveError.self) { try TensorArchive(decoding: Array(next[0..<cut]), file: "cut") }
        }
        // A flipped byte anywhere is refused.
        var damaged = try FileBytes.read(url)
        damaged[damaged.count / 2] ^= 0x01
        try Data(damaged).write(to: url)
        #expect(throws: ArchiveError.checksumMismatch(file: url.path)) { try TrainingCheckpoint.read(from: url) }
    }

    @Test func failedRestoreChangesNothing() throws {
        let params = Self.parameters()
        let opt = try Optimizer(parameters: params, groups: [try Self.recipes[0].2()])
        try opt.step(objectives: Self.gradients(params, step: 1, objectives: 1))
        var checkpoint = try TrainingCheckpoint(parameters: params, optimizer: opt)

        let target = Self.parameters()
        let targetOpt = try Optimizer(parameters: target, groups: [try Self.recipes[0].2()])
        let before = (target.map(\.parameter.value), try targetOpt.snapshot())
        func unchanged() throws -> Bool { try target.map(\.parameter.value) == before.0 && targetOpt.snapshot() == before.1 }

        // A mis-shaped parameter.
        var bad = checkpoint
        bad.parameters["body.bias"] = Tensor(zeros: [5])
        #expect(throws: CheckpointError.shapeMismatch(path: "body.bias", expected: [4], found: [5])) {
            try bad.restore(into: target, optimizer: targetOpt)
        }
        #expect(try unchanged())
        // A missing parameter.
        bad = checkpoint
        bad.parameters["head.weight"] = nil
        #expect(throws: CheckpointError.missingParameter(path: "head.weight")) { try bad.restore(into: target, optimizer: targetOpt) }
        #expect(try unchanged())
        // An optimizer state from another chain (parameters are checked first but must not be written).
        let otherOpt = try Optimizer(parameters: Self.parameters(), groups: [try Self.recipes[3].2()])
        checkpoint.optimizer = try otherOpt.snapshot()
        #expect(throws: RestoreError.self) { try checkpoint.restore(into: target, optimizer: targetOpt) }
        #expect(try unchanged())
        // Another group layout.
        let split = try Optimizer(parameters: Self.parameters(), groups: [
            try ParameterGroup("body", selecting: .prefix("body."), transform: try Recipes.adam(learningRate: 0.01)),
            try ParameterGroup("rest", selecting: .all, transform: try Recipes.adam(learningRate: 0.01)),
        ])
        checkpoint.optimizer = try split.snapshot()
        #expect(throws: RestoreError.groupMismatch(expected: ["all"], found: ["body", "rest"])) {
            try checkpoint.restore(into: target, optimizer: targetOpt)
        }
        #expect(try unchanged())
    }
}

@Suite("Optimizer state export")
struct OptimizerStateExportTests {
    @Test func adamStateExportsUnderReadableNames() throws {
        let p = NamedParameter(path: "head.weight", parameter: Parameter(try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])))
        let o = try Optimizer(parameters: [p], groups: [ParameterGroup("head", selecting: .all, transform: try Recipes.adam(learningRate: 0.1))])
        p.parameter.gradient = try Tensor(shape: [2, 2], scalars: [0.5, -1, 2, 0])
        try o.step()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("graft-opt-\(UInt32.random(in: 0...UInt32.max)).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try o.exportStateSafetensors(to: url)
        let (tensors, metadata) = try Safetensors.read(path: url.path)
        let adam = try #require(o.state(of: "adam", for: "head.weight", as: ScaleByAdam.TensorState.self))
        #expect(tensors["head/adam/head.weight/m"] == adam.m)
        #expect(tensors["head/adam/head.weight/v"] == adam.v)
        #expect(metadata["graft.group.head.step"] == "1")
    }
}
