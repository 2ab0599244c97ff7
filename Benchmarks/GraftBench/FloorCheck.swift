import GraftBenchmarking
import CGraftFloors
import GraftOptim
import GraftTensor

/// `--check-floors`: each C floor against Graft (and the Swift floors against the C ones) on
/// the same data: a few steps each, then the largest difference of θ, relative to the largest
/// change of θ over those steps. Both C variants (baseline and AVX2+FMA, when the CPU has it) are checked.
enum FloorCheck {
    struct Row {
        var floor: String
        var against: String
        var variant: String
        var layout: String
        var maxDifference: Float
        var maxChange: Float
        var relative: Float { maxChange > 0 ? maxDifference / maxChange : maxDifference }
        var passed: Bool
    }

    /// Passes when the difference is within `tolerance` of the change plus 4 ulps of |θ| ≤ 1
    /// (the rounding of θ itself, whatever the step size).
    static func passes(_ difference: Float, _ change: Float) -> Bool { difference <= tolerance * change + 4 * Float(1).ulp }

    /// Relative tolerance: float32 rounding of a few steps of different (but equal in exact
    /// arithmetic) operation orders, far below any error in the math.
    static let tolerance: Float = 1e-3

    static func compare(_ a: [[Float]], _ b: [[Float]], initial: [Tensor]) -> (Float, Float) {
        var diff: Float = 0, change: Float = 0
        for i in a.indices {
            let start = initial[i].scalars
            for j in a[i].indices {
                diff = max(diff, abs(a[i][j] - b[i][j]))
                change = max(change, abs(a[i][j] - start[j]))
            }
        }
        return (diff, change)
    }

    /// The gradients' scale at step s (0-based) for objective k. Gradients change between the
    /// check's steps (with a fixed gradient, Adam's first steps are `sign(g)` whatever its size,
    /// which would hide a wrong combination or projection coefficient).
    static func scales(step s: Int, objectives: Int) -> [Float] {
        (0..<max(objectives, LayoutData.objectives)).map { k in 1 + 0.5 * Float(s) + 0.3 * Float(k) * Float(s % 2) }
    }

    /// Steps Graft's optimizer with the scaled gradients of `scales(step:objectives:)`.
    static func stepGraft(_ w: OptimizerWorkload, _ optimizer: Optimizer, _ parameters: [NamedParameter], _ data: LayoutData, step s: Int) throws {
        let f = scales(step: s, objectives: w.objectives)
        func scaled(_ t: Tensor, _ x: Float) throws -> Tensor { try Tensor(shape: t.shape, scalars: t.scalars.map { $0 * x }) }
        if w.objectives == 1 {
            for (i, p) in parameters.enumerated() { p.parameter.gradient = try scaled(data.gradients[0][i], f[0]) }
            try optimizer.step()
        } else {
            var objectives: [[String: Tensor]] = []
            for k in 0..<w.objectives {
                var d: [String: Tensor] = [:]
                for (i, spec) in data.layout.tensors.enumerated() { d[spec.path] = try scaled(data.gradients[k][i], f[k]) }
                objectives.append(d)
            }
            try optimizer.step(objectives: objectives)
        }
    }

    static func run(threads: Int, steps: Int = 4) throws -> [Row] {
        var rows: [Row] = []
        let variants: [(String, Int32)] = graft_floors_avx2() != 0 ? [("avx2+fma", 1), ("baseline", 0)] : [("baseline", 0)]
        for layoutName in ["mixed", "single"] {
            let layout = Layout.make(layoutName, size: 100_000)
            let data = try LayoutData(layout, seed: 11)
            for w in OptimizerWorkload.all() where w.name != "custom.noise-adam" {
                guard let kind = w.floor else { continue }
                let (optimizer, parameters, _) = try w.prepare(data)
                for s in 0..<steps { try stepGraft(w, optimizer, parameters, data, step: s) }
                let graft = parameters.map { $0.parameter.value.scalars }
                for (name, flag) in variants {
                    graft_floors_use_avx2(flag)
                    let floor = CFloor(kind: kind, data: data, threads: threads)
                    for s in 0..<steps {
                        floor.loadGradients(data, scales: scales(step: s, objectives: kind.objectives))
                        floor.run()
                    }
                    let c = layout.tensors.indices.map { floor.values($0) }
                    let (d, ch) = compare(c, graft, initial: data.values)
                    rows.append(Row(floor: kind.rawValue, against: "graft \(w.name)", variant: name, layout: layoutName, maxDifference: d,
                                    maxChange: ch, passed: passes(d, ch)))
                }
                graft_floors_use_avx2(1)
            }
            // Controls: the check must see small differences in the math. `floor.adam` against
            // Graft's AdamW (λ = 1e-2, a 1 % change of the step), and PCGrad's global surgery
            // against the per-tensor one (other projection coefficients), have to fail the comparison.
            // (Global and per-tensor surgery are the same on a one-tensor layout.)
            for (kind, name) in [(CFloor.Kind.adam, "adamw"), (.pcgrad4Global, "pcgrad4.tensor")] where layout.tensors.count > 1 || kind == .adam {
                guard let w = OptimizerWorkload.all().first(where: { $0.name == name }) else { continue }
                let (optimizer, parameters, _) = try w.prepare(data)
                for s in 0..<steps { try stepGraft(w, optimizer, parameters, data, step: s) }
                let graft = parameters.map { $0.parameter.value.scalars }
                let floor = CFloor(kind: kind, data: data, threads: threads)
                for s in 0..<steps {
                    floor.loadGradients(data, scales: scales(step: s, objectives: kind.objectives))
                    floor.run()
                }
                let (d, ch) = compare(layout.tensors.indices.map { floor.values($0) }, graft, initial: data.values)
                rows.append(Row(floor: "\(kind.rawValue) (control)", against: "graft \(name): must differ",
                                variant: graft_floors_avx2() != 0 ? "avx2+fma" : "baseline",
                                layout: layoutName, maxDifference: d, maxChange: ch, passed: !passes(d, ch)))
            }
            // The Swift floors against the C floors.
            for (swiftKind, cKind) in [(FloorKernels.Kind.adam, CFloor.Kind.adam), (.digrap, .digrap)] {
                let s = FloorKernels(kind: swiftKind, data: data, threads: threads)
                let c = CFloor(kind: cKind, data: data, threads: threads)
                for _ in 0..<steps { s.run(); c.run() }
                let sv = layout.tensors.indices.map { Array(UnsafeBufferPointer(start: s.theta[$0], count: layout.tensors[$0].count)) }
                let cv = layout.tensors.indices.map { c.values($0) }
                let (d, ch) = compare(cv, sv, initial: data.values)
                rows.append(Row(floor: cKind.rawValue, against: swiftKind.rawValue, variant: graft_floors_avx2() != 0 ? "avx2+fma" : "baseline",
                                layout: layoutName, maxDifference: d, maxChange: ch, passed: passes(d, ch)))
            }
        }
        return rows
    }
}
