import Testing
@testable import GraftOptim

/// The plan's decision to use both cores and its balance, for layouts of many small tensors
/// (where the per-tensor bookkeeping, not the elements, is the work).
@Suite("Kernel plan: workers and balance")
struct KernelPlanTests {
    let runner = KernelRunner(passes: 0, applies: { _, _ in true }, scratch: { _ in 0 }, run: { _ in })

    func tensors(_ count: Int, shape: [Int]) -> [ParameterInfo] {
        (0..<count).map { ParameterInfo(path: "p\($0)", shape: shape, anchor: .none) }
    }

    /// Every segment of every tensor is in exactly one piece, in order.
    func expectCovers(_ plan: KernelPlan, _ infos: [ParameterInfo]) {
        var next = (tensor: 0, segment: 0)
        for piece in plan.pieces.joined() {
            while next.tensor < piece.tensor { #expect(plan.rows[next.tensor] * plan.segmentsPerRow[next.tensor] == next.segment); next = (next.tensor + 1, 0) }
            #expect(piece.lower == next.segment, "tensor \(piece.tensor): a gap or an overlap")
            next.segment = piece.upper
        }
        #expect(next.tensor == infos.count - 1 && next.segment == plan.rows[next.tensor] * plan.segmentsPerRow[next.tensor])
    }

    @Test func manyOneElementTensorsUseBothWorkersInEqualShares() {
        let infos = tensors(20_000, shape: [1])   // 20 000 elements: below the threshold by elements alone
        let plan = KernelPlan(parameters: infos, runner: runner, threads: 2, parallelThreshold: 1 << 16)
        #expect(plan.pieces.count == 2)
        let perWorker = plan.pieces.map { $0.reduce(0) { $0 + $1.upper - $1.lower } }
        #expect(perWorker.reduce(0, +) == 20_000)
        #expect(perWorker.allSatisfy { abs($0 - 10_000) <= 1 }, "shares \(perWorker)")
        expectCovers(plan, infos)
    }

    @Test func fewSmallTensorsStayOnOneWorker() {
        let infos = tensors(100, shape: [16])      // 1 600 elements + 100 × 64 of bookkeeping
        let plan = KernelPlan(parameters: infos, runner: runner, threads: 2, parallelThreshold: 1 << 16)
        #expect(plan.pieces.count == 1)
        expectCovers(plan, infos)
        let one = KernelPlan(parameters: tensors(20_000, shape: [1]), runner: runner, threads: 1, parallelThreshold: 1 << 16)
        #expect(one.pieces.count == 1)
    }

    @Test func bookkeepingWeighsInTheBalance() {
        // One large tensor then 1 000 one-element ones: the second worker takes the small ones
        // and part of the large one, so that elements + 64 per tensor are equal.
        let infos = [ParameterInfo(path: "w", shape: [1 << 17], anchor: .none)] + tensors(1_000, shape: [1])
        let plan = KernelPlan(parameters: infos, runner: runner, threads: 2, parallelThreshold: 1 << 16)
        #expect(plan.pieces.count == 2)
        let work = KernelPlan.work(infos)
        #expect(work == (1 << 17) + 64 + 1_000 * 65)
        var share = 0
        for piece in plan.pieces[0] {
            share += (piece.lower == 0 ? KernelPlan.overheadPerTensor : 0)
            for s in piece.lower..<piece.upper {
                let seg = plan.segment(s, of: piece.tensor, count: infos[piece.tensor].count)
                share += seg.upper - seg.lower
            }
        }
        #expect(abs(share - work / 2) <= KernelPlan.segmentLength + KernelPlan.overheadPerTensor, "first share \(share) of \(work)")
        expectCovers(plan, infos)
    }
}
