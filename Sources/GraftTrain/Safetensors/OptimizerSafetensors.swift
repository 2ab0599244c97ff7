import Foundation
import GraftOptim
import GraftSafetensors
import GraftTensor

extension Optimizer {
    /// Writes the optimizer's state to a safetensors file, for inspection or use outside Graft
    /// (e.g. loading Adam's moments in PyTorch): every state tensor as
    /// `<group>/<member>/<parameter path>/<state name>` (member: its name, else `<index>.<kind>`,
    /// e.g. `head/adam/head.weight/m`), every scalar as a one-element tensor under the same
    /// scheme (rounded to float32), every stored anchor as `anchor/<path>`. `__metadata__`
    /// records the writer, each group's step count and the global counters.
    ///
    /// To resume training use `snapshot()` / `OptimizerSnapshot.write(to:)`, which keep scalars in
    /// full precision and the chain's configuration for validation.
    public func exportStateSafetensors(to url: URL, metadata: [String: String] = [:]) throws {
        let snapshot = try snapshot()
        var tensors: [String: Tensor] = [:]
        var meta = ["writer": "Graft (GraftSafetensors)", "graft.content": "optimizer state",
                    "graft.step_count": "\(snapshot.stepCount)", "graft.skipped_steps": "\(snapshot.skippedSteps)"]
        for g in snapshot.groups {
            meta["graft.group.\(g.name).step"] = "\(g.step)"
            for (m, member) in g.members.enumerated() {
                let label = member.name ?? "\(m).\(member.kind)"
                for (k, path) in g.paths.enumerated() {
                    for (j, spec) in member.layouts[k].tensors.enumerated() {
                        tensors["\(g.name)/\(label)/\(path)/\(spec.name)"] = member.tensors[k][j]
                    }
                    for (j, name) in member.layouts[k].scalars.enumerated() {
                        tensors["\(g.name)/\(label)/\(path)/\(name)"] = Tensor([Float(member.scalars[k][j])])
                    }
                }
            }
        }
        for (path, anchor) in snapshot.anchors { tensors["anchor/\(path)"] = anchor }
        meta.merge(metadata) { _, new in new }
        try Safetensors.write(tensors, metadata: meta, to: url.path)
    }
}
